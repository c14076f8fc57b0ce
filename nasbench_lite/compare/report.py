"""The ``report.md`` of a comparison: setup, ranking, significance tests and embedded plots.

Regret is shown in percentage points of test accuracy (``results.csv`` keeps fractions).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nasbench_lite.compare import statistics as stats
from nasbench_lite.compare.plots import REGRET_FLOOR
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.search.trajectory import INCUMBENT_RULE
from nasbench_lite.text import plural

ALPHA = 0.05
# Written beside results.csv: what `compare --report-only` needs to rebuild the report.
SETUP_FILE = "setup.json"
CAPTIONS = {
    "regret_vs_time": "Mean test regret over seeds vs simulated seconds (log-log), band: ± one "
    "standard error. Each run is a step function (the incumbent's regret holds until the next "
    "finished evaluation); a strategy's curve starts once every one of its seeds has an "
    "incumbent.",
    "regret_vs_evals": "Mean test regret over seeds vs finished evaluations (log-log), band: "
    "± one standard error. A strategy's curve ends at the fewest evaluations any of its seeds "
    "finished within the budget (cheap cells buy more evaluations than expensive ones).",
    "final_regret_ecdf": "Empirical CDF over seeds of final regret: a curve further up and to "
    "the left is better; its height at the far left is the share of seeds whose incumbent is "
    "the best cell exactly (regret 0; the ranking's *found best* counts those within the "
    "tolerance).",
}


def shown_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies inside it, else as given."""
    relative = os.path.relpath(path)
    return str(path) if relative.startswith("..") else relative


def _pp(value: float) -> str:
    """A regret fraction as percentage points, or n/a."""
    # (+ 0.0: a tiny negative difference shows as 0.000, not -0.000)
    return "n/a" if not math.isfinite(value) else f"{round(100 * value, 3) + 0.0:.3f}"


def _p(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.2e}" if value < 1e-3 else f"{value:.4f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def shared_places(avg_rank: pd.Series) -> list[int]:
    """Competition places of sorted average ranks: equal ranks share the place of the first
    (1, 1, 3, ...), so a tie is never shown as a win."""
    values = np.round(avg_rank.to_numpy(np.float64), 9)
    return [1 + int(np.sum(values < v)) for v in values]


def ranking_section(summary: pd.DataFrame, tolerance: float = 0.0) -> list[str]:
    """Markdown lines of the ranking table, best average rank first."""
    ordered = summary.sort_values(["avg_rank", "regret_mean"], kind="stable")
    rows = [
        [
            place,
            f"`{r.strategy}`",
            f"{_pp(r.regret_mean)} ± {_pp(r.regret_sem)}",
            _pp(r.regret_median),
            f"{r.found_best:.0%}",
            f"{r.avg_rank:.2f}",
            f"{r.evals_mean:.1f}",
            "n/a" if np.isnan(r.strategy_ms) else f"{r.strategy_ms:.2f}",
        ]
        for place, r in zip(
            shared_places(ordered["avg_rank"]), ordered.itertuples(index=False), strict=True
        )  # fmt: skip
    ]
    header = [
        "#",
        "strategy",
        "final regret (pp), mean ± s.e.",
        "median (pp)",
        "found best",
        "avg rank",
        "final evals (mean)",
        "strategy ms / eval",
    ]
    return [
        "## Ranking",
        "",
        *_table(header, rows),
        "",
        "Final regret is the test regret of each run's incumbent when the budget ran out, in "
        "percentage points (pp) of test accuracy. Average rank: strategies are ranked on every "
        "seed by final regret (1 = lowest, ties share the average rank), then averaged over "
        f"seeds{ties_clause(tolerance)}; strategies of equal average rank share a place "
        f"(#) and are listed by mean final regret. *Found best*: share of seeds whose final "
        f"regret is {found_clause(tolerance)}. *Strategy ms / "
        "eval*: the strategy's own measured compute (init, ask and tell) per evaluation, mean "
        "over seeds, on this machine; not part of the simulated clock unless "
        "`--charge-overhead` (n/a: not recorded).",
        "",
    ]


def ties_clause(tolerance: float) -> str:
    """How the report ties final regrets, as a clause of a sentence."""
    if tolerance <= 0:
        return ""
    return (
        f"; two regrets within {_pp(tolerance)} pp of each other tie, pair by pair (the "
        "tolerance in the setup table: below it the table cannot tell two cells apart): a "
        "strategy's rank on a seed is 1 + the number of regrets lower than its own by more "
        "than the tolerance + half the number within it, as the Wilcoxon tests below count "
        "ties"
    )


def found_clause(tolerance: float) -> str:
    return "exactly 0" if tolerance <= 0 else f"at most {_pp(tolerance)} pp (the tolerance)"


def friedman_section(result: stats.FriedmanResult, n_strategies: int, n_seeds: int) -> list[str]:
    """Markdown lines for the Friedman test."""
    lines = [
        "## Friedman test",
        "",
        f"Null hypothesis: all {n_strategies} strategies have the same distribution of final "
        f"regret; blocks are the {n_seeds} seeds.",
        "",
    ]
    if not math.isfinite(result.pvalue):
        return [*lines, f"n/a: {result.note}.", ""]
    verdict = "reject" if result.pvalue < ALPHA else "cannot reject"
    return [
        *lines,
        f"chi² = {result.statistic:.3f}, p = {_p(result.pvalue)}: {verdict} at α = {ALPHA}.",
        "",
    ]


def wilcoxon_section(
    matrix: np.ndarray, strategies: list[str], baseline: str, tolerance: float = 0.0
) -> list[str]:
    """Markdown lines for the Wilcoxon tests of each strategy against ``baseline``."""
    lines = [f"## Wilcoxon signed-rank tests vs `{baseline}` (Holm-corrected)", ""]
    if baseline not in strategies:
        return [*lines, f"n/a: `{baseline}` is not among the compared strategies.", ""]
    if len(strategies) < 2:
        return [*lines, "n/a: no other strategy to compare.", ""]
    table = stats.wilcoxon_vs_baseline(matrix, strategies, baseline, tolerance)
    rows = []
    for r in table.itertuples(index=False):
        significant = r.pvalue_holm < ALPHA
        # The direction the test weighs: the signed ranks of lower against higher regrets.
        verdict = ("lower" if r.lower else "higher") + " regret (significant)"
        rows.append(
            [
                f"`{r.strategy}`",
                f"{r.wins}/{r.ties}/{r.losses}",
                _pp(r.median_diff),
                _p(r.pvalue) + (f" ({r.note})" if r.note else ""),
                _p(r.pvalue_holm),
                verdict if significant else "no significant difference",
            ]
        )
    header = ["strategy", "wins/ties/losses", "median diff (pp)", "p", "p (Holm)", "verdict"]
    return [
        *lines,
        *_table(header, rows),
        "",
        f"Paired by seed on final regret. Wins: seeds where the strategy ended with lower "
        f"regret than `{baseline}`"
        + (
            f" by more than the tolerance ({_pp(tolerance)} pp; smaller differences are ties)"
            if tolerance > 0
            else ""
        )
        + f". Median diff: the strategy's regret minus `{baseline}`'s, median over seeds, as "
        f"measured (ties not set to 0). Zero differences are dropped (Wilcoxon's convention); when "
        f"every difference is zero the test is undefined and p = 1 is reported. Holm's "
        f"step-down correction controls the family-wise error over the {len(table)} tests at "
        f"α = {ALPHA}.",
        "",
    ]


def plots_section(plots: Mapping[str, Sequence[Path]], out_dir: Path) -> list[str]:
    """Markdown lines embedding each PNG (relative path) with a link to its SVG."""
    lines = ["## Plots", ""]
    for name, paths in plots.items():
        rel = {p.suffix.lstrip("."): Path(p).relative_to(out_dir).as_posix() for p in paths}
        lines += [f"![{name}]({rel['png']})", ""]
        caption = CAPTIONS.get(name, name)
        lines += [f"*{caption}* Vector version: [{rel['svg']}]({rel['svg']}).", ""]
    lines += [
        f"Regret is often exactly 0 (the incumbent is the best cell), which a log axis cannot "
        f"show: every regret in these plots is drawn as regret + {REGRET_FLOOR:g}, so a curve "
        f"lying on {REGRET_FLOOR:g} means regret 0. Tables and `results.csv` are not shifted.",
        "",
    ]
    return lines


def library_versions() -> dict[str, str]:
    """Python and the versions of the libraries a comparison depends on (no imports)."""
    from nasbench_lite.table.storage import library_versions as versions_of

    return versions_of(("nasbench-lite", "numpy", "scipy", "pandas", "matplotlib"))


def describe_run(
    command: str, plan: Any, table: Any, jobs: int, wall_seconds: float
) -> dict[str, str]:
    """Rows of the report's setup table.

    plan: the comparison as run (a `compare.config.Plan`); table: the opened Table whose
    attrs describe it.
    """
    from nasbench_lite.table.card import dataset_line

    rows = {"command (every option explicit)": f"`{command}`", **library_versions()}
    entry = plan.entry
    rows["backend"] = f"{plan.backend} ({entry.summary})"
    if entry.options:
        rows["backend options"] = ", ".join(f"{name} {plan.option(name)}" for name in entry.options)
    attrs = table.attrs
    source = shown_path(getattr(table, "source", plan.table))
    rows["table"] = (
        f"`{source}`: space {attrs.get('space')}, dataset "
        f"{attrs.get('dataset')}, preset {attrs.get('preset')}, seeds "
        f"{[int(s) for s in table.seeds]}, epochs {table.num_epochs}, "
        f"{int(np.sum(table.done))} trained classes"
    )
    rows["dataset"] = dataset_line(table)
    if plan.data_dir is not None:
        rows["dataset"] += f"; data_dir `{plan.data_dir}`"
    budget, rule, seeds = plan.budget, plan.budget_rule, plan.seeds
    parts = [f"{budget.seconds:g} simulated seconds"] if budget.seconds else []
    parts += [f"{budget.evals} evaluations"] if budget.evals else []
    parts += [f"{budget.epochs} training epochs"] if budget.epochs else []
    rows["budget"] = f"{' and '.join(parts)} ({rule})"
    rows["incumbent"] = INCUMBENT_RULE
    if plan.regret_source:
        rows["regret measured against"] = plan.regret_source
    rows["ties"] = (
        f"final regrets within {_pp(plan.tolerance)} pp tie: {plan.tolerance_rule}"
        if plan.tolerance > 0
        else plan.tolerance_rule
    )
    rows["workers"] = f"{plural(plan.workers, 'simulated worker')} per run"
    rows["seeds"] = f"{seeds} (0..{seeds - 1}), the same for every strategy"
    rows["strategies"] = ", ".join(f"`{s}`" for s in plan.labels)
    external = plan.external
    rows["strategies from other packages"] = (
        ", ".join(f"`{name}` ({dist})" for name, dist in external.items()) or "none"
    )
    sources = getattr(plan, "sources", None)
    if sources is not None:
        users = [
            f"`{label}`"
            for strategy, label in zip(plan.strategies, plan.labels, strict=True)
            if getattr(get_strategy(strategy), "uses_sources", False)
        ]
        rows["source tasks"] = (
            f"{', '.join(sources.names)}: their validation results (never test metrics, "
            f"never the target's table) are read by {', '.join(users) or 'no strategy compared'}"
        )
    skipped = plan.skipped
    if skipped:
        rows["skipped (failed to load)"] = "; ".join(
            f"`{name}`: {reason}" for name, reason in skipped.items()
        )
    rows["strategy overhead"] = (
        "measured ask/tell time added to the simulated clock"
        if plan.charge_overhead
        else "not charged: simulated time is training time only, so runs are reproducible"
    )
    rows["processes"] = f"{jobs} (results do not depend on it)"
    rows["wall time"] = f"{wall_seconds:.1f} s for the runs"
    return rows


def write_report(
    out_dir: str | Path,
    frame: pd.DataFrame,
    setup: Mapping[str, str],
    plots: Mapping[str, Sequence[Path]],
    baseline: str = "random_search",
    notice: str | None = None,
    tolerance: float = 0.0,
) -> Path:
    """Write ``out_dir/report.md`` from a results frame; returns its path.

    setup: ordered {label: value} rows describing the run (command, versions, budget, ...).
    plots: {plot name: [png path, svg path]} as returned by ``plots.plot_all``.
    notice: a sentence shown first, in bold, e.g. that the table holds only some classes.
    tolerance: final regret differences up to it are ties (ranks, tests, found best).
    """
    out_dir = Path(out_dir)
    strategies, seeds, matrix = stats.final_matrix(frame)
    summary = stats.summarise(frame, strategies, tolerance)
    lines = ["# Strategy comparison", ""]
    if notice:
        lines += [f"**Partial table: {notice}.**", ""]
    lines += [
        "Regret at time t = best mean test accuracy in the searched space (for a partial "
        "table: over the cells it holds) minus the mean test accuracy of the incumbent (the "
        "cell with the best validation accuracy seen so far). Strategies see validation "
        "accuracy only; test accuracy is recorded for this report.",
        "",
        "## Setup",
        "",
        *_table(["setting", "value"], [[k, v] for k, v in setup.items()]),
        "",
        *ranking_section(summary, tolerance),
        *friedman_section(stats.friedman(matrix, tolerance), len(strategies), len(seeds)),
        *wilcoxon_section(matrix, strategies, baseline, tolerance),
        *plots_section(plots, out_dir),
    ]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def write_setup(
    out_dir: str | Path,
    setup: Mapping[str, str],
    budget: Any,
    budget_rule: str,
    baseline: str,
    notice: str | None,
    tolerance: float = 0.0,
    objectives: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``out_dir/setup.json``: the setup rows, the budget (a `runner.Budget`: seconds and
    evals), its rule, the baseline, the notice, the tie tolerance and the objectives (their
    `ObjectivePlan.record`, where given), for a report rebuilt later."""
    path = Path(out_dir) / SETUP_FILE
    record = {
        "setup": dict(setup),
        "budget": {"seconds": budget.seconds, "evals": budget.evals, "epochs": budget.epochs},
        "budget_rule": budget_rule,
        "baseline": baseline,
        "notice": notice,
        "tolerance": tolerance,
    }
    if objectives is not None:
        record["objectives"] = dict(objectives)
    path.write_text(json.dumps(record, indent=1) + "\n")
    return path


def read_setup(out_dir: str | Path) -> dict[str, Any]:
    """What `write_setup` wrote into `out_dir`, or {} when the folder has no setup.json.
    Raises ValueError naming the file when it is not such a record."""
    path = Path(out_dir) / SETUP_FILE
    if not path.is_file():
        return {}
    try:
        record = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not valid JSON ({err})") from None
    if not isinstance(record, dict) or not isinstance(record.get("setup", {}), dict):
        raise ValueError(f"{path} is not a compare setup record (a JSON object with 'setup')")
    return record
