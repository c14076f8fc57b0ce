"""The shipped surrogate as every entry point's default (make_benchmark, `surrogate eval`,
the objective), regret on the table's truth whenever the model's table is at hand, the
reference named otherwise, and exact params and FLOPs from the space."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("xgboost")

import nasbench_lite as nbl  # noqa: E402
from nasbench_lite.backends.surrogate import SurrogateBenchmark, fitted_table  # noqa: E402
from nasbench_lite.surrogate.model import Surrogate  # noqa: E402
from nasbench_lite.table import shipped  # noqa: E402
from nasbench_lite.table.synthetic import synthetic_table  # noqa: E402

MODEL = shipped.DATA_DIR / shipped.MODEL_NAME  # the default table's model
TABLE = shipped.DATA_DIR / next(
    t for t, m in shipped.SHIPPED_MODELS.items() if m == shipped.MODEL_NAME
)
pytestmark = pytest.mark.skipif(
    not (MODEL / "surrogate.json").is_file() or not TABLE.is_file(),
    reason="needs the shipped table and surrogate in data/",
)
CELL = 11791


@pytest.fixture(scope="module")
def model():
    return Surrogate.load(MODEL)


@pytest.fixture(scope="module")
def table():
    return nbl.Table.open(TABLE)


@pytest.fixture(autouse=True)
def _shipped_defaults(monkeypatch):
    monkeypatch.delenv(shipped.MODEL_ENV, raising=False)
    monkeypatch.delenv(shipped.TABLE_ENV, raising=False)


def test_regret_uses_the_models_table_without_a_reference(model, table, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the recorded relative path does not resolve from here
    bench = nbl.make_benchmark("surrogate")  # no model, no reference: the shipped ones
    assert bench.model.meta["train_classes"] == model.meta["train_classes"]
    best = float(np.nanmax(table.values("test_acc", table.row_raw[table.done])))
    assert bench.best_test_acc == pytest.approx(best)  # the table's, not the model's
    predicted = model.predict(np.asarray(model.space.representatives), metric="test_acc")[0]
    # The model's own best is another number (0.9840 for the default table's model, below
    # the table's 0.9847): regret is measured against the table's.
    assert abs(bench.best_test_acc - predicted.max()) > 1e-4
    raws = np.array([0, CELL, 15624])
    np.testing.assert_allclose(bench.mean_test_acc(raws), table.values("test_acc", raws))
    assert f"the seed-mean test accuracy of {TABLE}" == bench.regret_source


def test_without_the_models_table_the_reference_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    moved = tmp_path / "model"
    shutil.copytree(MODEL, moved)
    meta = json.loads((moved / "surrogate.json").read_text())
    meta["table"]["source"] = "elsewhere/not_shipped.h5"
    (moved / "surrogate.json").write_text(json.dumps(meta))
    model = Surrogate.load(moved)
    assert fitted_table(model) is None
    bench = SurrogateBenchmark(model)
    assert bench.regret_source.startswith("the surrogate's noise-free test accuracy")
    assert "elsewhere/not_shipped.h5" in bench.regret_source
    assert "not at hand" in bench.regret_source
    predicted = model.predict(np.asarray(model.space.representatives), metric="test_acc")[0]
    assert bench.best_test_acc == pytest.approx(float(predicted.max()))
    # A file at the recorded path that is another table is not taken for the model's.
    (tmp_path / "elsewhere").mkdir()
    synthetic_table(tmp_path / "elsewhere" / "not_shipped.h5", epochs=3)
    assert fitted_table(model) is None
    assert "not at hand" in SurrogateBenchmark(model).regret_source


def test_compare_reports_the_reference(tmp_path):
    from nasbench_lite.compare.config import CompareConfig
    from nasbench_lite.compare.run import compare

    result = compare(
        CompareConfig(backend="surrogate", strategies=("random_search",), seeds=1,
                      budget="5evals", jobs=1, out=tmp_path / "out", progress=False)
    )  # fmt: skip
    report = result.report.read_text()
    assert "regret measured against" in report and "seed-mean test accuracy of" in report


def test_surrogate_eval_defaults_to_the_shipped_model(monkeypatch, capsys):
    from nasbench_lite.cli import main
    from nasbench_lite.surrogate import quality

    seen = []

    def spy(model, table):
        seen.append(model.meta)
        return {"metric": "valid_acc", "classes": 3, "r2": 0.5}

    monkeypatch.setattr(quality, "evaluate", spy)
    assert main(["surrogate", "eval", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == 3
    assert seen[0] == json.loads((MODEL / "surrogate.json").read_text())


def test_the_objective_on_the_shipped_surrogate(model, table):
    f = nbl.objective("surrogate", seed=0)
    out = f(CELL)
    assert f.backend.model.meta["train_classes"] == model.meta["train_classes"]
    # params and FLOPs are counted from the space: exact, equal to the table's, never NaN.
    for raw in (CELL, 0, 15624):
        answer, row = f(raw), table.query(raw)
        assert isinstance(answer["params"], int) and isinstance(answer["flops"], int)
        assert (answer["params"], answer["flops"]) == (row["params"], row["flops"])
    assert not math.isnan(out["valid_acc"]) and out["train_seconds"] > 0
    assert nbl.objective(f.backend, seed=0)(CELL) == out  # same seed, same draw
    assert nbl.objective(model, seed=0)(CELL) == out  # a Surrogate is its backend


def test_each_shipped_table_defaults_to_its_own_model(tmp_path):
    """default_model_path(table): the model shipped with that table (by file name), the
    default table's for a table without one, and the default table's without a table."""
    shipped_models = {
        table: shipped.DATA_DIR / name
        for table, name in shipped.SHIPPED_MODELS.items()
        if (shipped.DATA_DIR / name / "surrogate.json").is_file()
    }
    assert len(shipped_models) >= 2, "a shipped table without its model"
    for table, model in shipped_models.items():
        assert shipped.default_model_path(shipped.DATA_DIR / table) == model
        assert shipped.default_model_path(tmp_path / table) == model  # matched by name
    assert shipped.default_model_path() == MODEL
    assert shipped.default_model_path(tmp_path / "my_table.h5") == MODEL


def test_compare_and_the_backend_take_the_tables_own_model(tmp_path):
    from nasbench_lite.compare.config import CompareConfig, resolve

    others = [t for t in shipped.SHIPPED_MODELS if shipped.SHIPPED_MODELS[t] != shipped.MODEL_NAME]
    other = next((t for t in others if (shipped.DATA_DIR / t).is_file()), None)
    if other is None:
        pytest.skip("only the default table has a shipped model")
    path, model = shipped.DATA_DIR / other, shipped.DATA_DIR / shipped.SHIPPED_MODELS[other]
    plan, _ = resolve(CompareConfig(table=str(path), backend="surrogate", seeds=1, out=None))
    assert plan.model == str(model)
    bench = SurrogateBenchmark(reference=str(path), noise=False)
    assert Path(bench.model.meta["table"]["source"]).name == other
    assert bench.regret_source == f"the seed-mean test accuracy of {path}"
