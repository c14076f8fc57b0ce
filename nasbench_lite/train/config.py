"""The training recipe (`TrainConfig`), the named presets, and the per-pair result record."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError

CURVES = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_loss", "test_acc")


@dataclass(frozen=True)
class TrainConfig:
    """Network size and training recipe. Variants are ``dataclasses.replace(config, ...)``."""

    channels: int = 16  # width of the first stage; doubled at each reduction
    cells_per_stage: int = 1
    stages: int = 3
    reduction: str = "residual"  # between stages: "residual" (NB-201's block) or "pool"
    epochs: int = 12
    batch_size: int = 128
    learning_rate: float = 0.1  # peak of the cosine schedule
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 5e-4
    eval_batch_size: int = 500
    train_examples: int | None = None  # use only the first N training examples; None: all
    eval_examples: int | None = None  # evaluate on the first N valid/test examples; None: all
    # False: test split evaluated once, after the last epoch run; earlier test columns NaN
    test_every_epoch: bool = True

    def __post_init__(self) -> None:
        if self.reduction not in ("residual", "pool"):
            raise InputError(
                f"TrainConfig.reduction must be 'residual' or 'pool', got {self.reduction!r}"
            )
        for name in ("channels", "cells_per_stage", "stages", "epochs", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InputError(f"TrainConfig.{name} must be a positive int, got {value!r}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InputError(f"unknown TrainConfig field(s) {unknown}; known: {sorted(known)}")
        return cls(**values)


PRESETS: dict[str, TrainConfig] = {
    # The `cpu` table's recipe (protocol v1), chosen by measurement on a 2-core CPU
    # (benchmarks/preset_candidates.py, docs/trainer.md): NB-201's skeleton at 8 channels
    # with pooling reductions (all spatial processing past the stem is the cell's),
    # 8 epochs of batch 128 at peak learning rate 0.1, all 3,000 training sequences.
    "cpu": TrainConfig(
        channels=8, cells_per_stage=1, stages=3, reduction="pool", epochs=8, batch_size=128
    ),
    # Protocol v2, chosen by benchmarks/suite_study.py (docs/suite_study.md): the cpu
    # preset's network and schedule on a suite task's 6,000 / 5,000 / 5,000 splits
    # (datasets/tasks.py), validation every epoch, test once after the last epoch.
    "v2": TrainConfig(
        channels=8,
        cells_per_stage=1,
        stages=3,
        reduction="pool",
        epochs=8,
        batch_size=128,
        test_every_epoch=False,
    ),
    # For an accelerator: the same skeleton at 16 channels, 12 epochs.
    "gpu": TrainConfig(
        channels=16, cells_per_stage=1, stages=3, reduction="pool", epochs=12, batch_size=128
    ),
    # Tests only: a few seconds per compiled batch.
    "tiny": TrainConfig(
        channels=4,
        cells_per_stage=1,
        stages=2,
        epochs=2,
        batch_size=64,
        eval_batch_size=128,
        train_examples=256,
        eval_examples=256,
    ),
}

# What `generate`, `train_one` and the live backend use unless told otherwise.
DEFAULT_PRESET = "cpu"


def get_preset(name: str) -> TrainConfig:
    """The named preset; a ValueError names the unknown preset and lists the known ones."""
    if name not in PRESETS:
        raise InputError(f"unknown trainer preset {name!r}; available: {sorted(PRESETS)}")
    return PRESETS[name]


@dataclass
class TrainResult:
    """Per-pair results of one ``train_cells`` call (n pairs, E epochs)."""

    metrics: dict[str, np.ndarray]  # CURVES name -> (n, E) float32; NaN after divergence
    diverged: np.ndarray  # (n,) bool
    params: np.ndarray  # (n,) int64
    flops: np.ndarray  # (n,) int64, forward FLOPs for one example
    train_seconds: np.ndarray  # (n,) float64: `cpu_seconds` apportioned by FLOPs
    seconds: float  # measured wall time of the compiled run, compilation excluded
    cpu_seconds: float  # this process's CPU time (all threads) during the same run
    compile_seconds: float  # 0 when this process had already compiled the same program


def splits(data, config: TrainConfig) -> tuple[np.ndarray, ...]:
    """The six split arrays, cut to the config's example limits."""
    n, m = config.train_examples, config.eval_examples
    return (
        np.asarray(data.x_train[:n]),
        np.asarray(data.y_train[:n]),
        np.asarray(data.x_valid[:m]),
        np.asarray(data.y_valid[:m]),
        np.asarray(data.x_test[:m]),
        np.asarray(data.y_test[:m]),
    )


def check_batch(config: TrainConfig, n_train: int) -> None:
    if config.batch_size > n_train:
        raise InputError(f"batch_size {config.batch_size} exceeds the {n_train} training examples")
