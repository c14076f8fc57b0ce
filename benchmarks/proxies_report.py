"""How well each zero-cost proxy of a table ranks its classes, written into docs/proxies.md.

    python benchmarks/proxies_report.py TABLE                 # the table must hold proxies
    python benchmarks/proxies_report.py TABLE --out docs/proxies.md
    python benchmarks/proxies_report.py --tasks all --out docs/proxies.md   # across tasks

`nasbench-lite proxies --table TABLE` computes the proxies into the table first. This script
reads the table only: for each proxy (seed mean; params and flops per class) Spearman's rho and
Kendall's tau with the seed-mean final validation accuracy over every class and within the
top 10% by accuracy, its seed-to-seed stability (the mean Spearman between two init seeds),
the measured cost per cell, Abdelfattah et al.'s vote (rank-sum of synflow, jacov and snip)
and the anchors' NB-201 CIFAR-10 figures beside ours. It replaces the text between the
report markers of --out (or prints the section without --out).

With --tasks (suite task names, `all`, or table files, as `compare --tasks`) it writes the
section between the "across tasks" markers instead: each proxy's Spearman over all classes and
within the top 10% on every task, side by side, and the proxy's rank by Spearman on each task,
so a proxy that is good on one task only shows as such.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

START, END = "<!-- proxies report: start -->", "<!-- proxies report: end -->"
TASKS_START, TASKS_END = (
    "<!-- proxies across tasks: start -->",
    "<!-- proxies across tasks: end -->",
)
# NB-201 CIFAR-10 Spearman over all cells / within the top 10% (NAS-Bench-Suite-Zero,
# White et al., NeurIPS 2022; docs/proxies.md).
ANCHORS = {
    "jacov": (0.82, 0.15), "nwot": (0.79, -0.20), "epe_nas": (0.79, 0.02),
    "params": (0.75, 0.01), "synflow": (0.73, 0.19), "snip": (0.55, -0.34),
    "grad_norm": (0.55, -0.34), "grasp": (0.49, -0.33), "fisher": (0.50, -0.40),
    "zen": (0.10, 0.34),
}  # fmt: skip


def _f(value: float) -> str:
    return "n/a" if value != value else f"{value:.3f}"


def report(table) -> str:
    """The report section (markdown) for an open table that holds proxies."""
    from nasbench_lite.table.proxy_stats import failed_line, proxy_statistics

    stats = proxy_statistics(table)
    if not stats:
        raise SystemExit(f"{table.source} holds no proxies: run nasbench-lite proxies first")
    record = table.attrs["proxies"]
    done = int(table.arrays["proxies/done"].sum())
    pairs = done * table.num_seeds
    lines = [
        START, "",
        f"Table `{Path(table.source).name}` ({table.attrs['space']}/{table.attrs['dataset']}, "
        f"preset `{table.attrs.get('preset')}`): {done:,} classes x {table.num_seeds} seeds, "
        f"compared over the {next(iter(stats.values()))['classes']:,} classes with a finite "
        "seed-mean final validation accuracy; top 10% = the classes at or above its 90th "
        "percentile.", "",
        f"Cost of computing all eleven network proxies: {record['seconds']:.0f} s wall, "
        f"{record['cpu_seconds']:.0f} s process CPU ({record['cpu_seconds'] / pairs * 1e3:.1f} ms "
        f"per (class, seed) pair, {record['cpu_seconds'] / done * 1e3:.1f} ms per class for "
        f"all seeds), plus {record['compile_seconds']:.0f} s compiling, on "
        f"{table.attrs.get('hardware', {}).get('cpu_count', '?')} CPU cores "
        f"(`{record.get('command', '')}`).", "",
        "| proxy | Spearman | Kendall | top-10% Spearman | top-10% Kendall | seed stability "
        "| NB-201 C10 Spearman (anchor) | NB-201 top-10% (anchor) |",
        "|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    order = sorted(stats, key=lambda n: -abs(stats[n]["spearman"]) if n != "vote" else 1)
    for name in order:
        s = stats[name]
        anchor = ANCHORS.get(name, (float("nan"), float("nan")))
        label = {"vote": "vote (synflow+jacov+snip)", "params": "params (baseline)"}.get(name, name)
        cells = [s["spearman"], s["kendall"], s["top_spearman"], s["top_kendall"],
                 s["seed_spearman"], *anchor]  # fmt: skip
        lines.append(f"| {label} | " + " | ".join(_f(v) for v in cells) + " |")
    lines += ["", failed_line(stats), "",
              "Regenerate: `python benchmarks/proxies_report.py TABLE --out docs/proxies.md`.",
              "", END]  # fmt: skip
    return "\n".join(lines)


def tasks_report(tables: list[tuple[str, object]]) -> str:
    """The across-tasks section (markdown) for (label, open table) pairs that hold proxies."""
    from nasbench_lite.table.proxy_stats import failed_counts, proxy_statistics

    stats = {label: proxy_statistics(table) for label, table in tables}
    empty = [label for label, s in stats.items() if not s]
    if empty:
        raise SystemExit(f"{', '.join(empty)}: no proxies in the table; run nasbench-lite proxies")
    names = [n for n in next(iter(stats.values())) if all(n in s for s in stats.values())]
    rank = {  # task -> proxy -> rank by Spearman over all classes (1 = best; ties share)
        label: {n: 1 + sum(s[o]["spearman"] > s[n]["spearman"] for o in names) for n in names}
        for label, s in stats.items()
    }
    mean = {n: sum(s[n]["spearman"] for s in stats.values()) / len(stats) for n in names}
    lines = [TASKS_START, "", "Tables:", ""]
    for label, table in tables:
        done = int(table.arrays["proxies/done"].sum())
        trained, failed = int(table.done.sum()), failed_counts(stats[label])
        lines.append(
            f"- `{label}`: `{Path(table.source).name}`, {trained:,} of {table.num_rows:,} classes "
            f"trained, {done:,} with proxies; compared over "
            f"{stats[label][names[0]]['classes']:,} classes"
            + (f"; failed at an init seed, ranked last: {failed}" if failed else "")
        )
    labels = list(stats)
    lines += [
        "",
        "Spearman with the seed-mean final validation accuracy, over all classes / within the "
        "top 10% by accuracy; the last column is the proxy's rank by Spearman over all classes "
        f"on each task ({', '.join(labels)}), among the {len(names)} rows (tied rows share the "
        "better rank). Sorted by the mean "
        "Spearman over the tasks.",
        "",
        "| proxy | " + " | ".join(f"{label}" for label in labels) + " | rank on each task |",
        "|---|" + "---|" * len(labels) + "---|",
    ]
    for name in sorted(names, key=lambda n: -mean[n]):
        cells = [f"{stats[lb][name]['spearman']:+.3f} / {stats[lb][name]['top_spearman']:+.3f}"
                 for lb in labels]  # fmt: skip
        ranks = ", ".join(str(rank[lb][name]) for lb in labels)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {ranks} |")
    lines += ["", "Regenerate: `python benchmarks/proxies_report.py --tasks "
              + " ".join(labels) + " --out docs/proxies.md`.", "", TASKS_END]  # fmt: skip
    return "\n".join(lines)


def _write(out: Path, section: str, start: str, end: str) -> None:
    text = out.read_text() if out.exists() else f"{start}\n{end}\n"
    if start not in text or end not in text:
        raise SystemExit(f"{out} lacks the markers {start} ... {end}")
    head, rest = text.split(start, 1)
    out.write_text(head + section + rest.split(end, 1)[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("table", nargs="?", help="HDF5 table holding proxies")
    parser.add_argument("--tasks", nargs="+", help="suite tasks, all, or tables, side by side")
    parser.add_argument("--out", default=None, help="markdown file with the report markers")
    args = parser.parse_args(argv)
    from nasbench_lite.table.reader import Table

    if (args.table is None) == (args.tasks is None):
        parser.error("give either a TABLE or --tasks")
    if args.tasks is not None:
        from nasbench_lite.table.shipped import task_tables

        opened = [(label, Table.open(path)) for label, path in task_tables(args.tasks)]
        section, start, end = tasks_report(opened), TASKS_START, TASKS_END
    else:
        section, start, end = report(Table.open(args.table)), START, END
    if args.out is None:
        print(section)
        return 0
    out = Path(args.out)
    _write(out, section, start, end)
    print(f"wrote the report into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
