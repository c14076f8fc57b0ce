"""`compare`: every registered strategy end to end (API and CLI), equal budgets, determinism,
an external strategy plugged in through its entry point, errors, plots and the report."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import multi_trial_strategies, write_strategy_package

from nasbench_lite.backends.registry import make_benchmark
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.cli import main
from nasbench_lite.compare import config as compare_config
from nasbench_lite.compare import plots, report
from nasbench_lite.compare import statistics as stats
from nasbench_lite.compare import workers as cmp_workers
from nasbench_lite.compare.config import resolve
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.runner import run_search
from nasbench_lite.search.trajectory import EXTRA_COLUMNS, INCUMBENT_COLUMNS
from nasbench_lite.table import shipped
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import file_is_complete
from nasbench_lite.table.synthetic import synthetic_table

MEASURED = ["strategy_seconds", "source_seconds"]  # measured: differs run to run

# The module, whatever the package's lazy `compare` attribute (the function) resolved to.
cmp = importlib.import_module("nasbench_lite.compare.run")

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SEEDS = 3
SECTIONS = [
    "## Setup",
    "## Ranking",
    "## Friedman test",
    "## Wilcoxon signed-rank tests vs `random_search` (Holm-corrected)",
    "## Plots",
]
PLOTS = ["regret_vs_time", "regret_vs_evals", "final_regret_ecdf"]
EXTERNAL = "ext_greedy_mutation"


@pytest.fixture(scope="module")
def table_path(tmp_path_factory) -> Path:
    """A shipped table when data/ holds a complete one, else a synthetic table file."""
    for path in sorted(DATA_DIR.glob("*.h5")):
        if file_is_complete(path):
            return path
    path = tmp_path_factory.mktemp("table") / "synthetic.h5"
    synthetic_table(path, epochs=2)
    return path


@pytest.fixture(scope="module")
def partial_path(tmp_path_factory) -> Path:
    """A table file with 1,500 of the 5,044 classes done, as one still being generated."""
    from nasbench_lite.spaces import get_space

    space = get_space("nb201")
    present = space.sample_classes(np.random.default_rng(7), 1500)
    done = np.isin(np.arange(space.num_unique), present)
    path = tmp_path_factory.mktemp("partial") / "partial.h5"
    synthetic_table(path, epochs=2, done=done)
    return path


@pytest.fixture(scope="module")
def budget(table_path) -> str:
    """Simulated seconds for ~20 median evaluations: fast, yet the strategies differ."""
    median = np.median(Table.open(table_path).metric("train_seconds"))
    return str(round(20 * float(median)))


@pytest.fixture(scope="module")
def external_strategy_pkg(tmp_path_factory):
    """A researcher's own strategy package, registered only by its dist-info entry point."""
    root = tmp_path_factory.mktemp("external")
    write_strategy_package(
        root,
        "nbl-compare-ext",
        {
            "nbl_compare_ext/__init__.py": f"""
            import math

            class GreedyMutation:
                '''Mutate the incumbent; state: (incumbent raw or -1, its valid_acc).'''

                name = "{EXTERNAL}"

                def __init__(self, space):
                    self.space = space

                def init(self, rng):
                    return (-1, -math.inf)

                def ask(self, state, rng):
                    if state[0] < 0:
                        return state, int(self.space.sample(rng, 1)[0])
                    return state, int(self.space.mutate(rng, state[0]))

                def tell(self, state, raw, valid_acc, cost):
                    score = -math.inf if math.isnan(valid_acc) else valid_acc
                    return (raw, score) if score > state[1] else state
            """
        },
        f"{EXTERNAL} = nbl_compare_ext:GreedyMutation",
    )
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    yield root
    sys.path.remove(str(root))
    sys.modules.pop("nbl_compare_ext", None)
    importlib.invalidate_caches()


def check_outputs(out: Path, strategies: list[str], budget_seconds: float) -> pd.DataFrame:
    """Assert results.csv, report.md and the plots of one comparison; return the results."""
    frame = cmp.read_results(out / "results.csv")
    assert list(frame.columns) == [*stats.RESULT_COLUMNS, *INCUMBENT_COLUMNS, *EXTRA_COLUMNS]
    assert (out / cmp.TIMINGS_FILE).is_file()
    assert stats.strategy_order(frame) == strategies
    runs = frame.groupby(["strategy", "seed"]).size()
    assert len(runs) == len(strategies) * SEEDS  # every (strategy, seed) ran
    for (_, _), run in frame.groupby(["strategy", "seed"]):
        assert run.evals.tolist() == list(range(1, len(run) + 1))  # one row per evaluation
        assert np.all(np.diff(run.sim_seconds) >= 0)
    # Equal budgets: nothing is recorded after the budget, for any strategy.
    assert (frame.groupby("strategy").sim_seconds.max() <= budget_seconds).all()
    assert (frame.regret >= -1e-6).all() and frame.regret.notna().all()
    text = (out / "report.md").read_text()
    positions = [text.index(section) for section in SECTIONS]
    assert positions == sorted(positions)
    for name in strategies:
        assert f"`{name}`" in text
    for name in PLOTS:
        assert f"![{name}]({name}.png)" in text
        png, svg = out / f"{name}.png", out / f"{name}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert b"<svg" in svg.read_bytes()[:1000] and svg.stat().st_size > 5000
    return frame


def default_comparison() -> list[str]:
    """The strategies a comparison runs when none are named."""
    return [n for n in multi_trial_strategies()
            if getattr(get_strategy(n), "in_default_comparison", True)]  # fmt: skip


@pytest.mark.slow
def test_all_strategies_compare_end_to_end_and_match_direct_runs(
    table_path, budget, external_strategy_pkg, tmp_path
):
    config = cmp.CompareConfig(
        table=str(table_path), seeds=SEEDS, budget=budget, jobs=2, out=tmp_path / "api"
    )
    result = cmp.compare(config)
    # The default comparison: every registered strategy but the weight-sharing ones and the
    # multi-objective ones (`in_default_comparison = False`; test_weight_sharing.py and
    # test_multiobjective.py compare them).
    names = default_comparison()
    assert EXTERNAL in names and "random_search" in names
    assert result.strategies == names
    frame = check_outputs(tmp_path / "api", names, float(budget))
    # The files hold what the API returned, and the pooled runs equal direct runs.
    pd.testing.assert_frame_equal(
        frame.drop(columns=MEASURED), result.results.drop(columns=MEASURED), check_dtype=False
    )
    # The measured seconds: each run's last row in the file, as the API measured them.
    last = stats.final_rows(result.results)
    assert (stats.final_rows(frame).strategy_seconds == last.strategy_seconds).all()
    assert (last.strategy_seconds > 0).all()
    assert (result.summary.strategy_ms > 0).all()
    bench = make_benchmark("tabular", table=table_path)
    for name in names:
        for seed in range(SEEDS):
            direct = run_search(name, bench, budget, seed).to_frame(name, seed)
            got = result.results[(result.results.strategy == name) & (result.results.seed == seed)]
            pd.testing.assert_frame_equal(
                got.reset_index(drop=True).drop(columns=MEASURED), direct.drop(columns=MEASURED)
            )
    assert result.summary.strategy.tolist() == names
    assert set(result.files) >= {tmp_path / "api" / "results.csv", result.report}


@pytest.mark.slow
def test_cli_same_command_twice_gives_identical_results(table_path, budget, tmp_path, capsys):
    args = [
        "compare",
        "--table",
        str(table_path),
        "--seeds",
        str(SEEDS),
        "--budget",
        budget,
        "--no-progress",
    ]
    # Run-to-run identity (processes vs in-process runs is checked above).
    assert main([*args, "--jobs", "1", "--out", str(tmp_path / "a")]) == 0
    printed = capsys.readouterr().out
    assert f"report: {tmp_path / 'a' / 'report.md'}" in printed
    assert main([*args, "--jobs", "1", "--out", str(tmp_path / "b")]) == 0
    first = (tmp_path / "a" / "results.csv").read_bytes()
    assert first == (tmp_path / "b" / "results.csv").read_bytes()
    check_outputs(tmp_path / "a", default_comparison(), float(budget))
    text = (tmp_path / "a" / "report.md").read_text()
    assert f"--budget {budget}" in text and "numpy" in text and "dataset mnist1d" in text
    assert "restricted" not in printed and "Partial table" not in text  # a complete table


def test_compare_on_a_partial_table_states_the_restriction(partial_path, tmp_path, capsys, caplog):
    bench = TabularBenchmark(str(partial_path))
    line = bench.coverage.describe()
    assert line.startswith("search restricted to 1,500 of 5,044 classes (")
    table = Table.open(partial_path)
    assert bench.best_test_acc == pytest.approx(
        float(table.values("test_acc", table.row_raw[table.done]).max()), abs=1e-6
    )
    budget = "300"
    args = ["compare", "--table", str(partial_path), "--seeds", "2", "--budget", budget]
    args += ["--strategies", "local_search", "random_search"]  # all of them: test_backends
    with caplog.at_level(logging.WARNING, logger="nasbench_lite.compare.run"):
        assert main([*args, "--jobs", "1", "--no-progress", "--out", str(tmp_path)]) == 0
    # Said once: logged (on stderr) before the runs, not printed again with the ranking.
    assert line not in capsys.readouterr().out
    assert sum(line in record.getMessage() for record in caplog.records) == 1
    report_lines = (tmp_path / "report.md").read_text().splitlines()
    assert report_lines[:3] == ["# Strategy comparison", "", f"**Partial table: {line}.**"]
    # Worker processes get the table as opened here, not its path (a file still being
    # generated could hold more classes by the time they start): every run sees one table.
    plan, opened = resolve(cmp.CompareConfig(table=str(partial_path), out=tmp_path / "x"))
    assert plan.table is opened and plan.path == str(partial_path)
    # The runs equal direct runs on the restricted benchmark: same cells, same regret.
    frame = cmp.read_results(tmp_path / "results.csv")
    assert len(frame.groupby(["strategy", "seed"])) == 4
    for (name, seed), run in frame.groupby(["strategy", "seed"], sort=False):
        direct = run_search(name, bench, budget, seed).to_frame(name, seed)
        pd.testing.assert_frame_equal(
            run.reset_index(drop=True).drop(columns=MEASURED),
            direct.drop(columns=MEASURED),
            check_dtype=False,
        )
    assert (frame.regret >= 0).all()


def test_external_strategy_class_and_workers(table_path, budget, external_strategy_pkg, tmp_path):
    from nbl_compare_ext import GreedyMutation

    config = cmp.CompareConfig(
        table=str(table_path),
        strategies=(GreedyMutation, "random_search"),
        seeds=SEEDS,
        budget=budget,
        workers=3,
        jobs=1,
        out=tmp_path,
    )
    result = cmp.compare(config)
    frame = check_outputs(tmp_path, [EXTERNAL, "random_search"], float(budget))
    # Three simulated workers finish about three times as many evaluations as one.
    single = cmp.compare(
        cmp.CompareConfig(
            table=str(table_path),
            strategies=("random_search",),
            seeds=SEEDS,
            budget=budget,
            jobs=1,
            out=None,
        )
    )
    evals = frame[frame.strategy == "random_search"].groupby("seed").evals.max()
    assert (evals > 2 * single.results.groupby("seed").evals.max()).all()
    assert "Friedman" in result.report.read_text() and "n/a: needs >= 3" in (
        result.report.read_text()
    )


def test_default_budget_rule_and_table_path(table_path, monkeypatch, tmp_path):
    table = Table.open(table_path)
    budget, rule = compare_config.default_budget(table)
    median = float(np.median(table.metric("train_seconds")))
    assert (
        budget.seconds == round(compare_config.DEFAULT_BUDGET_CELLS * median)
        and budget.evals is None
    )
    assert "median train_seconds" in rule
    monkeypatch.setenv(shipped.TABLE_ENV, str(table_path))
    assert shipped.default_table_path() == table_path
    monkeypatch.setenv(shipped.TABLE_ENV, str(tmp_path / "gone.h5"))
    with pytest.raises(FileNotFoundError, match="NASBENCH_LITE_TABLE=.*gone.h5"):
        shipped.default_table_path()
    monkeypatch.delenv(shipped.TABLE_ENV)
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="no shipped table found"):
        shipped.default_table_path()
    last = tmp_path / shipped.TABLE_NAMES[-1]
    last.write_bytes(b"")
    assert shipped.default_table_path() == last
    assert not file_is_complete(last)  # unreadable


def test_default_table_path_prefers_a_complete_table(
    table_path, partial_path, monkeypatch, tmp_path
):
    monkeypatch.delenv(shipped.TABLE_ENV, raising=False)
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    first, second = (tmp_path / name for name in shipped.TABLE_NAMES[:2])
    shutil.copy(partial_path, first)
    assert shipped.default_table_path() == first  # only a partial one: it is used
    shutil.copy(table_path, second)
    assert file_is_complete(second) and not file_is_complete(first)
    assert shipped.default_table_path() == second  # the complete one wins, though listed later


def test_surrogate_without_a_model_uses_the_shipped_one_or_names_what_is_missing(
    table_path, monkeypatch, tmp_path
):
    monkeypatch.setenv(shipped.MODEL_ENV, "/no/such/model")
    config = cmp.CompareConfig(table=str(table_path), backend="surrogate", seeds=1, out=None)
    with pytest.raises(FileNotFoundError, match="NASBENCH_LITE_MODEL=/no/such/model: no such"):
        cmp.compare(config)
    monkeypatch.delenv(shipped.MODEL_ENV)
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)  # no model shipped there
    with pytest.raises(FileNotFoundError, match="no surrogate given and none shipped"):
        cmp.compare(config)


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"seeds": 0}, ValueError, "seeds must be an int in 1..100,000, got 0"),
        ({"seeds": 2.5}, ValueError, "seeds must be an int in 1..100,000, got 2.5"),
        ({"workers": 0}, ValueError, "workers must be an int in 1..1,024"),
        ({"jobs": 0}, ValueError, "jobs must be an int in 1..256"),
        ({"backend": "oracle"}, ValueError, "unknown benchmark backend 'oracle'"),
        ({"strategies": ("nope",)}, ValueError, "unknown strategy 'nope'"),
        ({"strategies": ()}, ValueError, "no strategies"),
        ({"strategies": ("random_search",) * 2}, ValueError, "must be distinct"),
        ({"budget": "soon"}, ValueError, "budget 'soon' is not valid"),
        ({"budget": "0.001"}, ValueError, "budget 0.001 ended before the first one"),
        ({"table": "/no/such/table.h5"}, FileNotFoundError, "/no/such/table.h5"),
    ],
)
def test_errors_name_the_input(table_path, change, error, message):
    base = {
        "table": str(table_path),
        "strategies": ("random_search",),
        "seeds": 1,
        "budget": "5evals",
        "jobs": 1,
        "out": None,
    }
    with pytest.raises(error, match=message):
        cmp.compare(cmp.CompareConfig(**{**base, **change}))


def test_cli_errors_are_reported_without_traceback(table_path, tmp_path, capsys):
    common = ["--no-progress", "--out", str(tmp_path)]
    assert main(["compare", "--table", str(tmp_path / "missing.h5"), *common]) == 2
    assert "missing.h5" in capsys.readouterr().err
    assert main(["compare", "--table", str(table_path), "--strategies", "nope", *common]) == 2
    assert "unknown strategy 'nope'" in capsys.readouterr().err
    assert main(["compare", "--table", str(table_path), "--seeds", "-1", *common]) == 2
    assert "seeds must be an int in 1..100,000, got -1" in capsys.readouterr().err


def test_report_and_plots_handle_zero_regret_and_missing_baseline(tmp_path):
    rows = []
    for name in ("a", "b"):
        for seed in range(4):
            rows += [(name, seed, 10.0, 1, 0.8, 0.8, 0.05), (name, seed, 30.0, 2, 0.9, 0.9, 0.0)]
    frame = pd.DataFrame(rows, columns=list(stats.RESULT_COLUMNS))
    figures = plots.plot_all(frame, tmp_path, budget_seconds=40.0)
    assert all(p.stat().st_size > 0 for paths in figures.values() for p in paths)
    path = report.write_report(tmp_path, frame, {"command": "`x`"}, figures)
    text = path.read_text()
    assert "n/a: needs >= 3 strategies, got 2" in text
    assert "n/a: `random_search` is not among the compared strategies" in text
    assert "| 0.000 ± 0.000 | 0.000 | 100% | 1.50 |" in text  # both found the best cell
    assert f"regret + {plots.REGRET_FLOOR:g}" in text
    # Against the baseline: all differences zero -> p = 1, no crash.
    tied = frame.assign(strategy=frame.strategy.replace({"a": "random_search"}))
    text = report.write_report(tmp_path, tied, {}, figures).read_text()
    assert "1.0000 (all differences zero) | 1.0000 | no significant difference" in text
    with pytest.raises(ValueError, match="sim_seconds > 0"):
        plots.time_grid(frame.assign(sim_seconds=0.0))


@pytest.mark.slow
def test_live_backend_compare_on_tiny_training(table_path, tmp_path):
    config = cmp.CompareConfig(
        table=str(table_path),
        backend="live",
        preset="tiny",
        strategies=("random_search", "regularized_evolution"),
        seeds=2,
        budget="3evals",
        out=tmp_path,
    )
    result = cmp.compare(config)
    frame = pd.read_csv(tmp_path / "results.csv")
    assert len(frame) == 2 * 2 * 3 and frame.regret.notna().all()
    assert frame.groupby(["strategy", "seed"]).evals.max().eq(3).all()
    text = result.report.read_text()
    assert "preset tiny, dataset mnist1d" in text and "--backend live" in text


def test_live_training_against_a_partial_table_is_said(partial_path, table_path):
    """The report's lead sentence: what regret is measured against, and that an incumbent
    outside the table is scored by its own run."""
    from nasbench_lite.compare.objectives import live_reference_note
    from nasbench_lite.table.reader import Table

    partial = Table.open(partial_path)
    note = live_reference_note("live", partial)
    assert note.startswith("the best seed mean of the 1,500 trained classes of 5,044 that ")
    assert "its own run's test accuracy" in note
    assert live_reference_note("tabular", partial) is None
    assert live_reference_note("live", Table.open(table_path)) is None


# -- the backend registry ------------------------------------------------------------------------


def test_backend_options_and_defaults_come_from_the_registry(table_path, monkeypatch, tmp_path):
    from nasbench_lite.backends import registry as backends
    from nasbench_lite.cli import build_parser

    choices = next(a.choices for a in build_parser()._actions if a.dest == "command")
    compare_parser = choices["compare"]
    backend = next(a for a in compare_parser._actions if a.dest == "backend")
    assert list(backend.choices) == backends.available_backends() == list(backends.BACKENDS)
    # A new backend is one registry entry: the CLI, compare and the report pick it up.
    entry = backends.BackendEntry(
        factory="nasbench_lite.backends.tabular:TabularBenchmark",
        summary="lookups again",
        parallel=False,
        default_budget="7evals",
    )
    monkeypatch.setitem(backends.BACKENDS, "lookup", entry)
    compare_parser = next(a.choices for a in build_parser()._actions if a.dest == "command")[
        "compare"
    ]
    assert "lookup" in next(a for a in compare_parser._actions if a.dest == "backend").choices
    config = cmp.CompareConfig(
        table=str(table_path), backend="lookup", strategies=("random_search",), seeds=2,
        out=tmp_path,
    )  # fmt: skip
    result = cmp.compare(config)
    assert str(result.budget) == "7evals" and result.budget_rule == "default of the lookup backend"
    text = result.report.read_text()
    assert "| backend | lookup (lookups again) |" in text
    assert "--backend lookup" in text and "--jobs 1" in text  # not parallel: one process


def test_live_options_are_named_by_the_registry(table_path, tmp_path):
    from nasbench_lite.backends.registry import BACKENDS

    plan, _ = resolve(cmp.CompareConfig(table=str(table_path), backend="live", out=tmp_path))
    assert str(plan.budget) == BACKENDS["live"].default_budget
    assert "live backend" in plan.budget_rule
    line = cmp.command_line(cmp.CompareConfig(), plan, 1)
    assert f"--preset {plan.preset} --dataset {plan.dataset}" in line
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.seeds = 3  # one record, read by the workers and the report, never changed
    assert BACKENDS["live"].options == ["preset", "dataset"] and BACKENDS["tabular"].options == []


# -- rebuilding a report, the console summary ----------------------------------------------------


def test_report_only_rebuilds_report_and_plots(table_path, tmp_path, capsys):
    args = ["compare", "--table", str(table_path), "--seeds", "2", "--budget", "12evals"]
    args += ["--strategies", "local_search", "random_search", "--jobs", "1", "--no-progress"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    first = capsys.readouterr().out
    assert "sorted by average rank over seeds (1 = best)" in first
    assert "in percentage points (pp), mean ± standard error" in first
    assert "final regret (pp)" in first and "avg rank" in first
    original = (tmp_path / "report.md").read_text()
    results = (tmp_path / "results.csv").read_bytes()
    for path in tmp_path.iterdir():
        if path.suffix in (".md", ".png", ".svg"):
            path.unlink()
    assert main(["compare", "--report-only", str(tmp_path)]) == 0
    again = capsys.readouterr().out
    assert again.splitlines()[:-1] == first.splitlines()[:-1]  # the same summary
    rebuilt = (tmp_path / "report.md").read_text()
    assert (tmp_path / "results.csv").read_bytes() == results  # untouched
    for name in PLOTS:
        assert (tmp_path / f"{name}.png").stat().st_size > 5000
    # The same report, plus a row saying it was rebuilt.
    extra = "| report | rebuilt from results.csv (`--report-only`) |"
    assert rebuilt.replace(extra + "\n", "") == original
    # Without setup.json the report still comes back, with what results.csv holds.
    (tmp_path / "setup.json").unlink()
    result = cmp.rebuild(tmp_path)
    assert result.budget is None and result.strategies == ["local_search", "random_search"]
    assert "## Ranking" in result.report.read_text() and result.seeds == [0, 1]


def test_report_only_errors(tmp_path, capsys):
    assert main(["compare", "--report-only", str(tmp_path)]) == 2
    assert f"{tmp_path / 'results.csv'}: no such file" in capsys.readouterr().err
    pd.DataFrame({"strategy": ["a"], "seed": [0]}).to_csv(tmp_path / "results.csv", index=False)
    with pytest.raises(ValueError, match="results frame lacks columns"):
        cmp.rebuild(tmp_path)
    rows = [("a", 0, 1.0, 1, 0.5, 0.5, 0.1)]
    frame = pd.DataFrame(rows, columns=list(stats.RESULT_COLUMNS))
    frame.to_csv(tmp_path / "results.csv", index=False)
    (tmp_path / "setup.json").write_text("[1, 2")
    with pytest.raises(ValueError, match="setup.json is not valid JSON"):
        cmp.rebuild(tmp_path)
    (tmp_path / "setup.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="setup.json is not a compare setup record"):
        cmp.rebuild(tmp_path)
    (tmp_path / "setup.json").write_text('{"setup": {}, "budget": {"seconds": -1}}')
    with pytest.raises(ValueError, match="setup.json: bad budget"):
        cmp.rebuild(tmp_path)


def test_results_name_the_final_incumbent_cell(table_path, tmp_path):
    from nasbench_lite.spaces import get_space

    config = cmp.CompareConfig(
        table=str(table_path), strategies=("random_search",), seeds=2, budget="30evals",
        jobs=1, out=tmp_path,
    )  # fmt: skip
    cmp.compare(config)
    frame = cmp.read_results(tmp_path / "results.csv")
    space = get_space("nb201")
    from nasbench_lite.backends.tabular import TabularBenchmark
    from nasbench_lite.search.runner import run_search
    from nasbench_lite.table.reader import Table

    bench = TabularBenchmark(Table.open(table_path))
    for seed, run in frame.groupby("seed"):
        last = run.iloc[-1]
        assert last.incumbent_cell == space.format(int(last.incumbent_raw))
        # The incumbent is the first cell reaching the best validation accuracy of the run,
        # read off the same run made directly.
        direct = run_search("random_search", bench, "30evals", int(seed))
        assert last.incumbent_raw == direct.raw[np.argmax(direct.valid_acc)]
        # The cell is named where the incumbent changes (and on the last row), nowhere else.
        raw = run.incumbent_raw.to_numpy()
        changed = np.diff(raw, prepend=-1) != 0
        changed[-1] = True
        named = run.incumbent_cell.fillna("").astype(str).to_numpy() != ""
        np.testing.assert_array_equal(named, changed)


# -- scripts without a main guard ----------------------------------------------------------------

SCRIPT = """
import logging
logging.basicConfig()
from nasbench_lite.compare.config import CompareConfig
from nasbench_lite.compare.run import compare
config = CompareConfig(table={table!r}, strategies=("random_search",), seeds=2,
                       budget="5evals", jobs=2, out=None)
{call}
"""


@pytest.mark.parametrize("kind", ["unguarded", "guarded", "package_main"])
def test_a_script_calling_compare_at_top_level_works(table_path, tmp_path, kind):
    call = "print('runs', len(compare(config).results))"
    if kind == "guarded":
        call = 'if __name__ == "__main__":\n    ' + call
    # A __main__.py (`python -m package`, `python folder`) is never re-run by workers.
    script = tmp_path / ("__main__.py" if kind == "package_main" else "study.py")
    script.write_text(SCRIPT.format(table=str(table_path), call=call))
    target = tmp_path if kind == "package_main" else script
    done = subprocess.run(
        [sys.executable, str(target)], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["runs 10"]  # the comparison ran once, in full
    warned = 'outside `if __name__ == "__main__":`' in done.stderr
    assert warned == (kind == "unguarded")  # one process, and a warning saying what to add


def test_main_guard_detection(tmp_path):
    from nasbench_lite.compare import workers as processes

    script = tmp_path / "s.py"
    script.write_text(
        "import x\n"
        "x.run()\n"
        "if __name__ == '__main__':\n"
        "    x.run()\n"
        "    x.run()\n"
        "if '__main__' == __name__: x.run()\n"
        "if __name__ != '__main__':\n"
        "    x.run()\n"
    )
    assert processes.guarded_lines(script) == [(3, 5), (6, 6)]
    script.write_text("def broken(:\n")
    assert processes.guarded_lines(script) is None
    assert processes.guarded_lines(tmp_path / "missing.py") is None
    assert not processes.workers_rerun_caller()  # pytest's own entry point is guarded


def test_a_worker_re_running_a_script_gets_told_what_to_add(table_path, monkeypatch):
    import multiprocessing

    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    with pytest.raises(RuntimeError, match='re-running the script .*`if __name__ == "__main__":`'):
        cmp.compare(cmp.CompareConfig(table=str(table_path), jobs=1, out=None))


def test_a_dead_worker_process_is_reported_with_advice(table_path, tmp_path, monkeypatch):
    write_strategy_package(
        tmp_path,
        "crash-strategy",
        {
            "crash_strategy.py": """
            import os

            class Crash:
                name = "crash"

                def __init__(self, space):
                    self.space = space

                def init(self, rng):
                    os._exit(3)  # the process dies, as an out-of-memory kill would

                def ask(self, state, rng):
                    return state, 0

                def tell(self, state, raw, valid_acc, cost):
                    return state
            """
        },
        "crash = crash_strategy:Crash",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    config = cmp.CompareConfig(
        table=str(table_path), strategies=("crash",), seeds=2, budget="5evals", jobs=2, out=None
    )
    with pytest.raises(
        RuntimeError, match='stopped before finishing.*`if __name__ == "__main__":`'
    ):
        cmp.compare(config)


def test_worker_processes_share_the_cores_between_their_openmp_pools(
    table_path, tmp_path, monkeypatch
):
    """An OpenMP pool (XGBoost's) as wide as the machine in every worker spins at its
    barriers while the other workers hold the cores: each gets cores // jobs threads, and a
    value the user set is kept."""
    seen = tmp_path / "seen"
    seen.mkdir()
    write_strategy_package(
        tmp_path,
        "threads-strategy",
        {
            "threads_strategy.py": f"""
            import os

            class Threads:
                name = "threads"

                def __init__(self, space):
                    self.space = space

                def init(self, rng):
                    value = os.environ.get("OMP_NUM_THREADS", "unset")
                    with open(os.path.join({str(seen)!r}, str(os.getpid())), "w") as f:
                        f.write(value)
                    return 0

                def ask(self, state, rng):
                    return state, int(rng.integers(self.space.num_cells))

                def tell(self, state, raw, valid_acc, cost):
                    return state
            """
        },
        "threads = threads_strategy:Threads",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(cmp_workers.os, "cpu_count", lambda: 5)
    config = cmp.CompareConfig(
        table=str(table_path), strategies=("threads",), seeds=4, budget="3evals", jobs=2, out=None
    )
    for preset, expected in ((None, {"2"}), ("3", {"3"})):
        monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
        if preset:
            monkeypatch.setenv("OMP_NUM_THREADS", preset)
        for old in seen.iterdir():
            old.unlink()
        cmp.compare(config)
        assert {p.read_text() for p in seen.iterdir()} == expected


BROKEN = '''
import nasbench_lite as nbl


class TellRaises(nbl.get_strategy("random_search")):
    """Random search whose tell raises on its fifth result."""

    name = "tell_raises"

    def tell(self, state, raw, result):
        if getattr(self, "told", 0) == 4:
            raise RuntimeError("boom in tell")
        self.told = getattr(self, "told", 0) + 1
        return state
'''


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_strategy_that_raises_is_named_in_one_line_and_leaves_no_worker(
    table_path, tmp_path, monkeypatch, jobs
):
    """A strategy's own error: a RunFailed (one line at the command line, exit 2) naming the
    run, the exception and where it was raised; the finished runs are kept; no worker
    process is left running (one would hold the command's output pipe open)."""
    import importlib
    import multiprocessing
    import time

    from nasbench_lite.compare import CompareConfig, compare, journal
    from nasbench_lite.errors import RunFailed

    (tmp_path / "broken_strategy.py").write_text(BROKEN)
    monkeypatch.syspath_prepend(str(tmp_path))
    broken = importlib.import_module("broken_strategy").TellRaises
    config = CompareConfig(table=str(table_path), strategies=("random_search", broken),
                           seeds=3, budget="30evals", jobs=jobs, out=tmp_path / "out")  # fmt: skip
    before = set(multiprocessing.active_children())  # another test's may still be exiting
    with pytest.raises(RunFailed) as failed:
        compare(config)
    message = str(failed.value)
    assert "\n" not in message and "the run of 'tell_raises' on seed " in message
    assert "raised RuntimeError: boom in tell at " in message
    assert "broken_strategy.py:" in message and message.endswith(" in tell")
    # None of this call's workers outlives it by more than a grace period (under a full
    # parallel test run one has been seen still exiting at the first look).
    deadline = time.monotonic() + 20
    while left := [p for p in multiprocessing.active_children() if p not in before]:
        assert time.monotonic() < deadline, [(p.name, p.pid, p.exitcode) for p in left]
        time.sleep(0.1)
    if jobs == 1:  # in order: random search's three runs came first and are kept
        assert journal.progress(tmp_path / "out") == (3, 6)


def test_a_worker_that_ignores_sigterm_is_killed_in_one_grace_period(monkeypatch):
    """Stopping the pool ends every worker: one that does not act on SIGTERM is killed once
    the one grace period (shared by all workers, not one each) has passed."""
    import multiprocessing
    import signal
    import time

    from nasbench_lite.compare import workers

    monkeypatch.setattr(workers, "STOP_GRACE_SECONDS", 1.0)
    context = multiprocessing.get_context("fork")  # a local target, no pickling
    ready = context.Event()

    def deaf_worker():
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        ready.set()
        time.sleep(60)

    deaf = [context.Process(target=deaf_worker) for _ in range(2)]
    plain = context.Process(target=time.sleep, args=(60,))
    for process in deaf:
        ready.clear()
        process.start()
        assert ready.wait(10)
    plain.start()

    class Pool:  # what _end_processes uses of a ProcessPoolExecutor
        _processes = {p.pid: p for p in (*deaf, plain)}
        shut = False

        def shutdown(self, wait, cancel_futures):
            Pool.shut = True

    start = time.monotonic()
    workers._end_processes(Pool())
    took = time.monotonic() - start
    assert Pool.shut
    assert [p.exitcode for p in deaf] == [-signal.SIGKILL] * 2, took
    assert plain.exitcode == -signal.SIGTERM
    assert 1.0 <= took < 3.0  # one grace period for all, not one each
    assert not {*deaf, plain} & set(multiprocessing.active_children())
