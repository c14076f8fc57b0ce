"""Dataset card of a table: markdown and an accuracy plot, every number computed from the file.

Rows not done (a table still being generated) are left out of every statistic, and the card
says how many rows its statistics cover. Accuracies are final-epoch values; "seed mean" is the
mean over the seeds that did not diverge, as in `Table.query`.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError, OutputExistsError
from nasbench_lite.latency.writer import provenance
from nasbench_lite.outputs import check_writable_dir
from nasbench_lite.table.card_plot import plot_accuracy
from nasbench_lite.table.card_sections import (
    batch_speed_section,
    calibration_section,
    still_owed_section,
    time_measure,
)
from nasbench_lite.table.fronts import fronts_section
from nasbench_lite.table.noise import noise_section
from nasbench_lite.table.proxy_stats import proxy_section
from nasbench_lite.table.ranges import file_sha256
from nasbench_lite.table.reader import Table
from nasbench_lite.table.summary import QUANTILES, table_statistics
from nasbench_lite.text import plural
from nasbench_lite.train.config import TrainConfig

log = logging.getLogger(__name__)

TOP = 10
SHA_LABEL = "file sha256"


def card_paths(
    table_path: str | Path, out: str | Path | None = None, plot: str | Path | None = None
) -> tuple[Path, Path]:
    """(markdown path, PNG path): `out` is a .md file, a directory (README.md inside it) or
    None: `<table stem>_card.md` next to the table, or in the working directory for a shipped
    table (`shipped_table`: its folder is the installed package's). The plot defaults to
    `<table stem>_accuracy.png` next to the markdown."""
    if out is None:
        name = f"{Path(table_path).stem}_card.md"
        out = Path(name) if shipped_table(table_path) else Path(table_path).with_name(name)
    out = Path(out)
    if out.suffix.lower() != ".md":
        if out.exists() and not out.is_dir():
            raise InputError(f"--out {out}: neither a directory nor a .md file")
        if not out.exists() and out.suffix:
            raise InputError(f"--out {out}: not a .md file, and no directory of that name (name "
                             "a .md file, or create the directory first)")  # fmt: skip
        out = out / "README.md"
    png = Path(plot) if plot else out.parent / f"{Path(table_path).stem}_accuracy.png"
    return out, png


def card_title(table_path: str | Path) -> str:
    """A card's first line: it names the table file the card describes."""
    return f"# Dataset card: `{Path(table_path).name}`"


def shipped_table(table_path: str | Path) -> bool:
    """Whether `table_path` lies in the package's data folder (`shipped.DATA_DIR`)."""
    from nasbench_lite.table.shipped import DATA_DIR

    return Path(table_path).resolve().parent == Path(DATA_DIR).resolve()


def regenerate_command(attrs: dict[str, Any], path: str) -> str:
    """The command that (re)creates or resumes the table: attrs["command"] from its
    subcommand on, spelt `nasbench-lite ...`; rebuilt from the attributes when absent."""
    words = shlex.split(attrs.get("command") or "")
    for sub in ("generate", "merge"):
        if sub in words:
            return shlex.join(["nasbench-lite", *words[words.index(sub) :]])
    selection = attrs.get("selection") or {}
    words = ["nasbench-lite", "generate", "--space", attrs["space"], "--dataset",
             attrs["dataset"], "--preset", attrs["preset"], "--seeds",
             str(len(attrs["seeds"])), "--epochs", str(attrs["epochs"]), "--out", path]  # fmt: skip
    for flag in ("fraction", "cells"):
        if selection.get(flag) is not None:
            words += [f"--{flag}", str(selection[flag]), "--sample-seed",
                      str(selection.get("sample_seed", 0))]  # fmt: skip
    if selection.get("shard"):
        words += ["--shard", "{}/{}".format(*selection["shard"])]
    return shlex.join(words)


def card_statistics(table: Table) -> dict[str, Any]:
    """`tablestats.table_statistics` of `table` (the numbers `nasbench-lite info` prints
    too); raises ValueError when fewer than 2 rows are usable."""
    st = table_statistics(table)
    if "valid" not in st:
        raise InputError(
            f"{table.source}: {plural(len(st['used']), 'trained row')} with a finite accuracy; "
            "a card needs at least 2"
        )
    return st


TIME_TEXT = """\
Cells are trained in batches: one compiled program trains a chunk of (cell, seed) pairs at once.
{measure} is measured (compilation excluded) and apportioned to its pairs in proportion to their
training FLOPs, so a pair's `train_seconds` is its share of a measured batch (docs/table.md,
"Training time"), the same for every seed of a class: the time inside a batch on the hardware
above, not a stopwatch reading of one cell trained alone (see the calibration below).

Sum of `train_seconds` over the done pairs: {pairs:,.1f} s ({pair_hours:.3f} h). The batches'
{kind} time it apportions: {batches:,.1f} s (the difference, {padding:,.1f} s, is the share of
padding pairs that fill a last, short chunk and of chunks whose rows were reset and trained
again). The batches' wall time: {wall:,.1f} s; compilation (wall): {compile:,.1f} s.
`total_compute_seconds`, the two wall times together: {total:,.1f} s ({hours:.3f} h)."""

CAVEAT_TEXT = """\
Per-epoch curves come from one cosine schedule of {epochs} epochs; a query at epoch
e < {epochs} reads that run's curve after e epochs, not the result of a run trained for e epochs
(whose schedule would have decayed). NAS-Bench-101 found low rank correlation between short
and full budgets (Spearman 0.365 between 36 and 108 epochs on its top 10%); treat early epochs
as a learning-curve signal, not as a shorter benchmark."""


def _f(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}" if np.isfinite(x) else "n/a"


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    """A markdown table; "|" inside a cell (NB-201 strings) is escaped as the syntax needs."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    return lines + [""]


def _selection(selection: Any) -> str:
    """Which classes the table targets, in words, from attrs["selection"]."""
    if not isinstance(selection, dict) or "merged" in selection:
        return f"selection `{_json(selection)}`" if selection else "all classes"
    words = []
    if selection.get("cells") is not None or selection.get("fraction") is not None:
        size = selection.get("cells") or f"a fraction {selection['fraction']} of the"
        words.append(f"a uniform sample of {size} classes, sample seed {selection['sample_seed']}")
    if selection.get("shard"):
        i, n = selection["shard"]
        words.append(f"shard {i}/{n} (classes {i}::{n} of the selection)")
    return ", ".join(words) or "all classes"


def dataset_line(table: Table) -> str:
    """The table's dataset identity in one line (`DatasetIdentity.describe`), saying when it
    is derived from the dataset name because the file predates the recorded identity, and
    whether the examples' fingerprint is recorded (its training labels' sha256, shortened)."""
    try:
        line = table.dataset_identity.describe()
    except InputError as err:  # e.g. a dataset registered by a package not installed here
        return f"{table.attrs.get('dataset')}: identity unknown ({err})"
    if "dataset_identity" not in table.attrs:
        line += " (derived from the dataset name: the file predates the recorded identity)"
    recorded = table.attrs.get("dataset_fingerprint")
    if isinstance(recorded, dict) and isinstance(recorded.get("train"), dict):
        line += f"; examples' fingerprint: train labels {str(recorded['train'].get('labels'))[:12]}"
    else:
        line += "; no fingerprint of the examples (a `generate` resume records it)"
    return line


def _overview(table: Table, st: dict[str, Any]) -> list[str]:
    a, space, total = table.attrs, table.space, table.num_rows
    order = sorted(a["splits"], key=lambda k: ["train", "valid", "test", k].index(k))
    seconds = float(a["total_compute_seconds"])
    rows = [
        ["space", f"`{a['space']}`: {space.num_cells:,} raw cells, {space.num_unique:,} classes; "
         f"this table targets {total:,} classes ({_selection(a.get('selection'))})"],
        ["dataset", f"`{a['dataset']}`, examples per split: "
         + ", ".join(f"{k} {a['splits'][k]:,}" for k in order)],
        ["dataset identity", dataset_line(table)],
        ["preset", f"`{a['preset']}`"],
        ["seeds", ", ".join(str(s) for s in a["seeds"])],
        ["epochs", f"{a['epochs']} (one cosine schedule)"],
        ["metrics", metric_list(table)],
        ["schema version", a["schema_version"]],
        ["created", a["created"]],
        ["rows done", f"{st['done']:,} of {total:,} ({100 * st['done'] / total:.1f}%)"],
        ["raw cells covered", f"{len(st['raw_test']):,} of {space.num_cells:,} (by used rows)"],
        ["chunks", f"{st['chunks']} finished `train_cells` calls of "
         f"{chunk_classes(table)} classes x {table.num_seeds} seeds"],
        ["total compute", f"{seconds / 3600:.3f} h of wall time ({seconds:,.1f} s: batches "
         f"{st['chunk_seconds']:,.1f} s + compilation {st['compile_seconds']:,.1f} s)"],
        ["diverged", f"{st['diverged_pairs']} (cell, seed) pairs in {st['diverged_rows']} rows "
         f"({st['all_diverged_rows']} rows with every seed diverged)"],
        ["hardware", f"`{_json(a['hardware'])}`"],
        *([["latency measured", provenance(a["latency"])]] if a.get("latency") else []),
    ]  # fmt: skip
    # `info --verify` checks the file against this line: the digest of the bytes the card
    # read (write_card), else of the file now
    digest = st.get("sha256")
    if not digest and os.path.isfile(table.source):
        digest = file_sha256(table.source)
    if digest:
        rows.append([SHA_LABEL, f"`{digest}`"])
    lines = ["## What the file is", "", *_table(["field", "value"], rows)]
    lines += ["Training configuration (`TrainConfig`):", ""]
    config = TrainConfig.from_dict(a["config"]).to_dict()  # older files: later fields' defaults
    lines += _table(["field", "value"], [[k, f"`{_json(v)}`"] for k, v in config.items()])
    lines += ["Library versions:", ""]
    return lines + _table(["package", "version"], [[k, v] for k, v in a["versions"].items()])


def chunk_classes(table: Table) -> str:
    """Classes per finished `train_cells` call, read off the calls' pairs: "8", or "8 (the
    last 4)" where only the last call was smaller, or a range where a resume changed the
    size; the `chunk_classes` attribute where no call recorded its pairs."""
    pairs = np.asarray(table.arrays.get("chunks/pairs", ()), dtype=np.int64)
    sizes = pairs[pairs > 0] // max(table.num_seeds, 1)
    if not len(sizes):
        return str(table.attrs.get("chunk_classes", "?"))
    if sizes.min() == sizes.max():
        return str(int(sizes[0]))
    if sizes[:-1].min() == sizes[:-1].max() and sizes[-1] < sizes[0]:
        return f"{int(sizes[0])} (the last {int(sizes[-1])})"
    return f"{int(sizes.min())} to {int(sizes.max())}"


def metric_list(table: Table) -> str:
    """The table's metrics by kind, as its schema lists them (card and `info`)."""
    kinds = {("rows", "seeds", "epochs"): "curves", ("rows", "seeds"): "per run",
             ("rows",): "per class"}  # fmt: skip
    parts = []
    for axes, kind in kinds.items():
        names = [f"`{m}`" for m, a in table.metric_axes.items() if a == axes]
        if names:
            parts.append(f"{kind}: {', '.join(names)}")
    return "; ".join(parts)


def _distribution(st: dict[str, Any], png: str) -> list[str]:
    lines = [
        "## Accuracy distribution", "",
        f"Final-epoch seed-mean accuracy over the {len(st['used'])} used classes, and test "
        f"accuracy over their {len(st['raw_test']):,} raw cells (each class weighted by its "
        "size).", "",
    ]  # fmt: skip
    rows = [[k, _f(st["means"][k]), *map(_f, q)] for k, q in st["quantiles"].items()]
    lines += _table(["distribution", "mean", *(f"q{q}" for q in QUANTILES)], rows)
    return lines + [f"![accuracy distribution]({png})", ""]


def _best(table: Table, st: dict[str, Any]) -> list[str]:
    rows = []
    for rank, i in enumerate(st["ranking"][:TOP], 1):
        row = int(st["used"][i])
        raw = int(table.row_raw[row])
        q = table.query(raw)
        rows.append([
            rank, f"`{table.space.format(raw)}`", raw, st["members"][row],
            f"{_f(st['test'][i])} ± {_f(st['test_std'][i])}", _f(st["valid"][i]),
            st["seeds_used"][i], f"{q['params']:,}", f"{q['flops']:,}",
            _f(q["train_seconds"], 3),
        ])  # fmt: skip
    header = ["#", "cell", "raw", "raw cells", "test acc", "valid acc", "seeds", "params",
              "FLOPs", "train_seconds"]  # fmt: skip
    return [
        f"## Best {len(rows)} classes", "",
        "By seed-mean final test accuracy. The cell is the class's trained representative; "
        "mean ± std (ddof 0) over the seeds that did not diverge (`seeds`); train_seconds is "
        "the seed mean.", "", *_table(header, rows),
    ]  # fmt: skip


def _correlations(st: dict[str, Any]) -> list[str]:
    rows = [[f"{a} vs {b}", n, _f(rho)] for a, b, n, rho in st["seed_spearman"]]
    rows.append(["mean", "", _f(st["seed_spearman_mean"])])
    return [
        "## Rank correlations", "",
        "Seed-to-seed Spearman of final validation accuracy across done classes (those where "
        "both seeds did not diverge):", "", *_table(["seeds", "classes", "Spearman"], rows),
        f"Validation vs test, seed-mean final accuracy over {len(st['used'])} classes:", "",
        *_table(["statistic", "value"], [[k, _f(v)] for k, v in st["valid_test"].items()]),
    ]  # fmt: skip


def _padding(st: dict[str, Any]) -> float:
    """Batch time not in any done pair's share (padding, retrained rows); float32 rounding of
    the shares is noise."""
    diff = st["chunk_apportioned_seconds"] - st["train_seconds_sum"]
    return diff if abs(diff) >= 0.05 else 0.0


def render_card(table: Table, st: dict[str, Any], png: str, card_command: str) -> str:
    """The markdown card; `png` is the plot's path relative to the markdown file."""
    a, total = table.attrs, table.num_rows
    command = regenerate_command(a, table.source)
    lines = [card_title(table.source), ""]
    if st["done"] < total:
        lines += [
            f"> **Incomplete table: {st['done']} of {total} classes trained so far; the rest "
            f"are trained by resuming: `{command}`.** `generate` trains rows in one fixed "
            "shuffled order, so the rows done are a uniform random sample of the target "
            "classes.", "",
        ]  # fmt: skip
    lines += [
        f"Written by `nasbench-lite card` from the table file alone. Statistics cover the "
        f"**{len(st['used'])} rows** that are trained and have a finite seed-mean accuracy "
        f"({st['done']} of {total} rows done); rows not trained yet are left out everywhere.", "",
        *_overview(table, st), *_distribution(st, png), *_best(table, st), *_correlations(st),
        *noise_section(table), *proxy_section(table), *fronts_section(table),
        "## Training time", "",
        TIME_TEXT.format(
            measure=time_measure(st),
            pairs=st["train_seconds_sum"], pair_hours=st["train_seconds_sum"] / 3600,
            kind="CPU" if st["chunk_time_is_cpu"] else "wall",
            batches=st["chunk_apportioned_seconds"], padding=_padding(st),
            wall=st["chunk_seconds"],
            compile=st["compile_seconds"], total=float(a["total_compute_seconds"]),
            hours=float(a["total_compute_seconds"]) / 3600,
        ), "", *batch_speed_section(table), *calibration_section(a.get("calibration")),
        "## Regenerating", "", "The table (the same command resumes a partial file):", "",
        "```", command, "```", "", "This card:", "", "```", card_command, "```", "",
        "## Caveat: epochs", "", CAVEAT_TEXT.format(epochs=table.num_epochs),
        *still_owed_section(table),
    ]  # fmt: skip
    return "\n".join(lines) + "\n"


def write_card(
    table_path: str | Path,
    out: str | Path | None = None,
    plot: str | Path | None = None,
    overwrite: bool = False,
) -> tuple[Path, Path]:
    """Write the markdown card and its PNG plot (paths: `card_paths`); returns (markdown
    path, PNG path). Raises FileNotFoundError / ValueError naming `table_path` (see
    `Table.open`), InputError naming a target that cannot be written, and OutputExistsError
    when either file exists, unless `overwrite`; all before any work."""
    # The file's bytes are hashed before it is read and again once the card is rendered: a
    # writer that replaced it between the two (`generate` at a chunk's end) is refused, so
    # a card never pairs one version's figures with another's sha256.
    digest = file_sha256(table_path) if os.path.isfile(table_path) else None
    table = Table.open(table_path)
    md, png = card_paths(table_path, out, plot)
    if png.suffix.lower() != ".png":
        raise InputError(f"--plot {png}: the plot is a PNG; name a .png file")
    if md.resolve() == png.resolve():
        raise InputError(f"--out and --plot are one file, {md}: name two")
    for path, name in ((md, "--out"), (png, "--plot" if plot else "--out")):
        if path.resolve() == Path(table_path).resolve():
            raise InputError(f"{name} {path} is the table itself; name another file")
    # Without --out the card goes beside the table: name its folder, not an option not given.
    beside = "the table's folder"
    option = {md: "--out" if out is not None else beside,
              png: "--plot" if plot else ("--out" if out is not None else beside)}  # fmt: skip
    for path in (md, png):
        if path.is_dir():
            raise InputError(f"{option[path]} {path}: a directory of that name exists")
        check_writable_dir(path.parent, option[path])
    if not overwrite:
        for path in (md, png):
            if path.exists():
                raise OutputExistsError(f"{path} exists; pass --force to replace it")
    st = card_statistics(table)
    st["sha256"] = digest
    plot_accuracy(table, st, png)
    card_command = ["nasbench-lite", "card", str(table_path)]
    if out is not None:
        card_command += ["--out", str(out)]
    if plot:
        card_command += ["--plot", str(plot)]
    card_command.append("--force")  # the command replaces this card
    rel = Path(os.path.relpath(png.resolve(), md.parent.resolve())).as_posix()
    text = render_card(table, st, rel, shlex.join(card_command))
    if digest is not None and file_sha256(table_path) != digest:
        png.unlink(missing_ok=True)  # drawn from the version that was replaced
        raise InputError(f"{table_path} changed while its card was written (a writer is "
                         "rewriting it?); run it again when it is finished")  # fmt: skip
    md.parent.mkdir(parents=True, exist_ok=True)
    md.write_text(text)
    log.debug("card of %s (%d of %d rows): %s, %s", table_path, st["done"], table.num_rows, md, png)
    return md, png
