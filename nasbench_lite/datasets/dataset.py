"""The `Dataset` record: three standardised splits of one classification dataset."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from nasbench_lite.errors import InputError

# Seed of every fixed split carved by this package (MNIST-1D's validation split, the digits
# split). Fixed so that every table built from a dataset sees the same examples.
SPLIT_SEED = 0

SPLIT_NAMES = ("train", "valid", "test")


# eq=False: field-wise == on NumPy arrays is ambiguous; datasets compare by identity.
@dataclass(frozen=True, eq=False)
class Dataset:
    """Train, validation and test splits, standardised with training statistics.

    x_*: float32, channels-last: (n, L, C) for 1-D data, (n, H, W, C) for images.
    y_*: int32 (n,), class ids in [0, num_classes).
    """

    name: str
    x_train: np.ndarray
    x_valid: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_valid: np.ndarray
    y_test: np.ndarray
    num_classes: int

    def __post_init__(self) -> None:
        shape = self.x_train.shape[1:]
        for split in SPLIT_NAMES:
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != np.float32 or y.dtype != np.int32:
                raise InputError(
                    f"dataset {self.name!r}: {split} split must be float32 inputs and int32 "
                    f"labels, got {x.dtype} and {y.dtype}"
                )
            if x.shape[1:] != shape or y.shape != x.shape[:1]:
                raise InputError(
                    f"dataset {self.name!r}: {split} split has inputs {x.shape} and labels "
                    f"{y.shape}; expected (n, *{shape}) and (n,)"
                )
            if y.size and (y.min() < 0 or y.max() >= self.num_classes):
                raise InputError(
                    f"dataset {self.name!r}: {split} labels span [{y.min()}, {y.max()}], "
                    f"outside [0, {self.num_classes})"
                )

    @property
    def splits(self) -> dict[str, int]:
        """Number of examples per split: {"train": n, "valid": n, "test": n}."""
        return {split: len(getattr(self, f"y_{split}")) for split in SPLIT_NAMES}

    def take(self, n_train: int, n_valid: int, n_test: int) -> Dataset:
        """The first n examples of each split (views; standardisation is left as is)."""
        sizes = {"train": n_train, "valid": n_valid, "test": n_test}
        arrays = {}
        for split, n in sizes.items():
            if not 0 <= n <= self.splits[split]:
                raise InputError(
                    f"dataset {self.name!r}: cannot take {n} {split} examples; the split "
                    f"holds {self.splits[split]}"
                )
            arrays[f"x_{split}"] = getattr(self, f"x_{split}")[:n]
            arrays[f"y_{split}"] = getattr(self, f"y_{split}")[:n]
        return dataclasses.replace(self, **arrays)


def standardise(x_train: np.ndarray, *others: np.ndarray) -> tuple[np.ndarray, ...]:
    """Subtract the per-channel training mean and divide by the training std.

    x_train: (n, ..., C), any numeric dtype; `others` share the trailing shape.
    Returns float32 arrays (x_train, *others). The statistics come from x_train alone, so
    nothing about the validation or test examples leaks into the inputs. A constant
    channel (std 0) is only centred.
    """
    x_train = np.asarray(x_train, dtype=np.float32)
    axes = tuple(range(x_train.ndim - 1))
    # Accumulate in float64: float32 sums over millions of pixels lose digits.
    mean = x_train.mean(axis=axes, dtype=np.float64)
    std = np.sqrt(np.square(x_train - mean.astype(np.float32)).mean(axis=axes, dtype=np.float64))
    std = np.where(std > 0, std, 1.0)
    mean, std = mean.astype(np.float32), std.astype(np.float32)
    return tuple((np.asarray(x, dtype=np.float32) - mean) / std for x in (x_train, *others))


def build_dataset(
    name: str,
    train: tuple[np.ndarray, np.ndarray],
    valid: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    num_classes: int,
) -> Dataset:
    """Standardise raw (x, y) splits with training statistics and wrap them in a Dataset.

    x: (n, ..., C) channels-last, any numeric dtype; y: (n,) integer labels.
    """
    x_train, x_valid, x_test = standardise(train[0], valid[0], test[0])
    return Dataset(
        name=name,
        x_train=x_train,
        x_valid=x_valid,
        x_test=x_test,
        y_train=np.asarray(train[1], dtype=np.int32),
        y_valid=np.asarray(valid[1], dtype=np.int32),
        y_test=np.asarray(test[1], dtype=np.int32),
        num_classes=num_classes,
    )


def last_tenth_split(
    x: np.ndarray, y: np.ndarray, source: str
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Split an official training set in file order: the last n // 10 examples validate.

    For CIFAR-10's 50,000 this is the last 5,000; for MNIST's 60,000 the last 6,000.
    `source` names the files in the error raised when fewer than 10 examples are given.
    """
    n_valid = len(y) // 10
    if n_valid == 0:
        raise InputError(
            f"{source}: {len(y)} training examples are too few to carve a validation split "
            "(the last tenth of the training set); at least 10 are needed"
        )
    cut = len(y) - n_valid
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
