"""Datasets the cells are trained on, by name, as standardised train/valid/test splits.

NumPy only at import; mnist1d and scikit-learn are imported by the loaders that use them.

    >>> data = load_dataset("mnist1d")
    >>> data.splits
    {'train': 3000, 'valid': 1000, 'test': 1000}
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable

from nasbench_lite.datasets.builtin import cache_dir, load_digits, load_mnist1d, mnist1d_arrays
from nasbench_lite.datasets.dataset import SPLIT_SEED, Dataset, build_dataset, standardise
from nasbench_lite.datasets.files import CIFAR10_FILES, IDX_FILES, load_cifar10, load_idx
from nasbench_lite.errors import InputError

# name -> loader(data_dir) -> Dataset. The first entry is the default.
DATASETS: dict[str, Callable[[str | os.PathLike | None], Dataset]] = {
    "mnist1d": load_mnist1d,
    "digits": load_digits,
    "cifar10": load_cifar10,
    "fashion_mnist": functools.partial(load_idx, "fashion_mnist"),
    "mnist": functools.partial(load_idx, "mnist"),
}


def load_dataset(name: str = "mnist1d", data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load dataset `name` from the registry DATASETS.

    data_dir: the directory holding the files of cifar10, fashion_mnist and mnist; must be
    None for the built-in mnist1d and digits.
    """
    if name not in DATASETS:
        raise InputError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    return DATASETS[name](data_dir)


__all__ = [
    "CIFAR10_FILES",
    "DATASETS",
    "IDX_FILES",
    "SPLIT_SEED",
    "Dataset",
    "build_dataset",
    "cache_dir",
    "load_dataset",
    "mnist1d_arrays",
    "standardise",
]
