"""The surrogate's features of a cell: one-hot ops, path encoding, cost and op counts."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError

FEATURE_GROUPS = ("onehot", "path", "cost", "op_counts")
PROXY_FILE = "proxy_features.npy"  # a model's per-class proxy features, float32


class SurrogateError(InputError):
    """A model file, table or argument the surrogate cannot use; the message names it."""


def features(table_or_meta, raws, groups: tuple[str, ...] = FEATURE_GROUPS) -> np.ndarray:
    """float32 (n, F) features of the class representatives of `raws` (int (n,)).

    Groups: "onehot" (edge-major one-hot ops), "path" (the path encoding), "cost" (log
    params and FLOPs of the table's network), "op_counts" (how many edges hold each op).
    Cells of one class get the same row (their representative's).
    """
    space, config = space_and_config(table_or_meta)
    classes = np.asarray(space.canonical_ids)[np.asarray(raws, dtype=np.int64)]
    return _class_features(space, json.dumps(config, sort_keys=True), tuple(groups))[classes]


@functools.lru_cache(maxsize=4)
def _class_features(space, config_json: str, groups: tuple[str, ...]) -> np.ndarray:
    """float32 (num_unique, F) features of every class representative (computed once)."""
    config = json.loads(config_json)
    reps = np.asarray(space.representatives)
    parts = []
    for group in groups:
        if group == "onehot":
            parts.append(space.onehot(reps))
        elif group == "path":
            parts.append(space.path_encoding(reps))
        elif group == "cost":
            parts.append(_cost_features(space, config, reps))
        elif group == "op_counts":
            onehot = space.onehot(reps).reshape(len(reps), space.num_edges, space.num_ops)
            parts.append(onehot.sum(axis=1))
        else:
            raise SurrogateError(f"unknown feature group {group!r}; known: {FEATURE_GROUPS}")
    # No group at all (a model of proxies only, `SurrogateConfig.proxies`): zero columns.
    out = np.concatenate(parts or [np.zeros((len(reps), 0))], axis=1).astype(np.float32)
    out.setflags(write=False)
    return out


def _cost_features(space, config: dict, reps: np.ndarray) -> np.ndarray:
    del reps  # every class's representative, in class order: what `class_costs` counts
    costs = class_costs(space, json.dumps(config, sort_keys=True))
    return np.log1p(costs.astype(np.float64)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def class_costs(space, config_json: str) -> np.ndarray:
    """int64 (num_unique, 2): params and forward FLOPs of each class representative's network,
    from a model's (or table identity's) JSON-encoded record: train_config, input_shape and
    num_classes. Read-only; computed once per space and record."""
    from nasbench_lite.train.config import TrainConfig
    from nasbench_lite.train.cost import network_cost

    config = json.loads(config_json)
    train_config = TrainConfig.from_dict(config["train_config"])
    shape, classes = tuple(config["input_shape"]), int(config["num_classes"])
    costs = [network_cost(train_config, space.cell(int(r)), shape, classes, space)
             for r in space.representatives]  # fmt: skip
    out = np.asarray(costs, dtype=np.int64)
    out.setflags(write=False)
    return out


def space_and_config(table_or_meta) -> tuple[Any, dict]:
    """The space and the network facts features need, from a Table or a model's metadata."""
    from nasbench_lite.spaces import get_space

    if isinstance(table_or_meta, dict):
        return get_space(table_or_meta["space"]), table_or_meta
    return table_or_meta.space, table_identity(table_or_meta)


def table_identity(table) -> dict[str, Any]:
    """What a model records of its source table, and what a table must match to be used
    with it: space, dataset, train config, seeds, epochs, input shape, classes, rows, and
    the dataset's identity. Input shape and classes come from the table's dataset identity,
    so no example is loaded (a file-based dataset needs no data_dir here)."""
    identity = table.dataset_identity
    return {
        "space": table.attrs["space"], "dataset": table.attrs["dataset"],
        "train_config": table.attrs["config"], "seeds": [int(s) for s in table.seeds],
        "epochs": int(table.num_epochs), "input_shape": list(identity.input_shape),
        "num_classes": identity.num_classes, "dataset_identity": identity.to_dict(),
        "source": str(table.source), "rows_done": int(table.done.sum()),
        "dataset_fingerprint": table.attrs.get("dataset_fingerprint"),
    }  # fmt: skip


def check_table(meta: dict[str, Any], table) -> None:
    """Raise SurrogateError unless `table` has the space, dataset (its recorded identity,
    where the model `meta` has one), trainer config (as `search.sources` compares tasks:
    recording-only fields aside) and epochs of the table a model was fitted on, and the
    proxies the model takes as features."""
    from nasbench_lite.search.sources import task_config

    mine, theirs = dict(meta["table"]), table_identity(table)
    mine["train_config"] = task_config(mine["train_config"])
    theirs["train_config"] = task_config(theirs["train_config"])
    lacking = [n for n in meta["config"].get("proxies", ())
               if "proxy_" + n not in table.metrics]  # fmt: skip
    if lacking:
        raise SurrogateError(
            f"the model takes the zero-cost proxies {lacking} as features, but "
            f"{table.source} lacks them (`nasbench-lite proxies --table` adds them)"
        )
    for field in ("space", "dataset", "dataset_identity", "train_config", "epochs"):
        if field in mine and mine[field] != theirs[field]:
            raise SurrogateError(
                f"the model was fitted on {field} {mine[field]!r}, but {table.source} "
                f"has {theirs[field]!r}"
            )
    if mine.get("dataset_fingerprint") and theirs["dataset_fingerprint"]:  # both recorded
        from nasbench_lite.datasets.fingerprint import differences

        if found := differences(mine["dataset_fingerprint"], theirs["dataset_fingerprint"]):
            raise SurrogateError(f"the model was fitted on other examples than {table.source}'s "
                                 f"({'; '.join(found[:3])})")  # fmt: skip


def check_proxies(names) -> tuple[str, ...]:
    """`names` as a tuple of computed proxy names; SurrogateError for an unknown one (params
    and FLOPs are the "cost" group, not proxies here)."""
    from nasbench_lite.proxies.names import COMPUTED

    names = tuple(names)
    unknown = [n for n in names if n not in COMPUTED]
    if unknown:
        raise SurrogateError(f"unknown proxies {unknown}; the surrogate takes {COMPUTED}")
    return names


def proxy_columns(table, names: tuple[str, ...]) -> np.ndarray:
    """float32 (num_unique, len(names)): per class, the seed mean of each zero-cost proxy the
    table holds (`/metrics/proxy_<name>`), as sign(v) log(1 + |v|) (synflow spans twenty
    orders of magnitude; trees only see the order, float32 must hold it); NaN, a missing
    value to XGBoost, for classes without a finite value. SurrogateError when the table
    lacks one of them."""
    import warnings

    from nasbench_lite.proxies.names import metric_name

    missing = [n for n in check_proxies(names) if metric_name(n) not in table.metrics]
    if missing:
        raise SurrogateError(
            f"{table.source} holds no {', '.join(metric_name(n) for n in missing)}: compute "
            f"them with `nasbench-lite proxies --table {table.source}`, or fit without proxies"
        )
    from nasbench_lite.table.proxy_stats import current_rows

    space = table.space
    out = np.full((space.num_unique, len(names)), np.nan, np.float64)
    classes = np.asarray(space.canonical_ids)[table.row_raw]
    current = current_rows(table)  # not a row awaiting an unfinished `proxies --recompute`
    for j, name in enumerate(names):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows not computed: all NaN
            values = np.nanmean(np.asarray(table.metric(metric_name(name)), np.float64), axis=1)
        values[~current] = np.nan
        values[~np.isfinite(values)] = np.nan  # e.g. zen's log of a zero variance
        out[classes, j] = np.sign(values) * np.log1p(np.abs(values))
    return out.astype(np.float32)


def with_proxies(x_cls: np.ndarray, proxy_x: np.ndarray | None, classes) -> np.ndarray:
    """The class features with the columns `proxy_x` (per class) of `classes` appended
    (None: unchanged); also used for the related-task columns."""
    if proxy_x is None:
        return x_cls
    return np.concatenate([x_cls, proxy_x[np.asarray(classes)]], axis=1)


def load_proxy_features(path: Path, meta: dict) -> np.ndarray | None:
    """The saved per-class proxy features of a model that takes proxies, else None."""
    names = meta.get("config", {}).get("proxies", [])
    return load_columns(path / PROXY_FILE, len(names), "proxy") if names else None


def load_columns(file: Path, width: int, what: str) -> np.ndarray:
    try:
        out = np.load(file, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise SurrogateError(f"{file}: the model's {what} features cannot be read: {err}") from err
    if out.ndim != 2 or out.shape[1] != width or out.dtype != np.float32:
        raise SurrogateError(f"{file} holds {out.dtype} {out.shape}, not float32 (classes, "
                             f"{width}) {what} features")  # fmt: skip
    return out
