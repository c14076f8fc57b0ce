"""The table file's schema v1 as data: one record per dataset and per root attribute.

Everything that depends on the schema reads it from here: shapes and dtypes, the values of
rows not trained yet, what a writer may leave out, which datasets hold one entry per row or
per chunk (what `merge` joins), which attributes are JSON, and the tables in docs/table.md
(`markdown()`; a test keeps the document equal to it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SCHEMA_VERSION = 1

# Axis name -> what it counts. Sizes come from the arrays and attributes (`sizes`).
AXES = {
    "rows": "classes the table holds, in class-id order (length of `/cells/row_raw`)",
    "seeds": "seed positions into the root attribute `seeds`",
    "epochs": "epochs of the schedule, 0-based (addressed 1-based in the API and CLI)",
    "chunks": "finished `train_cells` calls, in the order they finished",
    "cells": "raw cells of the space (15,625 for `nb201`)",
    "edges": "edges of a cell (6 for `nb201`)",
}
# The datasets that fix the sizes of the axes not set by attributes.
SIZE_DATASETS = ("cells/row_raw", "cells/raw_to_row", "cells/ops", "chunks/seconds")
REQUIRED = None  # `Field.default` of a dataset a writer must give


@dataclass(frozen=True)
class Field:
    """One dataset: HDF5 path, dtype, axes (names from AXES), meaning.

    fill: the value of a row not trained yet, and of a chunk record a file lacks.
    default: the value of every entry when a writer leaves the dataset out (REQUIRED: it
        must be given).
    derived: computed from /cells/row_raw and the space when left out.
    missing_ok: files written before the dataset existed lack it; it reads as `fill`.
    """

    path: str
    dtype: type
    axes: tuple[str, ...]
    doc: str
    fill: Any = 0
    default: Any = REQUIRED
    derived: bool = False
    missing_ok: bool = False

    @property
    def name(self) -> str:
        """The last part of the path: "metrics/test_acc" -> "test_acc"."""
        return self.path.rsplit("/", 1)[-1]

    def shape(self, sizes: dict[str, int]) -> tuple[int, ...]:
        """The dataset's shape for axis sizes {"rows": 5044, ...}."""
        return tuple(int(sizes[axis]) for axis in self.axes)

    def full(self, sizes: dict[str, int], value: Any = None) -> np.ndarray:
        """A new array of the dataset's shape and dtype holding `value` (default: fill)."""
        return np.full(self.shape(sizes), self.fill if value is None else value, self.dtype)


NAN = float("nan")
CURVE = ("rows", "seeds", "epochs")
_CURVE_DOCS = {
    "train_loss": "mean training loss over each epoch's steps",
    "train_acc": "mean training accuracy (fraction) over each epoch's steps",
    "valid_loss": "validation loss after each epoch",
    "valid_acc": "validation accuracy (fraction in [0, 1]) after each epoch",
    "test_loss": "test loss after each epoch",
    "test_acc": "test accuracy (fraction) after each epoch",
}
SCHEMA: tuple[Field, ...] = (
    *(Field(f"metrics/{name}", np.float32, CURVE, doc, fill=NAN)
      for name, doc in _CURVE_DOCS.items()),
    Field("metrics/train_seconds", np.float32, ("rows", "seeds"),
          "measured training seconds of the whole run, see below", fill=NAN),
    Field("metrics/params", np.int64, ("rows",), "trainable parameters (analytical)"),
    Field("metrics/flops", np.int64, ("rows",),
          "forward FLOPs for one example (analytical)"),
    Field("cells/raw_to_row", np.int32, ("cells",),
          "row of each raw cell's class, -1 if not in the table", fill=-1, derived=True),
    Field("cells/row_raw", np.int32, ("rows",),
          "representative raw cell trained for each row"),
    Field("cells/row_class", np.int32, ("rows",),
          "class id of each row, strictly increasing", derived=True),
    Field("cells/ops", np.int8, ("rows", "edges"),
          "op ids of `row_raw` (edge order of docs/space.md)", derived=True),
    Field("status/done", np.bool_, ("rows",),
          "the row has been trained (rows not done hold NaN / 0)", fill=False, default=True),
    Field("status/diverged", np.bool_, ("rows", "seeds"),
          "the run produced a non-finite value; its metrics are NaN from that epoch on",
          fill=False),
    Field("status/chunk", np.int32, ("rows",),
          "index into `/chunks/*` of the chunk that trained the row, -1 if none",
          fill=-1, default=-1),
    Field("chunks/seconds", np.float64, ("chunks",),
          "measured wall time of each finished `train_cells` call (compilation excluded)",
          fill=NAN, default=NAN),
    Field("chunks/cpu_seconds", np.float64, ("chunks",),
          "process CPU time (all threads) of that call, which `train_seconds` apportions; "
          "NaN in files written before it was recorded", fill=NAN, default=NAN,
          missing_ok=True),
    Field("chunks/compile_seconds", np.float64, ("chunks",),
          "measured compilation (or compile-cache load) time of that call",
          fill=NAN, default=NAN),
    Field("chunks/pairs", np.int32, ("chunks",),
          "real (cell, seed) pairs of that call, padding excluded", default=0),
)  # fmt: skip
FIELDS = {field.path: field for field in SCHEMA}
CURVE_METRICS = tuple(f.name for f in SCHEMA if f.path.startswith("metrics/") and f.axes == CURVE)
METRICS = tuple(f.name for f in SCHEMA if f.path.startswith("metrics/"))
# The axes a metric may have, by its number of dimensions: one value per class, one per
# (class, seed) pair, or a curve per pair. A file may hold metrics beyond SCHEMA under
# /metrics/ (a new per-cell score, a new curve): readers list them from the file.
METRIC_AXES = {1: ("rows",), 2: ("rows", "seeds"), 3: CURVE}
# Metrics that count the time to train up to an epoch: read at epoch e of E they scale by e/E.
SCALES_WITH_EPOCHS = ("train_seconds",)
# Metrics of the held-out test split: the runner records them, no strategy ever sees them.
HIDDEN_PREFIX = "test_"


def metric_axes(arrays: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Every metric the arrays hold, name -> axes: the schema's in schema order, then any
    other dataset under /metrics/ by name, its axes from its number of dimensions (checked
    against the table's sizes by `storage.check_arrays`)."""
    axes = {f.name: f.axes for f in SCHEMA if f.path.startswith("metrics/") and f.path in arrays}
    for path in sorted(arrays):
        name = path[len("metrics/") :]
        if path.startswith("metrics/") and name not in axes and "/" not in name:
            axes[name] = METRIC_AXES.get(np.ndim(arrays[path]), ())
    return axes


# Datasets with one entry per row (joined row by row on class id by `merge`) and per chunk
# (concatenated); /cells/raw_to_row is per raw cell and derived.
PER_ROW = tuple(f.path for f in SCHEMA if f.axes[0] == "rows")
PER_CHUNK = tuple(f.path for f in SCHEMA if f.axes[0] == "chunks")


@dataclass(frozen=True)
class Attr:
    """One root attribute: name, type as stored ("JSON": a UTF-8 string holding a JSON
    document, read back as a Python object), meaning, whether every file has it."""

    name: str
    kind: str
    doc: str
    required: bool = True


ATTRS: tuple[Attr, ...] = (
    Attr("schema_version", "int", "`1`; a reader refuses any other value"),
    Attr("space", "str", "search space name (`nb201`)"),
    Attr("dataset", "str", "dataset name (`mnist1d`, ...)"),
    Attr("dataset_identity", "JSON",
         "what the dataset is, to rebuild it: `name`, `generator` (arguments and seed of a "
         "generated dataset, `{}` otherwise), `input_shape`, `num_classes`, `splits` (examples "
         "per split of the whole dataset), `needs_files`, `files` (names `data_dir` must hold); "
         "files written before it was recorded read it from the `dataset` name",
         required=False),
    Attr("dataset_fingerprint", "JSON",
         "what the examples were, to check a rebuild: per split the sha256 of the labels "
         "(`labels`) and four float64 sums of the inputs (`inputs`: mean, std and two "
         "position-weighted means); files written before it was recorded lack it until a "
         "`generate` resume adds it", required=False),
    Attr("splits", "JSON",
         'examples used per split, e.g. `{"train": 3000, "valid": 1000, "test": 1000}`'),
    Attr("preset", "str", "trainer preset the run started from (`cpu`, `v2`, `gpu`, `tiny`; "
         "`small` in files made before it was retired)"),
    Attr("config", "JSON",
         "the full trainer configuration, `TrainConfig.to_dict()` (epochs included); a field "
         "added to `TrainConfig` later reads as its default from older files (`reduction`: "
         '`"residual"`)'),
    Attr("seeds", "int64 array", "seed values, one per seed position"),
    Attr("epochs", "int", "epochs of the single cosine schedule"),
    Attr("versions", "JSON", "python, numpy, jax, jaxlib, flax, optax, h5py, mnist1d, "
         "scikit-learn, nasbench-lite (files written before the last two were listed lack "
         "them)"),
    Attr("hardware", "JSON",
         "device platform/kind/count, CPU count, OS, machine, executor; `others` lists any "
         "different hardware that trained later chunks; a merged table of different "
         'hardware holds `{"merged": [...]}`'),
    Attr("total_compute_seconds", "float",
         "sum of `/chunks/seconds` + `/chunks/compile_seconds` (see below)"),
    Attr("command", "str", "the command line that created the file"),
    Attr("created", "str", "creation time, ISO 8601"),
    Attr("selection", "JSON",
         "`generate` only: `fraction`, `cells`, `sample_seed`, `shard`; a merged table: "
         '`{"merged": [...]}`', required=False),
    Attr("chunk_classes", "int", "`generate` only: classes per `train_cells` call",
         required=False),
    Attr("proxies", "JSON",
         "`nasbench-lite proxies`: the zero-cost proxies' recipe (`batch`, `proxies`, "
         "`chunk_classes`), the measured `seconds`, `cpu_seconds` and `compile_seconds` of "
         "computing them, `versions` and `command` (docs/proxies.md)", required=False),
    Attr("latency", "JSON",
         "`nasbench-lite latency`: how latency was measured (`batches`, `rounds`, `calls`, "
         "`method`, `xla_flags`, `reference_seconds`: the reference network's median CPU "
         "seconds per batch size, the scale of the recorded ratios), on what (`hardware`, "
         "with the CPU's `cpu_model`), the measured `seconds`, `cpu_seconds` and "
         "`compile_seconds`, `versions` and `command`; `copied_from` when taken from another "
         "table of the same networks by `latency --from` (docs/multi_objective.md)",
         required=False),
    Attr("calibration", "JSON",
         "`benchmarks/calibrate_seconds.py --write`: `train_seconds` of sampled classes "
         "against the same classes trained alone (Spearman, median ratio; the card reports "
         "it)", required=False),
)  # fmt: skip
REQUIRED_ATTRS = tuple(a.name for a in ATTRS if a.required)
JSON_ATTRS = tuple(a.name for a in ATTRS if a.kind == "JSON")


def sizes(arrays: dict[str, np.ndarray], attrs: dict[str, Any]) -> dict[str, int]:
    """Axis sizes of a table from its SIZE_DATASETS and its `seeds` and `epochs` attributes
    (KeyError when one is absent)."""
    return {
        "rows": len(arrays["cells/row_raw"]),
        "seeds": len(attrs["seeds"]),
        "epochs": int(attrs["epochs"]),
        "chunks": len(arrays["chunks/seconds"]),
        "cells": len(arrays["cells/raw_to_row"]),
        "edges": int(np.shape(arrays["cells/ops"])[-1]),
    }


def pending_arrays(sizes: dict[str, int]) -> dict[str, np.ndarray]:
    """Every dataset of a table whose rows are all pending: each at its `fill`."""
    return {field.path: field.full(sizes) for field in SCHEMA}


def markdown() -> str:
    """The schema as the markdown tables of docs/table.md: axes, datasets, attributes."""

    def shape(axes: tuple[str, ...]) -> str:
        return f"({axes[0]},)" if len(axes) == 1 else f"({', '.join(axes)})"

    lines = ["| axis | counts |", "|---|---|"]
    lines += [f"| `{axis}` | {doc} |" for axis, doc in AXES.items()]
    lines += ["", "| dataset | dtype | shape | meaning |", "|---|---|---|---|"]
    lines += [
        f"| `/{f.path}` | {np.dtype(f.dtype).name} | {shape(f.axes)} | {f.doc} |" for f in SCHEMA
    ]
    lines += ["", "| attribute | type | meaning |", "|---|---|---|"]
    lines += [f"| `{a.name}` | {a.kind} | {a.doc} |" for a in ATTRS]
    return "\n".join(lines) + "\n"
