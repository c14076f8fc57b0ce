"""Packaging: our strategies live in `nasbench_lite.strategies` (a user's own `strategies/`
folder cannot shadow them), the shipped tables are found next to the package, and the wheel
holds both, with no top-level `strategies` and the heavy libraries in extras only.

Installing that wheel in a fresh environment and running `compare` from another folder is
the CI's job (.ci/run), not this suite's: it needs a new virtual environment.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nasbench_lite.search.registry import GROUP, get_strategy
from nasbench_lite.table import shipped

ROOT = Path(__file__).resolve().parents[1]


def test_our_entry_points_name_the_package_namespace():
    entries = importlib.metadata.entry_points(group=GROUP)
    ours = [e for e in entries if e.dist.name == "nasbench-lite"]
    # Each module is registered, except helpers shared by several (a leading underscore).
    modules = {p.stem for p in (ROOT / "strategies").glob("[!_]*.py")}
    assert {e.module.rsplit(".", 1)[1] for e in ours} == modules
    for entry in ours:
        assert entry.value.startswith("nasbench_lite.strategies."), entry
        assert get_strategy(entry.name).__module__ == entry.module
    from nasbench_lite.strategies.random_search import RandomSearch

    assert get_strategy("random_search") is RandomSearch


def test_a_users_strategies_folder_does_not_shadow_ours(tmp_path):
    # A researcher's project with its own strategies/ package, run from its folder (the
    # folder is first on sys.path): ours still load from nasbench_lite.strategies.
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "__init__.py").write_text("")
    (tmp_path / "strategies" / "random_search.py").write_text("raise ImportError('theirs')\n")
    code = (
        "from nasbench_lite.search import get_strategy, available_strategies\n"
        "print(*(get_strategy(n).__module__ for n in available_strategies()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    assert "nasbench_lite.strategies.random_search" in out
    assert not [m for m in out if m.startswith("strategies.")]


def test_the_data_folder_of_a_checkout_or_an_installed_package(tmp_path):
    # In this checkout: the top-level data/ folder.
    assert shipped.DATA_DIR.resolve() == (ROOT / "data").resolve()
    # An installed package holds its tables in <package>/data.
    installed = tmp_path / "site-packages" / "nasbench_lite"
    (installed / "data").mkdir(parents=True)
    assert shipped.find_data_dir(installed) == installed / "data"
    # A checkout: pyproject.toml beside the package folder, no data/ inside it.
    checkout = tmp_path / "repo"
    (checkout / "nasbench_lite").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text("")
    assert shipped.find_data_dir(checkout / "nasbench_lite") == checkout / "data"
    # Neither: the installed location, which the "no shipped table" error then names.
    bare = tmp_path / "bare" / "nasbench_lite"
    bare.mkdir(parents=True)
    assert shipped.find_data_dir(bare) == bare / "data"


def test_the_shipped_table_is_the_default(monkeypatch):
    monkeypatch.delenv(shipped.TABLE_ENV, raising=False)
    found = shipped.shipped_tables()
    if not found:
        pytest.skip("no shipped table in data/")
    assert shipped.default_table_path() in found
    from nasbench_lite.backends.registry import make_benchmark

    bench = make_benchmark("tabular")  # no table given: the shipped one
    assert Path(bench.table.source) == shipped.default_table_path()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """The wheel of this checkout, built as CI and users build it, from a copy of the files
    it is made of (a build/ folder left in the checkout could hold files deleted since)."""
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    skip = shutil.ignore_patterns("__pycache__", "*.tmp")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for name in ("nasbench_lite", "strategies", "data"):
        shutil.copytree(ROOT / name, source / name, ignore=skip)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("nasbench_lite-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_holds_the_strategies_and_tables_inside_the_package(wheel):
    names = set(wheel.namelist())
    assert not [n for n in names if n.startswith("strategies/")]
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"nasbench_lite"}
    for module in (ROOT / "strategies").glob("*.py"):
        assert f"nasbench_lite/strategies/{module.name}" in names
    # Every table with its card (the shipped table's is README.md) and accuracy plot.
    data = [p.name for pattern in ("*.h5", "*.md", "*.png") for p in (ROOT / "data").glob(pattern)]
    assert {"README.md", "nb201_noise_id_card.md", "nb201_noise_id.h5"} <= set(data)
    for name in data:
        assert f"nasbench_lite/data/{name}" in names
    # Every shipped surrogate, every file of it: without them `default_model_path` fails in a
    # wheel.
    from nasbench_lite.table.shipped import MODEL_NAME, SHIPPED_MODELS

    assert MODEL_NAME in SHIPPED_MODELS.values()
    for model_name in SHIPPED_MODELS.values():
        model = sorted((ROOT / "data" / model_name).iterdir())
        assert model
        for path in model:
            assert f"nasbench_lite/data/{model_name}/{path.name}" in names
    for module in (ROOT / "nasbench_lite").rglob("*.py"):  # every subpackage is listed
        assert f"nasbench_lite/{module.relative_to(ROOT / 'nasbench_lite').as_posix()}" in names
    info = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    entries = wheel.read(info).decode()
    assert "= nasbench_lite.strategies.random_search:RandomSearch" in entries
    assert "= strategies." not in entries


def test_the_base_install_leaves_training_to_extras(wheel):
    metadata = wheel.read(next(n for n in wheel.namelist() if n.endswith("METADATA"))).decode()
    requires = [line.split(":", 1)[1].strip() for line in metadata.splitlines()
                if line.startswith("Requires-Dist:")]  # fmt: skip
    base = {r.split(">")[0].split(";")[0].strip() for r in requires if "extra ==" not in r}
    # threadpoolctl: model-based strategies keep BLAS on one thread (strategies/_predictors.py)
    # optuna: the `tpe` strategy of the plain comparison
    assert base == {"numpy", "h5py", "pandas", "scipy", "matplotlib", "tqdm", "threadpoolctl",
                    "optuna"}  # fmt: skip
    for heavy in ("jax", "flax", "optax", "mnist1d", "xgboost", "ray", "scikit-learn",
                  "ConfigSpace"):  # fmt: skip
        assert any(r.startswith(heavy) and "extra ==" in r for r in requires), heavy
    extras = {r.split("extra ==")[1].strip(" '\"") for r in requires if "extra ==" in r}
    assert extras == {"train", "surrogate", "ray", "adapters", "synetune", "multiobjective", "dev"}


def test_every_subpackage_is_listed_in_pyproject():
    tomllib = pytest.importorskip("tomllib")  # Python >= 3.11
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    on_disk = {
        "nasbench_lite." + p.parent.relative_to(ROOT / "nasbench_lite").as_posix().replace("/", ".")
        for p in (ROOT / "nasbench_lite").rglob("__init__.py")
        if p.parent != ROOT / "nasbench_lite"
    }
    listed = set(config["packages"])
    assert on_disk | {"nasbench_lite", "nasbench_lite.strategies", "nasbench_lite.data"} == listed
    assert config["package-dir"] == {
        "nasbench_lite.strategies": "strategies",
        "nasbench_lite.data": "data",
    }
