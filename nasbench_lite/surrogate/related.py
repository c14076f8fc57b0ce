"""Other tasks' tables as a start for a new task's surrogate (`Surrogate.fit(related=...)`).

Per class, each related table's seed-mean final validation accuracy (`related_columns`); per
target curve, least-squares lines of this task's final value on them (`fit_lines`: one per
subset of the related tasks, for classes a partial table lacks), blended with the mean
model at the last epoch by the weight whose out-of-fold error over the training classes is
lowest (`fit_blend`). docs/surrogate.md tells why a blend.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.surrogate.features import SurrogateError, load_columns

RELATED_FILE = "related_features.npy"  # a model's per-class related-task features, float32


def related_columns(table, related) -> np.ndarray:
    """float32 (num_unique, len(related)): per class, the seed mean of the final validation
    accuracy each related table measured (another task's table of the same space); NaN for
    classes a table has not trained (the blend leaves them to the model). SurrogateError for a
    table of another space, or one that measured the same task with the same recipe as
    `table` (its values would be the answer, not a hint)."""
    import warnings

    from nasbench_lite.search.sources import task_identity

    space = table.space
    mine = task_identity(table)  # identity and recipe, as the transfer sources compare them
    out = np.full((space.num_unique, len(related)), np.nan, np.float64)
    for j, other in enumerate(related):
        if other.space.name != space.name:
            raise SurrogateError(
                f"related table {other.source} is of space {other.space.name!r}, but "
                f"{table.source} is of {space.name!r}: related tasks must share the space"
            )
        if task_identity(other) == mine:
            raise SurrogateError(
                f"related table {other.source} measured the same task with the same recipe "
                f"as {table.source}; name tables of other tasks"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows not trained: all NaN
            values = np.nanmean(np.asarray(other.metric("valid_acc")[:, :, -1]), axis=1)
        out[np.asarray(space.canonical_ids)[other.row_raw], j] = values
    return out.astype(np.float32)


def related_identity(table) -> dict[str, Any]:
    """What a model records of a related table: its task, recipe and how much it held."""
    return {
        "dataset": table.attrs["dataset"], "train_config": table.attrs["config"],
        "dataset_identity": table.dataset_identity.to_dict(), "source": str(table.source),
        "rows_done": int(table.done.sum()),
    }  # fmt: skip


def load_related_features(path: Path, meta: dict) -> np.ndarray | None:
    """The saved per-class related-task features of a model fitted with them, else None."""
    related = meta.get("related", [])
    return load_columns(path / RELATED_FILE, len(related), "related-task") if related else None


WEIGHTS = np.linspace(0.0, 1.0, 21)  # the model's share of a blend with the related line


def fit_prior(related: np.ndarray, y: np.ndarray) -> list[float] | None:
    """[intercept, one slope per related task]: the least-squares line of a target's final
    value `y` (n,) on the related tasks' accuracies `related` (n, R), over the classes where
    all are known; None with too few of them to fit a line."""
    usable = np.isfinite(y) & np.isfinite(related).all(axis=1)
    if usable.sum() < related.shape[1] + 3:
        return None
    design = np.column_stack([np.ones(int(usable.sum())), related[usable].astype(np.float64)])
    coef, *_ = np.linalg.lstsq(design, y[usable].astype(np.float64), rcond=None)
    return [float(c) for c in coef]


def apply_prior(coef: list[float] | None, related: np.ndarray) -> np.ndarray:
    """(n,) the line `fit_prior` fitted, at classes whose related accuracies are `related`
    (n, R); NaN where one of them is missing (or without a line)."""
    related = np.asarray(related, np.float64)
    if coef is None:
        return np.full(len(related), np.nan)
    return coef[0] + related @ np.asarray(coef[1:], np.float64)


def fit_lines(related: np.ndarray, y: np.ndarray) -> dict[str, list[float]]:
    """One `fit_prior` line per non-empty subset of the related tasks ("101": the first and
    third), each over the training classes that have those tasks' values, so that a class
    a partial related table lacks is still placed by the tasks it has."""
    lines = {}
    for bits in itertools.product((False, True), repeat=related.shape[1]):
        if any(bits):
            coef = fit_prior(related[:, np.asarray(bits)], y)
            if coef is not None:
                lines["".join("1" if b else "0" for b in bits)] = coef
    return lines


def apply_lines(lines: dict[str, list[float]], related: np.ndarray) -> np.ndarray:
    """(n,) each class placed by the line of exactly the related tasks it has a value for
    (`fit_lines`); NaN for a class with none, or whose subset has no line."""
    related = np.asarray(related, np.float64)
    out = np.full(len(related), np.nan)
    has = np.isfinite(related)
    for key, coef in lines.items():
        bits = np.array([c == "1" for c in key])
        rows = (has == bits).all(axis=1)
        out[rows] = apply_prior(coef, related[rows][:, bits])
    return out


def fit_blend(oof_last, related, y, fold) -> tuple[dict, np.ndarray]:
    """The blend of the mean model with the related tasks' line, at the last epoch: the
    model's weight w (of `WEIGHTS`) whose blend w * model + (1 - w) * line has the lowest
    out-of-fold RMSE on the training classes (the model's out-of-fold predictions
    `oof_last` (n,), the lines refitted without each fold of classes `fold` (n,)); a class
    with no related value keeps the model's prediction. Returns ({"lines": `fit_lines` on
    all, "weight": w}, the out-of-fold shift (n,): (1 - w) * (line - model), 0 where there
    is no line; it moves every epoch of a class's curve alike)."""
    line = np.empty(len(y))
    for f in np.unique(fold):
        inside = fold == f
        line[inside] = apply_lines(fit_lines(related[~inside], y[~inside]), related[inside])
    known = np.isfinite(y) & np.isfinite(oof_last)
    lined = known & np.isfinite(line)
    weight = 1.0
    if lined.any():
        errors = []
        for w in WEIGHTS:
            blended = np.where(lined, w * oof_last + (1 - w) * line, oof_last)
            errors.append(np.sqrt(np.mean((blended[known] - y[known]) ** 2)))
        weight = float(WEIGHTS[int(np.argmin(errors))])
    shift = np.where(lined, (1 - weight) * (line - oof_last), 0.0)
    return {"lines": fit_lines(related, y), "weight": weight}, shift


def blend_shift(blend: dict, related: np.ndarray, last: np.ndarray) -> np.ndarray:
    """(n,) what the blend `blend` ({"lines", "weight"} of `fit_blend`) adds to every epoch
    of n classes whose related accuracies are `related` (n, R) and whose mean model
    predicts `last` (n,) at the last epoch; 0 for a class with no related value."""
    line = apply_lines(blend["lines"], related)
    return np.where(np.isfinite(line), (1 - blend["weight"]) * (line - last), 0.0)
