"""The ``report.md`` of a multi-objective comparison: setup, the objectives and reference
point, the ranking on final hypervolume regret, Friedman and Holm-corrected Wilcoxon tests,
and the plots (docs/multi_objective.md).

The statistics are those of the single-objective report (`compare.statistics`) on the
hv_regret column, with exact comparisons (no noise-floor ties).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_lite.compare import statistics as stats
from nasbench_lite.compare.objectives import ObjectivePlan
from nasbench_lite.compare.pareto import REFERENCE_MARGIN
from nasbench_lite.compare.pareto_plots import HV_FLOOR
from nasbench_lite.compare.report import ALPHA, _p, _table

INSTALL = "pip install 'nasbench-lite[multiobjective]'"
CAPTIONS = {
    "hv_regret_vs_time": "Mean hypervolume regret over seeds vs simulated seconds (log-log), "
    "band: ± one standard error. Each run's attained front grows as its evaluations finish; "
    f"drawn as HV regret + {HV_FLOOR:g}.",
    "median_fronts": "Each strategy's median attained front at the end of the budget (the "
    "points at least half of its seeds attain: the 50% empirical attainment surface), beside "
    "the table's true Pareto front (grey).",
}


def _number(value: float) -> str:
    return "n/a" if not math.isfinite(value) else f"{value:.4g}"


def objective_rows(plan: ObjectivePlan) -> dict[str, str]:
    """Rows of the setup table describing the objectives, constraints and reference point."""
    rows = {"objectives": ", ".join(f"`{o}`" for o in plan.objectives)}
    if plan.constraints:
        rows["constraints"] = ", ".join(f"`{c}`" for c in plan.constraints) + (
            " (feasibility by the cell's seed-mean value)"
        )
        if plan.best_feasible is not None:
            rows["regret measured against"] = (
                f"the best feasible cell: seed-mean test accuracy {100 * plan.best_feasible:.2f}%"
            )
    ref = plan.reference
    if ref is None:
        return rows
    rows["objectives measured by"] = ", ".join(
        f"`{o.name}` by the cell's seed-mean `{m}`"
        for o, m in zip(ref.objectives, ref.measured, strict=True)
    )
    rows["normalisation"] = (
        ", ".join(
            f"`{m}` 0 at {_number(b)}, 1 at {_number(w)}"
            for m, b, w in zip(ref.measured, ref.best, ref.worst, strict=True)
        )
        + " (best and worst over the table's feasible trained classes)"
    )
    point = ", ".join(
        f"{m} = {_number(v)}" for m, v in zip(ref.measured, ref.reference_in_units, strict=True)
    )
    rows["reference point"] = (
        f"{point} (worst + {REFERENCE_MARGIN:g} x (worst - best) in each objective; "
        f"{1 + REFERENCE_MARGIN:g} normalised), fixed by the table and objectives"
    )
    rows["true front"] = (
        f"{len(ref.front)} non-dominated classes, hypervolume {ref.true_hv:.4f} (normalised)"
    )
    rows["hypervolume"] = f"moocore (the `multiobjective` extra: `{INSTALL}`)"
    return rows


def ranking_section(frame: pd.DataFrame, strategies: list[str]) -> list[str]:
    summary = stats.summarise(frame, strategies, 0.0, column="hv_regret")
    _, _, hv = stats.final_matrix(frame, strategies, column="hv")
    summary["hv_mean"] = hv.mean(axis=0)
    ordered = summary.sort_values(["avg_rank", "regret_mean"], kind="stable")
    rows = [
        [
            place,
            f"`{r.strategy}`",
            f"{r.regret_mean:.4f} ± {r.regret_sem:.4f}",
            f"{r.regret_median:.4f}",
            f"{r.hv_mean:.4f}",
            f"{r.avg_rank:.2f}",
            f"{r.evals_mean:.1f}",
        ]
        for place, r in enumerate(ordered.itertuples(index=False), start=1)
    ]
    header = [
        "#",
        "strategy",
        "final HV regret, mean ± s.e.",
        "median",
        "final HV (mean)",
        "avg rank",
        "final evals (mean)",
    ]
    return [
        "## Ranking",
        "",
        *_table(header, rows),
        "",
        "Final HV regret: the true front's hypervolume minus that of the run's attained front "
        "when the budget ran out (normalised objectives; 0 = the whole true front attained). "
        "Average rank: strategies ranked on every seed by final HV regret (1 = lowest, exact "
        "ties share the average rank), averaged over seeds.",
        "",
    ]


def tests_section(frame: pd.DataFrame, strategies: list[str], baseline: str) -> list[str]:
    """Friedman over all strategies and Wilcoxon-Holm against the baseline, on final HV
    regret."""
    _, seeds, matrix = stats.final_matrix(frame, strategies, column="hv_regret")
    result = stats.friedman(matrix)
    lines = [
        "## Friedman test",
        "",
        f"Null hypothesis: all {len(strategies)} strategies have "
        f"the same distribution of final HV regret; blocks are the {len(seeds)} seeds.",
        "",
    ]
    if math.isfinite(result.pvalue):
        verdict = "reject" if result.pvalue < ALPHA else "cannot reject"
        lines += [
            f"chi² = {result.statistic:.3f}, p = {_p(result.pvalue)}: {verdict} at α = {ALPHA}.",
            "",
        ]
    else:
        lines += [f"n/a: {result.note}.", ""]
    lines += [f"## Wilcoxon signed-rank tests vs `{baseline}` (Holm-corrected)", ""]
    if baseline not in strategies or len(strategies) < 2:
        return [*lines, f"n/a: `{baseline}` and another strategy are needed.", ""]
    rows = []
    for r in stats.wilcoxon_vs_baseline(matrix, strategies, baseline).itertuples(index=False):
        verdict = ("lower" if r.lower else "higher") + " HV regret (significant)"
        rows.append(
            [
                f"`{r.strategy}`",
                f"{r.wins}/{r.ties}/{r.losses}",
                f"{r.median_diff:.4f}",
                _p(r.pvalue) + (f" ({r.note})" if r.note else ""),
                _p(r.pvalue_holm),
                verdict if r.pvalue_holm < ALPHA else "no significant difference",
            ]
        )
    header = ["strategy", "wins/ties/losses", "median diff", "p", "p (Holm)", "verdict"]
    return [
        *lines,
        *_table(header, rows),
        "",
        "Paired by seed on final HV regret; zero "
        "differences are dropped (Wilcoxon's convention); Holm's step-down correction "
        f"controls the family-wise error at α = {ALPHA}.",
        "",
    ]


def write_pareto_report(
    out_dir: str | Path,
    frame: pd.DataFrame,
    setup: Mapping[str, str],
    plots: Mapping[str, Sequence[Path]],
    plan: ObjectivePlan,
    baseline: str = "random_search",
) -> Path:
    """Write ``out_dir/report.md`` of a multi-objective comparison; returns its path."""
    out_dir = Path(out_dir)
    strategies = stats.strategy_order(frame)
    lines = [
        "# Multi-objective strategy comparison",
        "",
        "Each run's attained front is the set of non-dominated cells among those it evaluated "
        "(feasible ones only, under a constraint), every objective measured by the cell's "
        "seed-mean value from the table (a validation objective on the test split, as regret "
        "uses test accuracy); strategies see validation metrics only. Its hypervolume is "
        "measured against a reference point fixed by the table and the objectives, and HV "
        "regret against the table's true Pareto front.",
        "",
        "## Setup",
        "",
        *_table(["setting", "value"], [[k, v] for k, v in setup.items()]),
        "",
        *ranking_section(frame, strategies),
        *tests_section(frame, strategies, baseline),
        "## Plots",
        "",
    ]
    for name, paths in plots.items():
        rel = {p.suffix.lstrip("."): Path(p).relative_to(out_dir).as_posix() for p in paths}
        lines += [
            f"![{name}]({rel['png']})",
            "",
            f"*{CAPTIONS.get(name, name)}* Vector version: [{rel['svg']}]({rel['svg']}).",
            "",
        ]
    path = out_dir / "report.md"
    path.write_text("\n".join(lines))
    return path


def hv_ranking_lines(summary: pd.DataFrame) -> list[str]:
    """The console ranking of a multi-objective comparison (`summary` on hv_regret)."""
    shown = summary.sort_values(["avg_rank", "regret_mean"], kind="stable")
    lines = [
        "sorted by average rank over seeds (1 = best); final HV regret = the true front's "
        "hypervolume minus the attained front's (normalised objectives), mean ± standard "
        "error over seeds"
    ]
    lines.append(f"{'strategy':<28} {'final HV regret':>20} {'avg rank':>9}")
    for row in shown.itertuples(index=False):
        sem = "n/a" if np.isnan(row.regret_sem) else f"{row.regret_sem:.4f}"
        lines.append(
            f"{row.strategy:<28} {f'{row.regret_mean:.4f} ± {sem}':>20} {row.avg_rank:>9.2f}"
        )
    return lines
