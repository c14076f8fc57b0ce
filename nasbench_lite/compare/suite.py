"""Compare strategies across tasks: the same strategies, seeds and budget rule on every task's
table, each task's own ranking, and an aggregate over (task, seed) blocks.

The aggregate follows Demsar (2006) with the blocks of NAS-Bench-Suite (Mehta et al., 2022):
every (task, seed) pair is one block; strategies are ranked within a block by final regret,
regrets within that task's tie tolerance (its noise floor, `compare.config.resolve_tolerance`)
sharing a rank; the average rank over blocks orders the strategies; a Friedman test over the
blocks and Holm-corrected Wilcoxon signed-rank tests against random search (differences within
a block's tolerance count as zero) say which differences hold.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_lite.compare import statistics as stats
from nasbench_lite.compare.config import CompareConfig
from nasbench_lite.compare.run import BASELINE, CompareResult, compare
from nasbench_lite.compare.suite_out import (
    REPORT_FILE,
    SUMMARY_FILE,
    check_finished,
    check_resumable,
    check_suite_out,
)
from nasbench_lite.errors import InputError, Interrupted
from nasbench_lite.table.shipped import task_tables


@dataclass
class SuiteResult:
    """tasks: task labels, in the order run; results: each task's `CompareResult`;
    tolerances: each task's tie tolerance; summary: one row per strategy (aggregate columns
    avg_rank, found_best, regret_mean, then `rank <task>` per task); friedman / wilcoxon: the
    tests over the (task, seed) blocks; report: the suite report's path (None: not written)."""

    tasks: list[str]
    results: dict[str, CompareResult]
    tolerances: dict[str, float]
    summary: pd.DataFrame
    friedman: stats.FriedmanResult
    wilcoxon: pd.DataFrame
    report: Path | None = None
    files: list[Path] = field(default_factory=list)
    column: str = "regret"  # what blocks rank: "regret", or "hv_regret" with objectives


def compare_tasks(config: CompareConfig, tasks: Sequence[str]) -> SuiteResult:
    """Run `config` (its `table` unset) on every task of `tasks` (see `task_tables`); each
    task's results and report go into `config.out/<task>/`, the suite's report and summary
    into `config.out/`. Transfer strategies are given the other tasks of the list as their
    sources (leave one task out), unless `config.sources` names them. With several
    objectives the blocks rank final hypervolume regret. Raises InputError for a bad task
    list or a config naming a table."""
    if config.table is not None:
        raise InputError("give the tables as tasks, not as table, in a comparison across tasks")
    from nasbench_lite.compare.config import resolve

    found = task_tables(tasks)
    out = None if config.out is None else Path(config.out)
    if out is not None and not config.force:
        check_suite_out(out, [label for label, _ in found])
    targets = {}
    for label, path in found:
        task_out = None if out is None else out / label
        # Leave one task out: a transfer strategy learns from every other task of the list.
        others = tuple((other, p) for other, p in found if other != label) or None
        sources = config.sources
        if sources is None and _learns_from_sources(config):
            sources = others  # given sources no strategy reads are refused by resolve
        target = dataclasses.replace(config, table=str(path), out=task_out, sources=sources)
        if task_out is not None and not (config.resume or config.force):
            check_finished(label, task_out, out)
        # Every task's inputs (table, sources, output folder, and the plan a resumed task
        # continues) are checked before any runs: a mistake in the last task must not
        # surface after the others have run.
        plan, table = resolve(target)
        if target.resume and task_out is not None:
            check_resumable(label, task_out, plan, table)
        targets[label] = target
    results: dict[str, CompareResult] = {}
    for label, target in targets.items():
        try:
            results[label] = compare(target)
        except Interrupted as stop:  # say where: the finished tasks are kept whole
            stop.task, stop.tasks_done = label, list(results)
            raise
    result = aggregate(results)
    if out is not None:
        result.report = write_suite_report(out, result, found)
        summary = out / SUMMARY_FILE
        result.summary.to_csv(summary, index=False)
        result.files = [result.report, summary]
    return result


def _learns_from_sources(config: CompareConfig) -> bool:
    """Whether the strategies `config` runs (its default set, which depends on its
    objectives, where it names none) include a transfer one."""
    from nasbench_lite.compare.config import _strategies
    from nasbench_lite.search.registry import get_strategy

    multi = len(config.objectives or ()) > 1
    names, _ = _strategies(config.strategies, multi, sources=True)
    return any(getattr(get_strategy(s), "uses_sources", False) for s in names)


def aggregate(results: dict[str, CompareResult]) -> SuiteResult:
    """Blocks of every task's final regrets, their ranks, and the tests over blocks."""
    tasks = list(results)
    first = next(iter(results.values()))
    strategies = list(first.strategies)
    multi = first.objectives is not None and first.objectives.multi
    column = "hv_regret" if multi else "regret"  # hypervolume regret: exact (tolerance 0)
    blocks, tolerances, per_task = [], [], {}
    for task, result in results.items():
        _, _, matrix = stats.final_matrix(result.results, strategies, column)
        blocks.append(matrix)
        tolerances.append(np.full(len(matrix), result.tolerance))
        per_task[task] = stats.average_ranks(matrix, result.tolerance)
    matrix, tolerance = np.concatenate(blocks), np.concatenate(tolerances)
    summary = pd.DataFrame(
        {
            "strategy": strategies,
            "avg_rank": stats.average_ranks(matrix, tolerance),
            "found_best": (matrix <= tolerance[:, None]).mean(axis=0),
            "regret_mean": matrix.mean(axis=0),
            **{f"rank {task}": ranks for task, ranks in per_task.items()},
        }
    )
    wilcoxon = (
        stats.wilcoxon_vs_baseline(matrix, strategies, BASELINE, tolerance)
        if BASELINE in strategies and len(strategies) > 1
        else pd.DataFrame(columns=stats.WILCOXON_COLUMNS)
    )
    return SuiteResult(
        tasks=tasks,
        results=results,
        tolerances={t: r.tolerance for t, r in results.items()},
        summary=summary,
        friedman=stats.friedman(matrix, tolerance),
        wilcoxon=wilcoxon,
        column=column,
    )


def _pp(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{100 * value:.3f}"


def suite_lines(result: SuiteResult) -> list[str]:
    """The console summary: per-task average ranks and the aggregate, best first."""
    shown = result.summary.sort_values(["avg_rank", "regret_mean"], kind="stable")
    seeds = len(next(iter(result.results.values())).seeds)
    width = max(24, *(len(str(s)) for s in shown["strategy"]))
    cols = [max(8, len(str(task))) for task in result.tasks]  # a column fits its task's name
    lines = [
        f"across {len(result.tasks)} tasks x {seeds} seeds = {len(result.tasks) * seeds} "
        f"blocks; average rank over blocks (1 = best; {_tie_words(result)})",
        *_partial_lines(result),
        f"{'strategy':<{width}} {'all':>6} "
        + " ".join(f"{t:>{c}}" for t, c in zip(result.tasks, cols, strict=True)),
    ]
    for _, row in shown.iterrows():
        ranks = " ".join(f"{row[f'rank {task}']:>{c}.2f}"
                         for task, c in zip(result.tasks, cols, strict=True))  # fmt: skip
        lines.append(f"{row['strategy']:<{width}} {row['avg_rank']:>6.2f} {ranks}")
    f = result.friedman
    if math.isfinite(f.pvalue):
        lines.append(f"Friedman over blocks: chi² = {f.statistic:.2f}, p = {f.pvalue:.3g}")
    else:
        lines.append(f"Friedman over blocks: n/a ({f.note})")
    return lines


def _tolerance_kind(result: CompareResult) -> str:
    """A task's tolerance rule in a word or two: "noise floor", "given" or "exact"."""
    rule = result.tolerance_rule
    if rule.startswith("the table's noise floor"):
        return "noise floor"
    return "exact" if rule.startswith("exact") or not result.tolerance else "given"


def _tie_words(result: SuiteResult) -> str:
    """How the blocks' ties were decided, in words, as the tolerances were set."""
    if result.column == "hv_regret":
        return "hypervolume regrets compared exactly"
    kinds = sorted({_tolerance_kind(r) for r in result.results.values()})
    if kinds == ["exact"]:
        return "regrets compared exactly"
    said = {"noise floor": "its noise floor", "given": "as given", "exact": "0 where exact"}
    return f"regrets within a task's tolerance tie: {', '.join(said[k] for k in kinds)}"


def _classes(result: CompareResult) -> str:
    """The classes a task's search could reach: all, or how many of all (a partial table)."""
    c = result.coverage
    if c is not None:
        return "all" if c.complete else f"{c.classes:,} of {c.total_classes:,} (partial)"
    return "all" if result.restriction is None else "partial"


def _partial_lines(result: SuiteResult) -> list[str]:
    """One line naming the tasks whose table is partial, or none."""
    partial = [t for t, r in result.results.items() if _classes(r) != "all"]
    if not partial:
        return []
    return [
        f"partial tables: {', '.join(partial)}; each searched only the classes its table "
        "holds, regret against the best of those (see the per-task reports)"
    ]


def _sources(result: CompareResult) -> str:
    """The source tasks the transfer strategies of a task's comparison read (leave one task
    out), from its results.csv column; "none" without transfer strategies."""
    frame = result.results
    if "sources" not in frame:
        return "none"
    names = sorted({str(s) for s in frame["sources"].dropna() if str(s)})
    return ", ".join(n.replace(";", ", ") for n in names) or "none"


def write_suite_report(out: Path, result: SuiteResult, found: list[tuple[str, Path]]) -> Path:
    """Write `out/suite_report.md`: the tasks, per-task and aggregate ranks, the tests."""
    from nasbench_lite.compare.report import ALPHA, _p, _table, shared_places, shown_path

    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for (task, path), res in zip(found, result.results.values(), strict=True):
        ordered = res.summary.sort_values(["avg_rank", "regret_mean"], kind="stable")
        best = [
            f"`{r.strategy}`"
            for r, place in zip(
                ordered.itertuples(), shared_places(ordered["avg_rank"]), strict=True
            )
            if place == 1
        ]  # every strategy tied at the best average rank
        rows.append([task, f"`{shown_path(path)}`", _classes(res), str(res.budget),
                     f"{_pp(result.tolerances[task])} ({_tolerance_kind(res)})", _sources(res),
                     f"[report]({task}/report.md)", ", ".join(best)])  # fmt: skip
    shown = result.summary.sort_values(["avg_rank", "regret_mean"], kind="stable")
    ranks = [
        [
            f"`{r['strategy']}`",
            f"{r['avg_rank']:.2f}",
            f"{r['found_best']:.0%}",
            _pp(r["regret_mean"]) if result.column == "regret" else f"{r['regret_mean']:.4g}",
            *(f"{r[f'rank {t}']:.2f}" for t in result.tasks),
        ]  # fmt: skip
        for _, r in shown.iterrows()
    ]
    f = result.friedman
    friedman = (
        f"chi² = {f.statistic:.3f}, p = {_p(f.pvalue)}: "
        + ("reject" if f.pvalue < ALPHA else "cannot reject")
        + f" at α = {ALPHA}."
        if math.isfinite(f.pvalue)
        else f"n/a: {f.note}."
    )
    tests = [
        [
            f"`{r.strategy}`",
            f"{r.wins}/{r.ties}/{r.losses}",
            _pp(r.median_diff) if result.column == "regret" else f"{r.median_diff:.4f}",
            _p(r.pvalue) + (f" ({r.note})" if r.note else ""),
            _p(r.pvalue_holm),
            (("lower" if r.lower else "higher") + " regret (significant)")
            if r.pvalue_holm < ALPHA
            else "no significant difference",
        ]  # fmt: skip
        for r in result.wilcoxon.itertuples(index=False)
    ]
    blocks = len(result.tasks) * len(next(iter(result.results.values())).seeds)
    measure = "final regret"
    if result.column == "hv_regret":
        objectives = next(iter(result.results.values())).objectives.objectives
        measure = (f"final hypervolume regret (objectives {' '.join(map(str, objectives))}; each "
                   "task's own reference point, in its report; exact, no tolerance)")  # fmt: skip
    lines = [
        "# Strategy comparison across tasks",
        "",
        "Every task ran the same strategies and seeds under the same budget rule; each task's "
        "own report is in its folder. A block is one (task, seed) pair: strategies are ranked "
        f"within it by {measure}; two regrets within the task's tie tolerance of each other "
        "tie, pair by pair, as in the task's own report (the tolerance and where it comes "
        "from are in the table below).",
        "",
        *(f"**{line[0].upper()}{line[1:]}.**" for line in _partial_lines(result)),
        *([""] if _partial_lines(result) else []),
        "## Tasks",
        "",
        *_table(
            [
                "task",
                "table",
                "classes searched",
                "budget",
                "tolerance (pp)",
                "source tasks",
                "report",
                "best avg rank",
            ],
            rows,
        ),  # fmt: skip
        "",
        "## Ranking over all blocks",
        "",
        *_table(
            [
                "strategy",
                "avg rank",
                "found best",
                "mean regret (pp)" if result.column == "regret" else "mean HV regret",
                *(f"rank on {t}" for t in result.tasks),
            ],
            ranks,
        ),  # fmt: skip
        "",
        f"Average rank over the {blocks} blocks. *Found best*: share of blocks whose final "
        "regret is within the task's tolerance. Mean regret mixes tasks of different "
        "difficulty: read the ranks first.",
        "",
        "## Friedman test over blocks",
        "",
        friedman,
        "",
        f"## Wilcoxon signed-rank tests vs `{BASELINE}` over blocks (Holm-corrected)",
        "",
        *(
            _table(
                [
                    "strategy",
                    "wins/ties/losses",
                    "median diff" + (" (pp)" if result.column == "regret" else ""),
                    "p",
                    "p (Holm)",
                    "verdict",
                ],
                tests,
            )
            if tests
            else [f"n/a: `{BASELINE}` is not among the strategies."]
        ),  # fmt: skip
        "",
        f"Paired by block on {'final regret' if result.column == 'regret' else 'final HV regret'}"
        "; differences within the block's task tolerance are "
        "ties and are dropped (Wilcoxon's convention). Median diff: the strategy's regret "
        f"minus `{BASELINE}`'s, median over blocks, as measured (ties not set to 0); the "
        "verdict's direction is the one the test weighs (the signed ranks of lower against "
        "higher regrets).",
        "",
    ]
    path = out / REPORT_FILE
    path.write_text("\n".join(lines))
    return path
