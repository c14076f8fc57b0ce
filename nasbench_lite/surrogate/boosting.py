"""XGBoost boosters for the surrogate: grouped cross-validation and out-of-fold errors."""

from __future__ import annotations

import warnings

import numpy as np

from nasbench_lite.surrogate.features import SurrogateError

# A compact grid: depth and learning rate matter most for boosted trees on a few hundred
# to a few thousand classes; the number of rounds is set per point by early stopping.
GRID = (
    {"max_depth": 4, "learning_rate": 0.1},
    {"max_depth": 6, "learning_rate": 0.1},
    {"max_depth": 6, "learning_rate": 0.05},
    {"max_depth": 8, "learning_rate": 0.05},
)

BASE_PARAMS = {"subsample": 0.8, "colsample_bytree": 0.5, "min_child_weight": 1.0}

MAX_ROUNDS = 600


def direction(metric: str) -> int:
    """The epoch's monotone constraint for a curve: accuracies rise, losses fall."""
    return 1 if metric.endswith("_acc") else -1 if metric.endswith("_loss") else 0


def bounded(metric: str, values: np.ndarray) -> np.ndarray:
    """Accuracies clipped to [0, 1], losses and other curves to >= 0."""
    return np.clip(values, 0.0, 1.0) if metric.endswith("_acc") else np.maximum(values, 0.0)


def booster_params(point: dict, seed: int) -> dict:
    return {**BASE_PARAMS, **point, "objective": "reg:squarederror", "seed": int(seed),
            "nthread": 0, "tree_method": "hist"}  # fmt: skip


def train_booster(x, y, params: dict, rounds: int, monotone: tuple[int, ...] | None = None):
    import xgboost as xgb

    params = dict(params)
    if monotone is not None:
        params["monotone_constraints"] = "(" + ",".join(str(m) for m in monotone) + ")"
    return xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=rounds)


def member_predictions(boosters: dict, name: str, members: int, x: np.ndarray) -> np.ndarray:
    """(members, n) float64: boosters `<name>/0` .. `<name>/<members - 1>` on rows `x`."""
    import xgboost as xgb

    data = xgb.DMatrix(x)
    return np.stack([boosters[f"{name}/{m}"].predict(data) for m in range(members)]).astype(
        np.float64
    )


def epoch_rows(x_cls: np.ndarray, epochs: int) -> np.ndarray:
    """(classes * epochs, F + 1) rows: the class features with the epoch fraction appended."""
    k = len(x_cls)
    fraction = np.tile((np.arange(epochs) + 1) / epochs, k)[:, None]
    return np.concatenate([np.repeat(x_cls, epochs, axis=0), fraction], axis=1)


def cross_validate(
    x, y, groups, grid, folds: int, seed: int, monotone=None
) -> tuple[dict, int, list]:
    """Choose (point, rounds) by K-fold CV with folds over `groups` (class ids): the lowest
    mean validation RMSE over the grid, rounds by early stopping. Returns (point, rounds,
    per-point scores)."""
    import xgboost as xgb

    unique = np.unique(groups)
    if len(unique) < folds * 2:
        raise SurrogateError(
            f"{len(unique)} training classes are too few to cross-validate with {folds} "
            f"folds (need at least {folds * 2}); raise train_fraction"
        )
    fold = class_folds(groups, folds, seed)
    scores = []
    for point in grid:
        params = booster_params(point, seed)
        if monotone is not None:
            params["monotone_constraints"] = "(" + ",".join(str(m) for m in monotone) + ")"
        rmse, best = [], []
        for f in range(folds):
            train, valid = fold != f, fold == f
            dtrain = xgb.DMatrix(x[train], label=y[train])
            dvalid = xgb.DMatrix(x[valid], label=y[valid])
            booster = xgb.train(params, dtrain, MAX_ROUNDS, evals=[(dvalid, "valid")],
                                early_stopping_rounds=30, verbose_eval=False)  # fmt: skip
            rmse.append(booster.best_score)
            best.append(booster.best_iteration + 1)
        scores.append({"point": point, "rmse": float(np.mean(rmse)), "rounds": int(np.mean(best))})
    chosen = min(scores, key=lambda s: s["rmse"])
    return chosen["point"], chosen["rounds"], scores


def class_folds(groups, folds: int, seed: int) -> np.ndarray:
    """(len(groups),) the fold of each row: its class (`groups`) drawn into one of K folds,
    the same for every caller with the same seed."""
    unique = np.unique(groups)
    order = np.random.default_rng(seed).permutation(unique)
    fold_of = dict(zip(order.tolist(), (np.arange(len(order)) % folds).tolist(), strict=True))
    return np.array([fold_of[int(g)] for g in groups])


def out_of_fold_predictions(
    x, y, groups, params: dict, rounds: int, folds: int, seed: int, monotone=None
) -> np.ndarray:
    """(len(y),) each row's prediction by a model fitted on the other K-1 folds of classes
    (`class_folds`, the folds of `cross_validate`); rows whose `y` is NaN (an epoch the
    table did not evaluate) are not trained on."""
    import xgboost as xgb

    fold = class_folds(groups, folds, seed)
    params = dict(params)
    if monotone is not None:
        params["monotone_constraints"] = "(" + ",".join(str(m) for m in monotone) + ")"
    predicted = np.empty(len(y), np.float64)
    known = np.isfinite(y)
    for f in range(folds):
        train, valid = (fold != f) & known, fold == f
        booster = xgb.train(params, xgb.DMatrix(x[train], label=y[train]), rounds)
        predicted[valid] = booster.predict(xgb.DMatrix(x[valid]))
    return predicted


def epoch_rmse(predicted: np.ndarray, y: np.ndarray, epochs: int) -> list[float]:
    """Per epoch (E,), the RMSE of `predicted` against `y` (rows class-major, one per (class,
    epoch)); NaN for an epoch without any finite `y`."""
    squared = ((predicted - y) ** 2).reshape(-1, epochs)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # epochs never evaluated
        return np.sqrt(np.nanmean(squared, axis=0)).tolist()


SEEDS_NEEDED = "the seed noise cannot be modelled without two seeds; fit on a table of 2 or more"


def check_fit_table(table, targets: tuple[str, ...]) -> None:
    """SurrogateError, before any fit, unless `table` holds the `targets` as curves and has
    the two seeds a seed-noise model needs."""
    curves = [m for m, axes in table.metric_axes.items() if "epochs" in axes]
    unknown = [m for m in targets if m not in curves]
    if unknown:
        raise SurrogateError(
            f"cannot model {unknown}: the targets are curves of the table; it holds {curves}"
        )
    if table.num_seeds < 2:
        raise SurrogateError(f"{table.source}: {SEEDS_NEEDED}")


def seed_spread_rows(y: np.ndarray, spread: np.ndarray, source: object) -> np.ndarray:
    """The rows the seed-noise model learns from: a finite target and a seed spread (a class
    with two seeds that did not diverge). SurrogateError naming `source` when there are
    none (a table of one seed): the model would say a seed never varies."""
    known = np.isfinite(y) & np.isfinite(spread)
    if not known.any():
        raise SurrogateError(
            f"{source}: no training class has two seeds that did not diverge; {SEEDS_NEEDED}"
        )
    return known
