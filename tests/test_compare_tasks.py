"""`compare --tasks`: the same comparison on several tasks, and its aggregate over
(task, seed) blocks checked against a direct computation."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from nasbench_lite.cli import main
from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.compare.suite import REPORT_FILE, SUMMARY_FILE, compare_tasks
from nasbench_lite.table import shipped
from nasbench_lite.table.shipped import task_tables
from nasbench_lite.table.synthetic import synthetic_table

# Evolution at a population below the budget, so that it is not random search by another
# name (its default population of 50 would be).
STRATEGIES = ("random_search", "regularized_evolution[population_size=8, tournament_size=3]",
              "local_search")  # fmt: skip
MEASURED = ["strategy_seconds", "source_seconds"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tasks")
    paths = []
    for k, name in enumerate(("alpha", "beta")):
        path = folder / f"{name}.h5"
        synthetic_table(path, epochs=2, rng=k + 1, attrs={"dataset": name})
        paths.append(path)
    return paths


def config(out) -> CompareConfig:
    return CompareConfig(strategies=STRATEGIES, seeds=5, budget="60evals", jobs=1, out=out)


def test_each_task_is_the_plain_comparison_and_the_aggregate_ranks_blocks(tables, tmp_path):
    result = compare_tasks(config(tmp_path / "suite"), [str(p) for p in tables])
    assert result.tasks == ["alpha-synthetic", "beta-synthetic"]
    blocks, tolerances = [], []
    for task, path in zip(result.tasks, tables, strict=True):
        alone = compare(dataclasses.replace(config(None), table=str(path)))
        mine = result.results[task]
        assert mine.results.drop(columns=MEASURED).equals(alone.results.drop(columns=MEASURED))
        assert mine.tolerance == alone.tolerance > 0
        assert (tmp_path / "suite" / task / "report.md").is_file()
        last = alone.results.groupby(["strategy", "seed"]).tail(1)
        matrix = last.pivot(index="seed", columns="strategy", values="regret")[list(STRATEGIES)]
        blocks.append(matrix.to_numpy())
        tolerances += [alone.tolerance] * len(matrix)
    # Brute force: rank every block by hand, pair by pair: 1 + the values more than the
    # block's tolerance below + half the other values within it (docs/compare.md).
    ranks = []
    for block, tol in zip(np.concatenate(blocks), tolerances, strict=True):
        values = list(block)
        row = [1 + sum(v - w > tol for w in values)
               + sum(abs(v - w) <= tol for w in values[:i] + values[i + 1 :]) / 2
               for i, v in enumerate(values)]  # fmt: skip
        ranks.append(row)
    ranks = np.array(ranks)
    assert len({tuple(r) for r in ranks}) > 2  # the blocks do not all rank alike
    summary = result.summary.set_index("strategy").loc[list(STRATEGIES)]
    assert summary["avg_rank"].to_numpy() == pytest.approx(ranks.mean(axis=0))
    found = (np.concatenate(blocks) <= np.array(tolerances)[:, None]).mean(axis=0)
    assert found.any() and (found < 1).all()  # some runs within the floor, some not
    assert summary["found_best"].to_numpy() == pytest.approx(found)
    # Friedman on those ranks with Conover's tie correction (scipy's friedmanchisquare would
    # rank the ranks again, losing the tolerance's partial ties).
    n, k = ranks.shape
    centre = n * k * (k + 1) ** 2 / 4
    statistic = (k - 1) * (sum(ranks.sum(axis=0) ** 2) - n * centre) / ((ranks**2).sum() - centre)
    assert result.friedman.pvalue == pytest.approx(sps.chi2.sf(statistic, k - 1))
    saved = pd.read_csv(tmp_path / "suite" / SUMMARY_FILE)
    assert saved["avg_rank"].to_numpy() == pytest.approx(result.summary["avg_rank"].to_numpy())
    report = (tmp_path / "suite" / REPORT_FILE).read_text()
    for section in ("## Tasks", "## Ranking over all blocks", "## Friedman test over blocks"):
        assert section in report
    assert "rank on alpha-synthetic" in report


def test_task_names_and_errors(tables, tmp_path, monkeypatch):
    monkeypatch.setattr(shipped, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="nb201_mnist1d_v2.h5"):
        task_tables(["all"])
    # The missing table's message gives the command that makes it, with the task's protocol.
    with pytest.raises(FileNotFoundError, match="--dataset noise_id --preset v2 --seeds 3 "):
        task_tables(["noise_id"])
    with pytest.raises(FileNotFoundError, match="--dataset mnist1d --preset cpu --seeds 3 "):
        task_tables(["mnist1d"])
    with pytest.raises(ValueError, match="not a task"):
        task_tables(["no_such_task"])
    with pytest.raises(ValueError, match="more than once"):
        task_tables([str(tables[0]), str(tables[0])])
    for name in shipped.SUITE_TABLES.values():
        (tmp_path / name).write_bytes(tables[0].read_bytes())
    assert task_tables(["all"]) == [(task, tmp_path / name)
                                    for task, name in shipped.SUITE_TABLES.items()]  # fmt: skip
    assert task_tables(["mnist1d_v2"]) == [("mnist1d_v2", tmp_path / "nb201_mnist1d_v2.h5")]
    with pytest.raises(ValueError, match="as tasks"):
        compare_tasks(dataclasses.replace(config(None), table=str(tables[0])), ["all"])


def test_cli_tasks(tables, tmp_path, capsys):
    args = ["compare", "--tasks", *map(str, tables), "--strategies", *STRATEGIES, "--seeds",
            "3", "--budget", "20evals", "--jobs", "1", "--no-progress"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "across 2 tasks x 3 seeds = 6 blocks" in printed and "Friedman over blocks" in printed
    assert main([*args, "--table", str(tables[0]), "--out", str(tmp_path / "p")]) == 2
    assert "exclude each other" in capsys.readouterr().err


def test_objectives_across_tasks_rank_final_hypervolume_regret(tables, tmp_path):
    objectives = ("valid_acc:max", "params:min")
    config = CompareConfig(strategies=("random_search", "mo_regularized_evolution"), seeds=4,
                           budget="15evals", jobs=1, out=tmp_path / "mo",
                           objectives=objectives)  # fmt: skip
    result = compare_tasks(config, [str(p) for p in tables])
    assert result.column == "hv_regret"
    blocks = []
    for task in result.tasks:
        last = result.results[task].results.groupby(["strategy", "seed"]).tail(1)
        wide = last.pivot(index="seed", columns="strategy", values="hv_regret")
        blocks.append(wide[["random_search", "mo_regularized_evolution"]].to_numpy())
    matrix = np.concatenate(blocks)
    expected = sps.rankdata(matrix, axis=1).mean(axis=0)
    assert np.allclose(result.summary["avg_rank"], expected)
    assert np.allclose(result.summary["regret_mean"], matrix.mean(axis=0))
    report = (tmp_path / "mo" / REPORT_FILE).read_text()
    assert "final hypervolume regret" in report and "mean HV regret" in report


def test_objectives_across_tasks_with_the_default_strategies(tables, tmp_path):
    """The multi-objective default set has no transfer strategy: the other tasks are not
    given as sources (which resolve would refuse); the single-objective default set has."""
    from nasbench_lite.compare.suite import _learns_from_sources

    objectives = ("valid_acc:max", "params:min")
    assert _learns_from_sources(CompareConfig())
    assert not _learns_from_sources(CompareConfig(objectives=objectives))
    assert not _learns_from_sources(CompareConfig(strategies=STRATEGIES))
    config = CompareConfig(seeds=1, budget="6evals", jobs=1, out=tmp_path / "mo",
                           objectives=objectives)  # fmt: skip
    result = compare_tasks(config, [str(p) for p in tables])
    assert "mo_regularized_evolution" in set(result.summary["strategy"])
    assert result.column == "hv_regret"


def test_console_columns_hold_long_task_names(tmp_path, capsys):
    paths = []
    for k, name in enumerate(("a_task_with_a_long_name", "beta")):
        paths.append(tmp_path / f"{name}.h5")
        synthetic_table(paths[-1], epochs=2, rng=k + 1, attrs={"dataset": name})
    args = ["compare", "--tasks", *map(str, paths), "--strategies", *STRATEGIES, "--seeds",
            "2", "--budget", "10evals", "--jobs", "1", "--no-progress",
            "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("strategy "))
    assert lines[header].endswith(" a_task_with_a_long_name-synthetic beta-synthetic")
    for row in lines[header + 1 : header + 1 + len(STRATEGIES)]:
        assert len(row) == len(lines[header]), (row, lines[header])  # every column lines up


def test_task_mnist1d_is_the_protocol_v1_table_whatever_the_default():
    """The task "mnist1d" names the cpu-preset table, not TABLE_NAMES' first entry: a new
    default (a v2 table first) must not make "mnist1d" and "mnist1d_v2" one file."""
    assert shipped.TASK_TABLES["mnist1d"] == "nb201_mnist1d_cpu.h5"
    assert len(set(shipped.TASK_TABLES.values())) == len(shipped.TASK_TABLES)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shipped, "TABLE_NAMES", ("nb201_mnist1d_v2.h5", "nb201_mnist1d_cpu.h5"))
        assert task_tables(["mnist1d"])[0][1].name == "nb201_mnist1d_cpu.h5"


def test_partial_tables_and_each_tolerance_rule_are_named(tables, tmp_path, capsys):
    gamma = tmp_path / "gamma.h5"
    synthetic_table(gamma, epochs=2, rng=5, done=2000, attrs={"dataset": "gamma"})
    args = ["compare", "--tasks", str(tables[0]), str(gamma), "--strategies", *STRATEGIES,
            "--seeds", "2", "--budget", "10evals", "--jobs", "1", "--no-progress"]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "o")]) == 0
    printed = capsys.readouterr().out
    assert "partial tables: gamma-synthetic;" in printed, printed
    assert "regrets within a task's tolerance tie: its noise floor" in printed
    report = (tmp_path / "o" / REPORT_FILE).read_text()
    assert "**Partial tables: gamma-synthetic;" in report
    rows = {line.split(" | ")[0].strip("| "): line for line in report.splitlines()
            if line.startswith(("| alpha-synthetic", "| gamma-synthetic"))}  # fmt: skip
    assert "| all |" in rows["alpha-synthetic"] and "(noise floor)" in rows["alpha-synthetic"]
    assert "| 2,000 of 5,044 (partial) |" in rows["gamma-synthetic"]
    assert main([*args, "--tolerance", "0", "--out", str(tmp_path / "exact")]) == 0
    assert "(1 = best; regrets compared exactly)" in capsys.readouterr().out
    report = (tmp_path / "exact" / REPORT_FILE).read_text()
    assert "0.000 (exact)" in report and "(noise floor)" not in report
    assert main([*args[:2], str(tables[0]), *args[4:], "--tolerance", "0.01", "--out",
                 str(tmp_path / "given")]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "tolerance tie: as given" in printed and "partial tables" not in printed


def test_every_task_is_checked_before_any_runs(tables, tmp_path, capsys):
    out = tmp_path / "o"
    (out / "beta-synthetic").mkdir(parents=True)
    (out / "beta-synthetic" / "notes.txt").write_text("mine\n")  # not a comparison's folder
    args = ["compare", "--tasks", *map(str, tables), "--strategies", *STRATEGIES, "--seeds",
            "2", "--budget", "10evals", "--jobs", "1", "--no-progress"]  # fmt: skip
    assert main([*args, "--out", str(out)]) == 2
    assert "beta-synthetic" in capsys.readouterr().err
    assert not (out / "alpha-synthetic").exists()  # the first task did not run
    # Source tasks that no chosen strategy reads are refused, not dropped.
    source = synthetic_table(tmp_path / "delta.h5", rows=200, epochs=2, rng=9,
                             attrs={"dataset": "delta"})  # fmt: skip
    assert main([*args, "--sources", str(source.source), "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert "none of the strategies" in err and "learns from other tasks" in err, err
    assert not (tmp_path / "s").exists()


def suite_args(tables) -> list[str]:
    return ["compare", "--tasks", *map(str, tables), "--strategies", *STRATEGIES, "--seeds",
            "2", "--budget", "10evals", "--jobs", "1", "--no-progress"]  # fmt: skip


def stop_at_task(monkeypatch, task: int, finished: int, runs: int) -> tuple:
    """Make the suite's `compare` raise Interrupted (`finished` of `runs` runs done) when it
    starts its `task`-th task (1-based); returns (the real compare, the outputs it was
    called for)."""
    from nasbench_lite.compare import suite
    from nasbench_lite.errors import Interrupted

    real, calls = suite.compare, []

    def stop(config):
        calls.append(config.out)
        if len(calls) == task:
            raise Interrupted("stop", finished, runs)
        return real(config)

    monkeypatch.setattr(suite, "compare", stop)
    return real, calls


def test_ctrl_c_in_a_later_task_names_it_and_resume_finishes_the_suite(
    tables, tmp_path, capsys, monkeypatch
):
    from nasbench_lite.compare import suite

    real, _ = stop_at_task(monkeypatch, 2, 1, 6)
    out = tmp_path / "o"
    args = suite_args(tables)
    assert main([*args, "--out", str(out)]) == 130
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "interrupted in task beta-synthetic (1 of its 6 runs finished)" in err
    assert f"tasks alpha-synthetic finished; kept in {out}" in err
    assert err.rstrip().endswith(f"--resume {out}")
    monkeypatch.setattr(suite, "compare", real)
    assert main([*args, "--resume", str(out)]) == 0
    assert (out / REPORT_FILE).is_file() and (out / "beta-synthetic" / "report.md").is_file()


def test_a_finished_task_whose_table_changed_is_named_before_any_run(tmp_path, capsys, monkeypatch):
    from nasbench_lite.compare import suite

    paths = []
    for k, name in enumerate(("alpha", "beta", "gamma")):
        paths.append(synthetic_table(tmp_path / f"{name}.h5", epochs=2, rng=k + 1,
                                     attrs={"dataset": name}).source)  # fmt: skip
    real, calls = stop_at_task(monkeypatch, 3, 0, 4)
    out = tmp_path / "o"
    args = suite_args(paths)
    assert main([*args, "--out", str(out)]) == 130
    capsys.readouterr()
    # The second task's table changes; the first task finished too, and resumes first.
    synthetic_table(paths[1], epochs=2, rng=7, attrs={"dataset": "beta"})
    kept = (out / "alpha-synthetic" / "report.md").read_bytes()
    calls.clear()
    monkeypatch.setattr(suite, "compare", lambda config: calls.append(config.out) or real(config))
    assert main([*args, "--resume", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "task 'beta-synthetic': cannot resume" in err and "do not mix" in err
    assert f"or remove {out / 'beta-synthetic'} to run that task again" in err
    assert calls == []  # refused before any task ran, the finished one included
    assert (out / "alpha-synthetic" / "report.md").read_bytes() == kept
    shutil.rmtree(out / "beta-synthetic")
    assert main([*args, "--resume", str(out)]) == 0
    assert (out / REPORT_FILE).is_file() and (out / "beta-synthetic" / "report.md").is_file()


def test_the_suite_folder_is_checked_like_a_comparisons(tables, tmp_path):
    """A folder of other files, or of a single-table comparison, is not written into
    without --force; an earlier suite's folder, or one holding only its task folders, is."""
    from nasbench_lite.compare.suite_out import check_suite_out
    from nasbench_lite.errors import OutputExistsError

    labels = ["alpha", "beta"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(OutputExistsError, match=r"other files \(notes.txt\).*--force"):
        compare_tasks(config(other), [str(p) for p in tables])
    assert sorted(p.name for p in other.iterdir()) == ["notes.txt"]  # nothing written
    single = tmp_path / "single"
    single.mkdir()
    (single / "plan.json").write_text("{}")
    with pytest.raises(OutputExistsError, match="a single-table comparison"):
        check_suite_out(single, labels)
    check_suite_out(tmp_path / "new", labels)
    interrupted = tmp_path / "interrupted"
    (interrupted / "alpha").mkdir(parents=True)
    check_suite_out(interrupted, labels)
    (other / REPORT_FILE).write_text("an earlier suite")
    check_suite_out(other, labels)
    (tmp_path / "file").write_text("")
    with pytest.raises(OutputExistsError, match="a file of that name"):
        check_suite_out(tmp_path / "file", labels)


def test_an_unfinished_task_names_the_suite_to_resume(tables, tmp_path, capsys):
    """Rerun without --resume over an interrupted suite: the advice is the suite's folder
    (resuming one task's folder would run it on the default table), and nothing is lost."""
    from nasbench_lite.compare.journal import run_path

    out = tmp_path / "o"
    args = suite_args(tables)
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    lost = run_path(out / "beta-synthetic", STRATEGIES[0], 0)
    lost.unlink()  # as if Ctrl-C had stopped that run
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"--out {out}: task 'beta-synthetic' holds an unfinished comparison" in err
    assert f"continue the suite with --resume {out} and the same --tasks" in err
    assert main([*args, "--resume", str(out)]) == 0 and lost.is_file()


def test_the_repeat_command_names_suite_sources_by_task():
    """A task's report repeats its command; sources given as suite tasks are written by their
    names (what results.csv and a resume compare), other tables by their paths."""
    from nasbench_lite.compare.run import _source_paths

    v2 = shipped.suite_table_path("mnist1d_v2")
    given = (("mnist1d_v2", v2), ("mine", v2), "data/x.h5")
    assert _source_paths(CompareConfig(sources=given))[0] == "mnist1d_v2"
    assert _source_paths(CompareConfig(sources=given))[1].endswith("nb201_mnist1d_v2.h5")
    assert _source_paths(CompareConfig(sources=given))[2] == "data/x.h5"
