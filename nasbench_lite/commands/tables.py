"""`nasbench-lite info`, `query` and `card`: read a table (the shipped one by default)."""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from nasbench_lite.commands import table_path
from nasbench_lite.text import plural

RANKED_BY = {"test_acc": "test accuracy", "valid_acc": "validation accuracy"}


def _fmt(value: Any) -> str:
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else str(value)


def coverage(table) -> str:
    """One plain sentence: whether the table is complete, partial (rows still to train) or
    sampled (rows for only some classes)."""
    space, rows, done = table.space, table.num_rows, int(table.done.sum())
    parts = []
    if rows < space.num_unique:
        cells = int((table.raw_to_row >= 0).sum())
        parts.append(
            f"sampled: rows for {rows:,} of {space.num_unique:,} classes of {space.name} "
            f"({cells:,} of {plural(space.num_cells, 'raw cell')}); other cells are not in it"
        )
    if done < rows:
        parts.append(
            f"PARTIAL: {done:,} of {plural(rows, 'row')} trained ({100 * done / rows:.1f}%), "
            "the rest not yet (the generate command that made it resumes it); the summary "
            "covers the trained rows only"
        )
    if not parts:
        return f"complete: every one of the {space.num_unique:,} classes of {space.name} trained"
    return "; ".join(parts)


def cmd_info(args: argparse.Namespace) -> int:
    """`nasbench-lite info [FILE]`: coverage, the dataset's identity, root attributes, then
    the table's statistics."""
    from nasbench_lite.table.card import dataset_line
    from nasbench_lite.table.reader import Table

    path = table_path(args.file)
    digest = None
    if getattr(args, "card", None) and not getattr(args, "verify", False):
        from nasbench_lite.errors import InputError

        raise InputError(f"--card {args.card}: names the card --verify checks; add --verify")
    if getattr(args, "verify", False):  # the bytes first: a changed file may not even open
        from nasbench_lite.table.verify import verify_against_card

        digest, card = verify_against_card(path, args.card)
    table = Table.open(path)
    if digest:
        from nasbench_lite.errors import InputError
        from nasbench_lite.table.ranges import file_sha256
        from nasbench_lite.table.storage import check_cells

        if file_sha256(path) != digest:  # rewritten between the check and the read
            raise InputError(f"--verify: {path} changed while it was read (a writer is "
                             "rewriting it?); run it again when it is finished")  # fmt: skip
        check_cells(table.arrays, table.attrs, str(path))
    from nasbench_lite.table.card import metric_list

    print(f"table {path}")
    if digest:
        print(f"  sha256 {digest}: matches its card {card}")
        print("  cells: each class once, every raw cell mapped to its class's row (checked "
              "against the space)")  # fmt: skip
    print(f"  {coverage(table)}")
    print(f"  metrics: {metric_list(table).replace('`', '')}")
    from nasbench_lite.table.proxy_stats import redo_note

    if note := redo_note(table):
        print(f"  proxies: {note}")
    print(f"  dataset {dataset_line(table)}")
    print("attributes")
    for name in sorted(table.attrs):
        print(f"  {name}: {_fmt(table.attrs[name])}")
    print("summary")
    for name, value in table.summary().items():
        print(f"  {name}: {_fmt(value)}")
    from nasbench_lite.table.noise import noise_floor, noise_lines

    lines = noise_lines(noise_floor(table))
    if lines:
        print("noise floor")
        for line in lines:
            print(f"  {line}")
    return 0


def _number(name: str, value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):  # counts: params, flops, ...
        return f"{value:,}"
    if name.endswith("_seconds"):
        return f"{value:.3f}"
    if name.startswith("latency_"):  # measured CPU seconds per forward pass (`latency`)
        return "not measured" if not math.isfinite(value) else f"{1e3 * value:.3f} ms"
    return f"{value:.4g}" if abs(value) >= 1e4 or 0 < abs(value) < 1e-3 else f"{value:.4f}"


def _finite(value: Any) -> Any:
    """JSON has no NaN: None instead."""
    return None if isinstance(value, float) and not math.isfinite(value) else value


def cmd_query(args: argparse.Namespace) -> int:
    """`nasbench-lite query [FILE] CELL [--epoch E] [--seed S] [--rank-by M] [--details]
    [--json]`."""
    from nasbench_lite.errors import InputError
    from nasbench_lite.table.proxy_stats import PREFIX
    from nasbench_lite.table.reader import Table

    if args.file is None and args.cell.lower().endswith((".h5", ".hdf5")):
        raise InputError(f"{args.cell} looks like a table file, not a cell; give both: FILE CELL")
    path = table_path(args.file)
    table = Table.open(path)
    raw = int(table.space.to_raw(args.cell))
    result = table.query(raw, epoch=args.epoch, seed=args.seed)
    rank = table.rank(raw, args.rank_by)
    epoch = table.num_epochs if args.epoch is None else args.epoch
    details = table.details(raw, args.epoch, args.rank_by) if args.details else None
    if args.json:
        record = {
            "table": str(path),
            "cell": table.space.format(raw),
            "raw": raw,
            "row": result["row"],
            "epoch": epoch,
            "epochs": table.num_epochs,
            "seed": args.seed,  # None: the mean over the seeds that did not diverge
            "metrics": {name: _finite(result[name]) for name in table.metrics},
            "diverged": result["diverged"],
            "rank": {**rank, "percentile": _finite(rank["percentile"])},
        }
        if details is not None:
            record["details"] = _finite_all(details)
        print(json.dumps(record, indent=2))
    else:
        print(f"cell {table.space.format(raw)} (raw {raw}, row {result['row']} of {path})")
        which = (
            f"mean over {plural(table.num_seeds, 'seed')}"
            if args.seed is None
            else f"seed position {args.seed}"
        )
        final = " (final)" if epoch == table.num_epochs else ""
        print(f"{which}, epoch {epoch} of {table.num_epochs}{final}:")
        proxies = [m for m in table.metrics if m.startswith(PREFIX)]
        for name in table.metrics:
            if name not in proxies:
                print(f"  {name:<14} {_number(name, result[name])}")
        print(f"  {'diverged':<14} {'yes' if result['diverged'] else 'no'}")
        if proxies:
            print("zero-cost proxies at initialisation (docs/proxies.md), same seeds:")
            for name in proxies:
                print(f"  {name[len(PREFIX) :]:<14} {_number(name, result[name])}")
        print(_rank_line(rank))
        if details is not None:
            print("\n".join(_details_lines(details)))
    if result["diverged"]:
        seeds = [int(s) for s in table.diverged[result["row"]].nonzero()[0]]
        print(
            f"warning: cell {args.cell} diverged in training (seed positions {seeds}); "
            "a seed mean averages only the seeds that did not diverge",
            file=sys.stderr,
        )
    return 0


def _finite_all(value: Any) -> Any:
    """`value` with every NaN in its dicts and lists replaced by None (for JSON)."""
    if isinstance(value, dict):
        return {key: _finite_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite_all(item) for item in value]
    return _finite(value)


def _details_lines(d: dict[str, Any], shown: int = 12) -> list[str]:
    """`--details`: every seed's metrics, mean and std; the class and its cells; the cost."""
    seeds = [f"seed {s}" for s in d["seeds"]]
    lines = [f"per seed, epoch {d['epoch']} of {d['epochs']} (std: over the seeds, ddof=1):"]
    lines.append(f"  {'':<16}" + "".join(f"{h:>10}" for h in [*seeds, "mean", "std"]))
    for name, values in d["per_seed"].items():
        row = [*values, d["mean"][name], d["std"][name]]
        lines.append(f"  {name:<16}" + "".join(f"{_number(name, v):>10}" for v in row))
    members = d["members"]
    listed = ", ".join(str(m) for m in members[:shown])
    more = f", ... ({len(members):,} in all)" if len(members) > shown else ""
    lines.append(
        f"class {d['class_id']}: {plural(len(members), 'raw cell')} share its row: {listed}{more}"
    )
    for name, value in d["per_class"].items():
        if name not in ("params", "flops"):  # those are on the cost line
            lines.append(f"  {name:<14} {_number(name, value)}")
    cost = d["cost"]
    lines.append(
        f"cost: {cost['params']:,} params, {cost['flops']:,} FLOPs, "
        f"{cost['train_seconds']:.3f} s to train to epoch {d['epoch']} "
        f"({cost['train_seconds_total']:.3f} s for all {d['epochs']})"
    )
    return lines


def _rank_line(rank: dict[str, Any]) -> str:
    by = f"seed-mean final {RANKED_BY[rank['metric']]}"
    if rank["rank"] is None:
        return f"rank: none (its {by} is NaN: every seed diverged)"
    return (
        f"rank {rank['rank']:,} of {plural(rank['classes'], 'trained class')} by {by} "
        f"(better than {rank['percentile']:.1f}% of them)"
    )


def cmd_card(args: argparse.Namespace) -> int:
    """`nasbench-lite card [FILE] [--out DIR_OR_MD] [--plot PNG] [--force]`."""
    from nasbench_lite.table.card import shipped_table, write_card

    path = table_path(args.file)
    md, png = write_card(path, args.out, args.plot, overwrite=args.force)
    where = ""
    if args.out is None and shipped_table(path):
        where = (
            " in the working directory (the shipped table's folder belongs to the installed "
            "package; --out chooses another place)"
        )
    print(f"wrote {md} and {png}{where}")
    return 0
