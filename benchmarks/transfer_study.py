"""Transfer across tasks, measured: each transfer strategy against its non-transfer
counterpart on every target task, the other tasks as its sources (docs/transfer.md).

    python benchmarks/transfer_study.py --tasks mnist1d mnist1d_v2 mnist1d_short_warped \\
        --seeds 100 --evals 100 1000 --json docs/transfer_study/transfer.json \
        --markdown docs/transfer_study/transfer.md

For every target task: one comparison (`nasbench_lite.compare.compare`, tabular lookups, one
worker) of the transfer strategies and their counterparts (random search, regularized
evolution, REINFORCE) for `--seeds` seeds at the largest budget of `--evals` evaluations,
with the other tasks of `--tasks` as sources (leave one task out). A smaller budget reads the
same runs after its first N evaluations: with one worker a run's first N evaluations do not
depend on its budget (no strategy here is told the budget), so they are exactly the runs a
budget of N evaluations gives. Per (target, budget): final regret of each strategy (mean
and its standard error over seeds, and the share of seeds within the target's noise floor
of its best cell), the paired difference to the counterpart (mean and s.e.), and for each
transfer strategy the paired Wilcoxon signed-rank test against its counterpart (final
regrets within the target's noise floor count as ties), Holm-corrected over the four
transfer strategies of that target and budget. Also printed: how each target's seed-mean
final test accuracies agree with each source's (the suite card's Spearman over common
classes, all and within the target's top 10%), and the measured process CPU seconds of
Reptile's meta-training per run (not charged to the simulated clock).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from nasbench_lite.compare import CompareConfig, compare
from nasbench_lite.compare import statistics as stats
from nasbench_lite.search.registry import get_strategy
from nasbench_lite.table.reader import Table
from nasbench_lite.table.shipped import task_tables
from nasbench_lite.table.suite_card import final_means, pair_figures

TRANSFER = ("zero_shot_transfer", "bounding_box", "regularized_evolution_transfer",
            "reptile_reinforce")  # fmt: skip


def counterparts() -> dict[str, str]:
    return {name: get_strategy(name).counterpart for name in TRANSFER}


def at_evals(results: pd.DataFrame, evals: int) -> pd.DataFrame:
    """The runs' rows up to their `evals`-th evaluation."""
    return results[results["evals"] <= evals]


def _se_pp(values: np.ndarray) -> float:
    """The standard error of the mean of `values` (fractions), in percentage points."""
    n = len(values)
    return 100 * float(values.std(ddof=1) / np.sqrt(n)) if n > 1 else float("nan")


def paired_tests(frame: pd.DataFrame, tolerance: float) -> pd.DataFrame:
    """Per transfer strategy: means, wins/ties/losses against its counterpart and the
    Wilcoxon p-value, Holm-corrected over the transfer strategies."""
    pairs = counterparts()
    names = list(dict.fromkeys([*pairs, *pairs.values()]))
    names, _, matrix = stats.final_matrix(frame, names)
    column = {name: j for j, name in enumerate(names)}
    rows = []
    for name, base in pairs.items():
        sub = matrix[:, [column[base], column[name]]]
        test = stats.wilcoxon_vs_baseline(sub, [base, name], base, tolerance).iloc[0]
        diff = sub[:, 1] - sub[:, 0]
        rows.append({
            "strategy": name, "counterpart": base,
            "regret_pp": 100 * float(sub[:, 1].mean()), "regret_se_pp": _se_pp(sub[:, 1]),
            "counterpart_regret_pp": 100 * float(sub[:, 0].mean()),
            "counterpart_regret_se_pp": _se_pp(sub[:, 0]),
            "diff_pp": 100 * float(diff.mean()), "diff_se_pp": _se_pp(diff),
            "found_best": float(np.mean(sub[:, 1] <= tolerance)),
            "counterpart_found_best": float(np.mean(sub[:, 0] <= tolerance)),
            "wins": int(test["wins"]), "ties": int(test["ties"]), "losses": int(test["losses"]),
            "pvalue": float(test["pvalue"]),
        })  # fmt: skip
    out = pd.DataFrame(rows)
    out["pvalue_holm"] = stats.holm(out["pvalue"].to_numpy())
    return out


def correlations(found: list[tuple[str, Path]]) -> dict[str, dict[str, dict]]:
    """target -> source -> the suite card's pair figures (seed-mean final test accuracy)."""
    means = {label: final_means(Table.open(path)) for label, path in found}
    return {a: {b: pair_figures(means[a], means[b]) for b in means if b != a} for a in means}


def meta_training_seconds(found, target: str, runs: int = 3) -> float:
    """Mean process CPU seconds of one default Reptile meta-training on `target`'s sources."""
    from nasbench_lite.search.sources import SourceTasks

    path = dict(found)[target]
    table = Table.open(path)
    sources = SourceTasks.build([(lab, p) for lab, p in found if lab != target], table, path)
    strategy = get_strategy("reptile_reinforce")(table.space, sources=sources)
    seconds = []
    for seed in range(runs):
        strategy.meta_train(np.random.default_rng(seed))
        seconds.append(strategy.meta_training["seconds"])
    return float(np.mean(seconds))


def _pm(mean: float, se: float) -> str:
    """ "m.mm ± s.ss" (just the mean when the error is not known)."""
    return f"{mean:.2f} ± {se:.2f}" if np.isfinite(se) else f"{mean:.2f}"


def markdown(figures: dict) -> list[str]:
    lines = [f"Measured {figures.get('date', '(date not recorded)')}: `{figures['command']}`; "
             "regret in percentage points, mean ± standard error over seeds; difference: the "
             "transfer strategy's regret less its counterpart's on the same seed.", ""]  # fmt: skip
    for target, block in figures["targets"].items():
        coverage = block["classes"]
        held = block.get("source_classes", {})
        sources = ", ".join(f"{s} ({held[s]:,} classes)" if s in held else s
                            for s in block["sources"])  # fmt: skip
        lines += [f"### Target {target} ({coverage:,} classes; sources: {sources}; ties "
                  f"within {block['tolerance_pp']:.2f} pp)", ""]  # fmt: skip
        lines += ["| evaluations | strategy | regret (pp) | counterpart | its regret (pp) | "
                  "difference (pp) | found best / counterpart | wins / ties / losses | "
                  "p (Holm) |", "|---:|---|---:|---|---:|---:|---:|---:|---:|"]  # fmt: skip
        for evals, rows in block["budgets"].items():
            for r in rows:
                nan = float("nan")
                regret = _pm(r["regret_pp"], r.get("regret_se_pp", nan))
                theirs = _pm(r["counterpart_regret_pp"], r.get("counterpart_regret_se_pp", nan))
                diff = _pm(r.get("diff_pp", nan), r.get("diff_se_pp", nan))
                lines.append(
                    f"| {evals} | `{r['strategy']}` | {regret} | `{r['counterpart']}` | {theirs} "
                    f"| {diff} | {r['found_best']:.0%} / {r['counterpart_found_best']:.0%} | "
                    f"{r['wins']} / {r['ties']} / {r['losses']} | {r['pvalue_holm']:.3g} |"
                )
        corr = block["correlation"]
        agreement = "; ".join(
            f"{s}: Spearman {c.get('spearman_all', float('nan')):+.3f} over {c['classes']:,} "
            f"classes, {c.get('spearman_top', float('nan')):+.3f} within the target's top 10%"
            for s, c in corr.items()
        )
        lines += ["", "Agreement with each source (seed-mean final test accuracy, common "
                  "classes): " + agreement, ""]  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", nargs="+", default=["mnist1d", "mnist1d_v2",
                        "mnist1d_short_warped"])  # fmt: skip
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--evals", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", default=None)
    args = parser.parse_args()
    found = task_tables(args.tasks)
    strategies = tuple(dict.fromkeys([*TRANSFER, *counterparts().values()]))
    figures = {"command": "python benchmarks/transfer_study.py " + " ".join(
        ["--tasks", *args.tasks, "--seeds", str(args.seeds), "--evals", *map(str, args.evals)]),
        "date": time.strftime("%Y-%m-%d"), "targets": {}}  # fmt: skip
    agreement = correlations(found)
    for label, path in found:
        started = time.perf_counter()
        sources = tuple((other, p) for other, p in found if other != label)
        config = CompareConfig(table=str(path), strategies=strategies, seeds=args.seeds,
                               budget=f"{max(args.evals)}evals", out=None, jobs=args.jobs,
                               sources=sources)  # fmt: skip
        result = compare(config)
        table = Table.open(path)
        block = {
            "classes": int(table.done.sum()),
            "sources": [s for s, _ in sources],
            "source_classes": {s: int(Table.open(p).done.sum()) for s, p in sources},
            "tolerance_pp": 100 * result.tolerance,
            "budgets": {},
            "correlation": agreement[label],
            "reptile_meta_training_cpu_seconds": meta_training_seconds(found, label),
            "wall_seconds": 0.0,
        }
        for evals in sorted(args.evals):
            tests = paired_tests(at_evals(result.results, evals), result.tolerance)
            block["budgets"][str(evals)] = tests.to_dict("records")
            print(f"\n{label}, {evals} evaluations (ties within {100 * result.tolerance:.2f} pp):")
            print(tests.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        block["wall_seconds"] = time.perf_counter() - started
        print(f"{label}: Reptile meta-training {block['reptile_meta_training_cpu_seconds']:.2f} "
              f"CPU s per run; study wall {block['wall_seconds']:.0f} s")  # fmt: skip
        figures["targets"][label] = block
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(markdown(figures)) + "\n")


if __name__ == "__main__":
    main()
