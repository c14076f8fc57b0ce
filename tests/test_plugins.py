"""Plug-ins: another package adds a space, a backend and a dataset through the entry-point
groups of `nasbench_lite.plugins`, and `generate` and `compare` run them by name, as ours.
Our own entries come first and win a clash; errors name the plug-in and what failed."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import synthetic_table, write_plugin_package

from nasbench_lite import plugins
from nasbench_lite.backends import available_backends, backend_entry, make_benchmark
from nasbench_lite.cli import build_parser, main
from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.datasets import DATASETS, available_datasets, load_dataset
from nasbench_lite.errors import InputError
from nasbench_lite.extras import MissingExtra
from nasbench_lite.spaces import _INSTANCES, available_spaces, get_space
from nasbench_lite.table.reader import Table

# A researcher's package: the tests' 3-op space (tests/tiny_space.py) under its own name, a
# small in-memory dataset and a backend (table lookups under another name, with a default
# budget of its own).
MODULE = """
    import numpy as np
    from tiny_space import TinySpace

    from nasbench_lite.backends import BackendEntry
    from nasbench_lite.backends.tabular import TabularBenchmark
    from nasbench_lite.datasets import build_dataset


    class PluggedSpace(TinySpace):
        name = "plugged3"


    def blobs(data_dir):
        '''Four classes of 1-D sequences (length 16, one channel), 128 examples a split.'''
        rng = np.random.default_rng(0)
        splits = []
        for _ in range(3):
            y = rng.integers(0, 4, 128)
            x = rng.normal(size=(128, 16, 1)) + y[:, None, None]
            splits.append((x, y))
        return build_dataset("blobs", *splits, num_classes=4)


    class Lookups(TabularBenchmark):
        '''Table lookups, built by a plug-in.'''


    LOOKUPS = BackendEntry(
        factory="nbl_test_plugins:Lookups", summary="lookups by a plug-in", default_budget="4evals"
    )
"""
ENTRIES = {
    "nasbench_lite.spaces": "plugged3 = nbl_test_plugins:PluggedSpace",
    "nasbench_lite.datasets": "blobs = nbl_test_plugins:blobs",
    "nasbench_lite.backends": "lookups = nbl_test_plugins:LOOKUPS",
}


def install(root: Path, monkeypatch, dist: str, files: dict[str, str], entries: dict[str, str]):
    """Write a plug-in package into `root` and put it on sys.path and PYTHONPATH."""
    write_plugin_package(root, dist, files, entries)
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), *sys.path]))


@pytest.fixture
def plugged(tmp_path, monkeypatch):
    """The researcher's package, installed for one test."""
    install(tmp_path / "site", monkeypatch, "nbl-test-plugins", {"nbl_test_plugins.py": MODULE},
            ENTRIES)  # fmt: skip
    yield tmp_path / "site"
    _INSTANCES.pop("plugged3", None)
    sys.modules.pop("nbl_test_plugins", None)


def test_plugins_come_after_ours_and_go_when_uninstalled(plugged):
    assert available_spaces() == ["nb201", "plugged3"]
    assert available_backends() == ["tabular", "live", "surrogate", "lookups"]
    assert available_datasets() == [*DATASETS, "blobs"]
    commands = next(a.choices for a in build_parser()._actions if a.dest == "command")
    choices = [("generate", "space", "plugged3"), ("generate", "dataset", "blobs"),
               ("compare", "dataset", "blobs"), ("compare", "backend", "lookups")]  # fmt: skip
    for command, option, name in choices:
        action = next(a for a in commands[command]._actions if a.dest == option)
        assert name in action.choices, (command, option)
    space = get_space("plugged3")
    assert space is get_space("plugged3") and space.num_unique == 23
    data = load_dataset("blobs")
    assert data.splits == {"train": 128, "valid": 128, "test": 128} and data.num_classes == 4
    entry = backend_entry("lookups")
    assert entry.summary == "lookups by a plug-in" and entry.default_budget == "4evals"
    assert type(make_benchmark("lookups", table=synthetic_table())).__name__ == "Lookups"
    # Entry points are read on every call: a package removed from sys.path is gone at once.
    sys.path.remove(str(plugged))
    assert available_spaces() == ["nb201"] and "lookups" not in available_backends()
    assert "blobs" not in available_datasets()


def test_a_new_process_finds_them_from_pythonpath(plugged):
    out = subprocess.run(
        [sys.executable, "-m", "nasbench_lite", "space", "plugged3", "--examples", "1"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert "plugged3" in out and "23" in out


@pytest.mark.slow
def test_generate_and_compare_run_the_plugins_by_name(plugged, tmp_path, capsys):
    table = tmp_path / "T.h5"
    args = ["generate", "--space", "plugged3", "--dataset", "blobs", "--preset", "tiny"]
    assert main([*args, "--cells", "2", "--seeds", "1", "--out", str(table), "--no-progress"]) == 0
    opened = Table.open(table)
    assert (opened.attrs["space"], opened.attrs["dataset"]) == ("plugged3", "blobs")
    assert opened.num_rows == 2 and opened.done.all() and opened.space is get_space("plugged3")
    config = CompareConfig(table=str(table), strategies=("random_search",), seeds=1,
                           budget="2evals", jobs=1, out=None, progress=False)  # fmt: skip
    assert compare(config).results["evals"].max() == 2  # on the table: the tabular backend
    args = ["compare", "--table", str(table), "--backend", "lookups", "--seeds", "1"]
    args += ["--strategies", "random_search", "--jobs", "1", "--no-progress"]
    args += ["--out", str(tmp_path / "out")]
    assert main(args) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| backend | lookups (lookups by a plug-in) |" in report
    assert "4evals" in report and "default of the lookups backend" in report
    assert "space plugged3, dataset blobs" in report
    capsys.readouterr()


# ---- errors -----------------------------------------------------------------------------------


def test_unknown_names_list_the_plugins_too(plugged, capsys):
    with pytest.raises(InputError, match="unknown space 'nope'; available spaces: nb201, plugged3"):
        get_space("nope")
    with pytest.raises(InputError, match="unknown benchmark backend 'nope'; .*surrogate, lookups"):
        backend_entry("nope")
    with pytest.raises(InputError, match="unknown dataset 'nope'; available: mnist1d, .*, blobs"):
        load_dataset("nope")
    with pytest.raises(SystemExit):
        main(["generate", "--space", "nope", "--out", "x.h5"])
    err = capsys.readouterr().err
    assert "invalid choice: 'nope'" in err and "plugged3" in err


def test_resolve_names_the_string_and_what_failed():
    assert plugins.resolve("nasbench_lite.errors:InputError") is InputError
    assert plugins.resolve("nasbench_lite.plugins:resolve.__name__") == "resolve"
    for bad in ("nasbench_lite.errors", "nasbench_lite.errors:", ":InputError", None):
        with pytest.raises(InputError, match="is not a 'module:attribute' string"):
            plugins.resolve(bad)
    with pytest.raises(
        InputError, match=r"cannot resolve 'nbl_no_such_module:x': cannot import module "
        r"'nbl_no_such_module' \(ModuleNotFoundError: "
    ):  # fmt: skip
        plugins.resolve("nbl_no_such_module:x")
    with pytest.raises(
        InputError, match=r"cannot resolve 'nasbench_lite.errors:Nope': module "
        r"'nasbench_lite.errors' has no attribute 'Nope'"
    ):  # fmt: skip
        plugins.resolve("nasbench_lite.errors:Nope")


BROKEN = {
    "nbl_broken.py": """
        from nasbench_lite.backends import BackendEntry

        class Named:
            name = "something else"

        def not_a_dataset(data_dir):
            return [1, 2, 3]

        MISSING_FACTORY = BackendEntry(factory="nbl_broken:Nope", summary="broken")
        NOT_AN_ENTRY = "tabular"
    """,
    "nbl_raises.py": "raise RuntimeError('the plug-in is broken')\n",
    "nbl_needs_extra.py": """
        from nasbench_lite.extras import MissingExtra

        raise MissingExtra("needs nasbench-lite[train]")
    """,
}


@pytest.fixture
def broken(tmp_path, monkeypatch):
    entries = {
        "nasbench_lite.spaces": "gone = nbl_no_such_module:Space\nmisnamed = nbl_broken:Named\n"
        "raising = nbl_raises:Space\nextra = nbl_needs_extra:Space",
        "nasbench_lite.backends": "nofactory = nbl_broken:MISSING_FACTORY\n"
        "noentry = nbl_broken:NOT_AN_ENTRY\nnoattr = nbl_broken:NOPE",
        "nasbench_lite.datasets": "notdata = nbl_broken:not_a_dataset",
    }
    install(tmp_path, monkeypatch, "nbl-broken", BROKEN, entries)
    yield
    for module in ("nbl_broken", "nbl_raises", "nbl_needs_extra"):
        sys.modules.pop(module, None)


# How each broken plug-in fails: the call, the exception and its message pattern.
FAILURES = [
    pytest.param(
        lambda: get_space("gone"),
        InputError,
        r"space 'gone' is registered as 'nbl_no_such_module:Space' but failed to load: cannot "
        r"import module 'nbl_no_such_module' \(ModuleNotFoundError: .*\); registered by "
        r"nbl-broken 0.1",
        id="space-module-missing",
    ),
    pytest.param(
        lambda: get_space("raising"),
        InputError,
        r"space 'raising' is registered as 'nbl_raises:Space' but failed to load: RuntimeError: "
        r"the plug-in is broken; registered by nbl-broken 0.1",
        id="space-module-raises",
    ),
    # A missing extra of ours says what to install, plug-in or not.
    pytest.param(
        lambda: get_space("extra"),
        MissingExtra,
        r"needs nasbench-lite\[train\]",
        id="space-needs-an-extra",
    ),
    pytest.param(
        lambda: plugins.resolve("nbl_needs_extra:Space"),
        MissingExtra,
        r"needs nasbench-lite\[train\]",
        id="resolve-needs-an-extra",
    ),
    pytest.param(
        lambda: get_space("misnamed"),
        InputError,
        r"space plug-in 'misnamed' \(nbl_broken:Named\) built a space named 'something else'",
        id="space-misnamed",
    ),
    pytest.param(
        lambda: backend_entry("noattr"),
        InputError,
        r"backend 'noattr' is registered as 'nbl_broken:NOPE' but failed to load: module "
        r"'nbl_broken' has no attribute 'NOPE'; registered by nbl-broken 0.1",
        id="backend-attribute-missing",
    ),
    pytest.param(
        lambda: backend_entry("noentry"),
        InputError,
        r"backend plug-in 'noentry' \(nbl_broken:NOT_AN_ENTRY\) is 'tabular', not a "
        r"nasbench_lite.backends.BackendEntry",
        id="backend-not-an-entry",
    ),
    pytest.param(
        lambda: make_benchmark("nofactory"),
        InputError,
        r"cannot resolve 'nbl_broken:Nope': module 'nbl_broken' has no attribute 'Nope'",
        id="backend-factory-broken",
    ),
    pytest.param(
        lambda: load_dataset("notdata"),
        InputError,
        r"dataset plug-in 'notdata' \(nbl_broken:not_a_dataset\) returned list, not a "
        r"nasbench_lite.datasets.Dataset",
        id="dataset-not-a-dataset",
    ),
]


@pytest.mark.parametrize("call, error, pattern", FAILURES)
def test_a_broken_plugin_is_named_with_what_failed(broken, call, error, pattern):
    with pytest.raises(error, match=f"^{pattern}"):
        call()


def test_the_command_line_reports_a_broken_plugin_in_one_line(broken, capsys):
    assert main(["space", "gone"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nasbench-lite space: error: space 'gone' is registered as")
    assert err.count("\n") == 1


def test_a_clash_leaves_ours_in_place_and_warns_naming_the_distribution(
    tmp_path, monkeypatch, caplog
):
    entries = {
        "nasbench_lite.spaces": "nb201 = nbl_clash:Space",
        "nasbench_lite.backends": "tabular = nbl_clash:ENTRY",
        "nasbench_lite.datasets": "mnist1d = nbl_clash:load",
    }
    install(tmp_path, monkeypatch, "nbl-clash", {"nbl_clash.py": "raise ImportError('never')\n"},
            entries)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="nasbench_lite.plugins"):
        assert available_spaces() == ["nb201"] and available_spaces() == ["nb201"]
        assert available_backends() == ["tabular", "live", "surrogate"]
        assert available_datasets().count("mnist1d") == 1
    assert get_space("nb201").name == "nb201" and backend_entry("tabular").summary.startswith(
        "table lookups"
    )
    warnings = [r.getMessage() for r in caplog.records]  # once each, though listed twice
    assert warnings == [
        f"ignoring the {kind} plug-in {name!r} (nbl_clash:{attr}) of nbl-clash 0.1: a {kind} of "
        "that name is built in"
        for kind, name, attr in [
            ("space", "nb201", "Space"), ("backend", "tabular", "ENTRY"),
            ("dataset", "mnist1d", "load"),
        ]
    ]  # fmt: skip
