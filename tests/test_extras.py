"""Optional dependencies: a feature whose extra is missing says which extra to install.

A missing module is simulated the way Python itself reports one: ``sys.modules[name] = None``
makes both ``import name`` and ``importlib.util.find_spec(name)`` fail.
"""

from __future__ import annotations

import sys

import pytest
from conftest import synthetic_table

from nasbench_lite import extras
from nasbench_lite.backends.live import LiveBenchmark
from nasbench_lite.backends.registry import make_benchmark
from nasbench_lite.cli import main
from nasbench_lite.datasets import load_dataset
from nasbench_lite.extras import MissingExtra, missing_modules, require

TRAIN = "pip install 'nasbench-lite\\[train\\]'"


@pytest.fixture
def without(monkeypatch):
    """Call with module names to make them unimportable for the test."""

    def hide(*names: str) -> None:
        for name in names:
            monkeypatch.setitem(sys.modules, name, None)

    return hide


def test_installed_extras_are_complete():
    # The test environment installs the dev extra, which pulls in every other one.
    for extra in extras.EXTRAS:
        assert missing_modules(extra) == [], extra
        require(extra, "a test")


def test_require_names_the_extra_and_the_missing_modules(without):
    without("jax", "optax")
    assert missing_modules("train") == ["jax", "optax"]
    with pytest.raises(
        MissingExtra, match=rf"training needs .*\(jax, optax not installed\): {TRAIN}"
    ):
        require("train", "training")
    require("train", "a dataset", modules=("mnist1d",))  # only some of the extra: present
    with pytest.raises(ImportError):  # a MissingExtra is an ImportError
        require("train", "training")
    with pytest.raises(
        ValueError,
        match="unknown extra 'gpu'; extras: train, surrogate, ray, adapters, synetune, "
        "multiobjective",
    ):
        missing_modules("gpu")


def test_training_features_without_jax(without, tmp_path, capsys):
    without("jax")
    with pytest.raises(MissingExtra, match=f"the live backend needs .*{TRAIN}"):
        make_benchmark("live", reference=synthetic_table())
    with pytest.raises(MissingExtra, match=f"the live backend needs .*{TRAIN}"):
        LiveBenchmark()
    from nasbench_lite.train.trainer import train_cells, train_one

    with pytest.raises(MissingExtra, match=f"train_one needs .*{TRAIN}"):
        train_one(0)
    with pytest.raises(MissingExtra, match=f"training needs .*{TRAIN}"):
        train_cells(None, [[0] * 6], [0], None)
    out = tmp_path / "t.h5"
    assert main(["generate", "--out", str(out), "--cells", "1", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "nasbench-lite generate: error: generate needs" in err
    assert "pip install 'nasbench-lite[train]'" in err and not out.exists()


def test_datasets_without_their_libraries(without):
    without("mnist1d", "sklearn")
    with pytest.raises(MissingExtra, match=rf"mnist1d dataset needs .*\(mnist1d not .*{TRAIN}"):
        load_dataset("mnist1d")
    with pytest.raises(MissingExtra, match=rf"digits dataset needs .*\(sklearn not .*{TRAIN}"):
        load_dataset("digits")


def test_a_tabular_comparison_needs_no_extra(without, tmp_path):
    from nasbench_lite.compare.config import CompareConfig
    from nasbench_lite.compare.run import compare

    without("jax", "flax", "optax", "mnist1d", "sklearn", "xgboost", "ray")
    config = CompareConfig(
        table=synthetic_table(),
        strategies=("random_search",),
        seeds=2,
        budget="5evals",
        jobs=1,
        out=tmp_path,
    )
    result = compare(config)
    assert len(result.results) == 10 and (tmp_path / "report.md").is_file()


def test_the_syne_tune_adapter_without_syne_tune(without):
    from nasbench_lite.adapters import synetune  # importing it needs no syne_tune

    without("syne_tune")
    needs = (
        r"Syne Tune adapter needs .*\(syne_tune not installed\): pip install 'nasbench-lite\[syn"
    )
    with pytest.raises(MissingExtra, match=needs):
        synetune.to_blackbox(synthetic_table())
    with pytest.raises(MissingExtra, match=needs):
        synetune.simulate(synthetic_table(), "asha", 100)
