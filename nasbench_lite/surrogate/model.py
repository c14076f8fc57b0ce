"""XGBoost surrogate of a table: predicts whole learning curves and training time of any
cell, seen or unseen, with a noise model (NAS-Bench-301's idea, Siems, Zela et al. 2020).

`Surrogate.fit(table, train_fraction, seed)` trains on that share of the table's classes
(a seeded uniform draw; the rest are held out and recorded in the model) and
`predict(raws, epoch=None, metric="valid_acc") -> (mean, std)` answers for any raw cells.

Model, per accuracy metric (`valid_acc`, `test_acc`):

* **mean**: a bagging ensemble of boosters (each on a bootstrap sample of the training
  classes), one row per (class, epoch) with the epoch as a feature under a monotone
  (non-decreasing) constraint, target the seed-mean accuracy at that epoch. One model for
  every epoch rather than one per epoch: curves share most of their structure, and the
  constraint makes every predicted curve non-decreasing by construction. The members'
  spread is the model's own uncertainty.
* **final epoch**: a second ensemble, one row per class, target the last epoch's seed mean
  (own CV'd hyperparameters; member m on member m's sample), sets where each curve ends; the
  curve shifts alike at every epoch. The per-epoch model alone spends its error on early
  epochs: on `mnist1d_short_warped` it ranked the last epoch at Kendall 0.66-0.71, this 0.78.
* **seed noise**: a booster on the same rows whose target is the seed standard deviation,
  so a cell's predicted spread follows how noisy cells like it train.

* **error**: a booster on the same rows whose target is the absolute out-of-fold error of
  the mean (predictions for classes left out of K-fold fits) times sqrt(pi/2), the SD a
  normal error of that mean absolute size has: how far the model misses cells like this one.

`std` combines the seed noise and the cell's error in quadrature: one seed's scatter about a
prediction. The out-of-fold error already holds the model's own uncertainty, so the
ensemble's spread is not added again. A single out-of-fold RMSE per epoch (`error_std`,
still recorded) made every interval alike: its errors are heavy-tailed (most cells predicted
closely, a few missed far), so the 68% intervals held 82-91% of held-out seeds; with the
error model 73-75% (95%: 95%), on the `cpu` and `mnist1d_short_warped` tables. Models saved
before it (format 3 and older) still combine the ensemble's spread, the noise and
`error_std`. `train_seconds` has one ensemble on log seconds without an epoch feature, so a
cell's time is the same at every query (scaled by e / epochs like the table's). Raw cells
are mapped to their class representative before featurisation: every cell of a class gets
the same prediction. Hyperparameters are chosen by K-fold cross-validation over training
classes only. Fitted with `related` tables (other tasks of the same space; `fit_blend`), the
model keeps each class's final validation accuracy there, fits a least-squares line of this
task's final value on them over the training classes, and blends the line with the mean
model at the last epoch, with the weight whose out-of-fold error on the training classes is
lowest; the blend shifts a class's whole curve alike, so curves stay non-decreasing: 1% of a
new task's classes and the other tasks' measurements rank the rest. `save`/`load`: XGBoost's
UBJSON models and one JSON of metadata, no pickle; `load` checks each model's structure
before XGBoost reads it (`ubjson.check_ubjson`)."""

from __future__ import annotations

import dataclasses
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.surrogate.boosting import (
    booster_params,
    bounded,
    check_fit_table,
    class_folds,
    cross_validate,
    direction,
    epoch_rmse,
    epoch_rows,
    member_predictions,
    out_of_fold_predictions,
    seed_spread_rows,
    train_booster,
)
from nasbench_lite.surrogate.config import ABS_TO_SD, ACCURACIES, MAX_SEED, SurrogateConfig
from nasbench_lite.surrogate.features import (
    SurrogateError,
    check_proxies,
    check_table,
    features,
    proxy_columns,
    table_identity,
    with_proxies,
)
from nasbench_lite.surrogate.files import FORMAT_VERSION, model_versions, read_model, save_model
from nasbench_lite.surrogate.related import (
    blend_shift,
    fit_blend,
    related_columns,
    related_identity,
)


class Surrogate:
    """A fitted surrogate: boosters per target, metadata, held-out classes. Build with
    `Surrogate.fit` or `Surrogate.load`."""

    def __init__(self, boosters: dict[str, list], meta: dict[str, Any],
                 proxy_features: np.ndarray | None = None,
                 related_features: np.ndarray | None = None) -> None:  # fmt: skip
        self.boosters = boosters  # "valid_acc/mean/0", ... -> xgboost.Booster
        self.meta = meta
        # float32 (num_unique, P) per-class proxy features (None: the model takes none)
        self.proxy_features = proxy_features
        # float32 (num_unique, R) per-class final validation accuracy on R related tasks
        # (`fit(related=...)`; None: fitted without)
        self.related_features = related_features
        self._space = None

    # ---- fitting --------------------------------------------------------------------

    @classmethod
    def fit(
        cls,
        table,
        train_fraction: float = 0.1,
        seed: int = 0,
        config: SurrogateConfig | None = None,
        progress=None,
        related=(),
    ) -> Surrogate:
        """Fit on `train_fraction` of the table's done classes (a uniform draw with
        default_rng(seed)); `progress(message)` is called between the models.

        `related`: tables of other tasks in the same space (`Table`s). Each class's final
        validation accuracy on each of them is kept in the model, and the prediction is
        blended with a line on them (`fit_blend`): a few classes of a new task, with what
        other tasks measured of every class, rank the rest (transfer across tasks;
        `benchmarks/surrogate_quality.py --related`)."""
        config = config or SurrogateConfig()
        targets = tuple(dict.fromkeys(("valid_acc", *config.targets)))
        check_fit_table(table, targets)
        check_int("seed", seed, 0, MAX_SEED)  # members seed XGBoost with seed x 1000 + m
        real = isinstance(train_fraction, (int, float, np.integer, np.floating))
        if not real or isinstance(train_fraction, bool) or not 0 < train_fraction < 1:
            raise SurrogateError(f"train_fraction {train_fraction!r} is not in (0, 1)")
        say = progress or (lambda message: None)
        started, cpu = time.perf_counter(), time.process_time()
        identity = table_identity(table)
        done = np.flatnonzero(table.done)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # rows not done, epochs not tested
            rows_mean = {m: np.nanmean(table.metric(m), axis=1) for m in targets}
        usable = done[np.isfinite(rows_mean["valid_acc"][done]).all(axis=1)]
        rng = np.random.default_rng(seed)
        count = round(train_fraction * len(usable))
        train_rows = np.sort(rng.choice(usable, count, replace=False))
        held_rows = np.setdiff1d(usable, train_rows)
        row_class = np.asarray(table.space.canonical_ids)[table.row_raw]
        proxy_x = proxy_columns(table, check_proxies(config.proxies)) if config.proxies else None
        related = tuple(related)
        related_x = related_columns(table, related) if related else None
        x_cls = features(table, table.row_raw[train_rows], config.features)
        x_cls = with_proxies(x_cls, proxy_x, row_class[train_rows])
        trained = related_x[row_class[train_rows]] if related else None
        epochs = table.num_epochs
        x = epoch_rows(x_cls, epochs)
        groups = np.repeat(row_class[train_rows], epochs)
        monotone = (0,) * x_cls.shape[1] + (1,)  # validation accuracy rises with epochs
        say(f"cross-validating {len(config.grid)} hyperparameter points x {config.folds} "
            f"folds on {len(train_rows)} training classes")  # fmt: skip
        y_valid = rows_mean["valid_acc"][train_rows].reshape(-1)
        point, rounds, scores = cross_validate(
            x, y_valid, groups, config.grid, config.folds, seed, monotone
        )
        params = booster_params(point, seed)
        final_fit = None  # hyperparameters of the final-epoch boosters, by the same CV
        if config.final_model:
            y_end = rows_mean["valid_acc"][train_rows][:, -1]
            point, end_rounds, end_scores = cross_validate(
                x_cls, y_end, row_class[train_rows], config.grid, config.folds, seed
            )
            params_end = booster_params(point, seed)
            final_fit = {"params": params_end, "rounds": end_rounds, "cv_scores": end_scores}
        boosters: dict[str, Any] = {}
        error_std: dict[str, list[float]] = {}
        prior: dict[str, dict] = {}
        for metric in targets:
            y = rows_mean[metric][train_rows].reshape(-1)
            monotone = (0,) * x_cls.shape[1] + (direction(metric),)
            for m in range(config.members):
                say(f"{metric}: ensemble member {m + 1} of {config.members}")
                pick = np.random.default_rng([seed, m]).choice(len(train_rows), len(train_rows))
                idx = (pick[:, None] * epochs + np.arange(epochs)).reshape(-1)
                idx = idx[np.isfinite(y[idx])]  # epochs the table evaluated (v2: test once)
                member = {**params, "seed": int(seed * 1000 + m)}
                boosters[f"{metric}/mean/{m}"] = train_booster(
                    x[idx], y[idx], member, rounds, monotone
                )
                if final_fit:  # the same bootstrap sample: member m's shift is its own
                    end = y.reshape(-1, epochs)[pick, -1]
                    ok, seeded = np.isfinite(end), {**final_fit["params"], "seed": member["seed"]}
                    boosters[f"{metric}/final/{m}"] = train_booster(
                        x_cls[pick][ok], end[ok], seeded, final_fit["rounds"])  # fmt: skip
            say(f"{metric}: out-of-fold error of the mean")
            oof = out_of_fold_predictions(
                x, y, groups, params, rounds, config.folds, seed, monotone
            )
            if final_fit:  # each class's curve shifted to its final-epoch prediction
                final_oof = out_of_fold_predictions(
                    x_cls, y.reshape(-1, epochs)[:, -1], row_class[train_rows],
                    final_fit["params"], final_fit["rounds"], config.folds, seed,
                )  # fmt: skip
                oof = oof + np.repeat(final_oof - oof.reshape(-1, epochs)[:, -1], epochs)
            if related:
                final = rows_mean[metric][train_rows][:, -1]
                fold = class_folds(groups, config.folds, seed)[::epochs]
                prior[metric], shift = fit_blend(oof.reshape(-1, epochs)[:, -1], trained,
                                                 final, fold)  # fmt: skip
                oof = oof + np.repeat(shift, epochs)
            error_std[metric] = [None if not np.isfinite(e) else e
                                 for e in epoch_rmse(oof, y, epochs)]  # fmt: skip
            say(f"{metric}: out-of-fold error model")
            seen = np.isfinite(y) & np.isfinite(oof)
            residual = np.abs(oof - y)[seen] * ABS_TO_SD
            boosters[f"{metric}/error/0"] = train_booster(x[seen], residual, params, rounds)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # epochs not evaluated
                spread = np.nanstd(table.metric(metric)[train_rows], axis=1, ddof=1)
            spread = spread.reshape(-1)
            say(f"{metric}: seed-noise model")
            known = seed_spread_rows(y, spread, table.source)
            boosters[f"{metric}/noise/0"] = train_booster(x[known], spread[known], params, rounds)
        seconds = np.nanmean(table.metric("train_seconds")[train_rows], axis=1)
        for m in range(config.members):
            pick = np.random.default_rng([seed, m, 1]).choice(len(train_rows), len(train_rows))
            member = {**params, "seed": int(seed * 1000 + m)}
            boosters[f"train_seconds/mean/{m}"] = train_booster(
                x_cls[pick], np.log(seconds[pick]), member, rounds
            )
        meta = {
            # A reader must apply what the model holds: final-epoch boosters (3), a blend
            # with related tasks (2); 1 has neither.
            "format_version": FORMAT_VERSION,  # every fit now has the error model (4)
            "table": identity,
            "related": [related_identity(other) for other in related],
            "related_prior": prior,
            "train_fraction": float(train_fraction), "seed": int(seed),
            "config": {**dataclasses.asdict(config), "grid": list(config.grid),
                       "targets": list(targets), "proxies": list(config.proxies)},
            "hyperparameters": {**params, "rounds": rounds}, "cv_scores": scores,
            "final_epoch": final_fit and {**final_fit["params"], "rounds": final_fit["rounds"],
                                          "cv_scores": final_fit["cv_scores"]},
            "error_std": error_std,
            "train_classes": row_class[train_rows].tolist(),
            "held_out_classes": row_class[held_rows].tolist(),
            "fit_seconds": time.perf_counter() - started,
            # Process CPU seconds, all threads: unlike wall time, barely stretched by other
            # processes on the cores.
            "fit_cpu_seconds": time.process_time() - cpu,
            "versions": model_versions(),
        }  # fmt: skip
        return cls(boosters, meta, proxy_x, related_x)

    # ---- predicting -----------------------------------------------------------------

    @property
    def space(self):
        if self._space is None:
            from nasbench_lite.spaces import get_space

            self._space = get_space(self.meta["table"]["space"])
        return self._space

    @property
    def targets(self) -> tuple[str, ...]:
        """The metrics it predicts: the modelled curves, then train_seconds."""
        curves = self.meta.get("config", {}).get("targets", ACCURACIES)
        return (*curves, "train_seconds")

    @property
    def epochs(self) -> int:
        return int(self.meta["table"]["epochs"])

    def predict(
        self, raws, epoch: int | None = None, metric: str = "valid_acc", spread: str = "total"
    ) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) float64 (n,) of `metric` for raw cells `raws` (n,) at `epoch` (1-based;
        None: the last), accuracies in [0, 1]. std, spread "total": the seed-noise model's and
        the error model's (the cell's predicted out-of-fold error) in quadrature, one seed's
        scatter about the prediction, at least one example's weight 1/N (intervals; a
        model before format 4: the ensemble's
        spread, the noise and one out-of-fold error per epoch); "seed": the seed-noise
        model's alone, one seed's scatter about the mean (noisy queries).
        train_seconds: the run's time x epoch / epochs, std the ensemble's spread."""
        if spread not in ("total", "seed"):
            raise SurrogateError(f"spread {spread!r} is not 'total' or 'seed'")
        raws = self._check_raws(raws)
        epoch = self._check_epoch(epoch)
        if metric not in self.targets:
            raise SurrogateError(
                f"unknown metric {metric!r}; the surrogate predicts {self.targets}"
            )
        # Every cell of a class has the class's features: predict once per class present.
        classes, inverse = np.unique(np.asarray(self.space.canonical_ids)[raws],
                                     return_inverse=True)  # fmt: skip
        reps = np.asarray(self.space.representatives)[classes]
        x_cls = features(self.meta["table"], reps, tuple(self.meta["config"]["features"]))
        x_cls = with_proxies(x_cls, self.proxy_features, classes)
        members = self.meta["config"]["members"]

        def run(kind: str, x: np.ndarray) -> np.ndarray:  # (members, classes) float64
            return member_predictions(self.boosters, f"{metric}/{kind}", members, x)

        if metric == "train_seconds":
            seconds = np.exp(run("mean", x_cls)) * (epoch / self.epochs)
            return seconds.mean(axis=0)[inverse], seconds.std(axis=0)[inverse]
        fraction = np.full((len(reps), 1), epoch / self.epochs, np.float32)
        x = np.concatenate([x_cls, fraction], axis=1)
        preds = run("mean", x)
        has_final = f"{metric}/final/0" in self.boosters
        if has_final or self.related_features is not None:
            # Each member's curve at the last epoch.
            last = preds.copy() if epoch == self.epochs else run("mean", epoch_rows(x_cls, 1))
            if has_final:  # the final-epoch boosters set the curve's end; it shifts alike
                ends = run("final", x_cls)
                preds, last = preds + ends - last, ends
            if self.related_features is not None:  # the blend is set at the last epoch
                preds += blend_shift(self.meta["related_prior"][metric],
                                     self.related_features[classes], last.mean(axis=0))  # fmt: skip
        noise = np.clip(member_predictions(self.boosters, f"{metric}/noise", 1, x)[0], 0.0, None)
        mean = bounded(metric, preds.mean(axis=0))
        # A model saved before the out-of-fold error was recorded has none (0). None: the
        # table never evaluated this metric at this epoch (protocol v2 tests once), so neither
        # does the model.
        error = self.meta.get("error_std", {}).get(metric, [0.0] * self.epochs)[epoch - 1]
        if error is None:
            nan = np.full(len(inverse), np.nan)
            return nan, nan.copy()
        if spread == "seed":
            std = noise
        elif self.meta.get("format_version", 1) >= 4:  # the cell's own out-of-fold error
            if f"{metric}/error/0" not in self.boosters:
                raise SurrogateError(f"the model lacks its {metric} error model: refit it")
            miss = np.clip(member_predictions(self.boosters, f"{metric}/error", 1, x)[0], 0, None)
            # At least one example's weight: an accuracy on N examples moves in steps of 1/N
            # (a dead cell's seeds agree exactly, and both models may predict 0 for it).
            std = np.maximum(np.sqrt(noise**2 + miss**2), self._step(metric))
        else:  # a model fitted before the error model: one error for every cell
            std = np.sqrt(preds.var(axis=0) + noise**2 + error**2)
        return mean[inverse], std[inverse]

    def _step(self, metric: str) -> float:
        """1 / the examples `metric` is measured on (0 where the model does not record it)."""
        split = {"valid_acc": "valid", "test_acc": "test"}.get(metric)
        splits = (self.meta["table"].get("dataset_identity") or {}).get("splits") or {}
        limit = (self.meta["table"].get("train_config") or {}).get("eval_examples")
        n = min(x for x in (splits.get(split), limit) if x) if splits.get(split) else None
        return 1.0 / n if n else 0.0

    def sample(self, raws, rng: np.random.Generator, epoch=None, metric="valid_acc"):
        """One noisy draw per cell from N(mean, std), clipped to [0, 1] (accuracies)."""
        mean, std = self.predict(raws, epoch, metric)
        draw = mean + std * rng.standard_normal(len(mean))
        return bounded(metric, draw)

    def _check_raws(self, raws) -> np.ndarray:
        arr = np.asarray(raws)
        if arr.ndim == 0:
            arr = arr[None]
        if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
            raise SurrogateError(f"raws must be int indices (n,), got {arr.dtype} {arr.shape}")
        bad = (arr < 0) | (arr >= self.space.num_cells)
        if bad.any():
            raise SurrogateError(
                f"raw index {int(arr[bad][0])} is outside 0..{self.space.num_cells - 1}"
            )
        return arr.astype(np.int64)

    def _check_epoch(self, epoch) -> int:
        if epoch is None:
            return self.epochs
        bad = isinstance(epoch, (bool, np.bool_)) or not isinstance(epoch, (int, np.integer))
        if bad or not 1 <= epoch <= self.epochs:
            raise SurrogateError(f"epoch {epoch!r} is outside 1..{self.epochs}")
        return int(epoch)

    # ---- files ----------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write the model into directory `path` (`files.save_model`); returns it."""
        return save_model(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Surrogate:
        """Read a model written by `save`; SurrogateError names the file and the problem."""
        return cls(*read_model(path))

    def check_table(self, table) -> None:
        """Raise SurrogateError unless `table` matches this model (`features.check_table`)."""
        check_table(self.meta, table)

    def __repr__(self) -> str:
        t = self.meta["table"]
        related = [r["dataset"] for r in self.meta.get("related", [])]
        also = f", related tasks {related}" if related else ""
        return (f"Surrogate({t['space']}/{t['dataset']}, {len(self.meta['train_classes'])} "
                f"training classes, {len(self.meta['held_out_classes'])} held out"
                f"{also})")  # fmt: skip
