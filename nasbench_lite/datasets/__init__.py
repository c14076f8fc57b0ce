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
from typing import Any

from nasbench_lite import plugins
from nasbench_lite.datasets.builtin import cache_dir, load_digits, load_mnist1d, mnist1d_arrays
from nasbench_lite.datasets.dataset import SPLIT_SEED, Dataset, build_dataset, standardise
from nasbench_lite.datasets.files import CIFAR10_FILES, IDX_FILES, load_cifar10, load_idx
from nasbench_lite.errors import InputError

# name -> loader(data_dir) -> Dataset. The first entry is the default. Another package adds
# one through the entry-point group nasbench_lite.datasets (name -> such a loader).
DATASETS: dict[str, Callable[[str | os.PathLike | None], Dataset]] = {
    "mnist1d": load_mnist1d,
    "digits": load_digits,
    "cifar10": load_cifar10,
    "fashion_mnist": functools.partial(load_idx, "fashion_mnist"),
    "mnist": functools.partial(load_idx, "mnist"),
}


def available_datasets() -> list[str]:
    """Dataset names: ours in registry order, then the plug-ins' (entry-point group
    ``nasbench_lite.datasets``), sorted."""
    return [*DATASETS, *_plugins()]


def _plugins() -> dict[str, Any]:
    return plugins.entry_points_beside(plugins.DATASETS, DATASETS, "dataset")


def load_dataset(name: str = "mnist1d", data_dir: str | os.PathLike | None = None) -> Dataset:
    """Load dataset `name` from the registry DATASETS, or from a plug-in.

    data_dir: the directory holding the files of cifar10, fashion_mnist and mnist; must be
    None for the built-in mnist1d and digits.
    """
    if name in DATASETS:
        return DATASETS[name](data_dir)
    found = _plugins() if isinstance(name, str) else {}
    if name not in found:
        raise InputError(f"unknown dataset {name!r}; available: {', '.join([*DATASETS, *found])}")
    data = plugins.load(found[name], "dataset")(data_dir)
    if not isinstance(data, Dataset):
        raise InputError(
            f"dataset plug-in {name!r} ({found[name].value}) returned {type(data).__name__}, "
            "not a nasbench_lite.datasets.Dataset"
        )
    return data


__all__ = [
    "CIFAR10_FILES",
    "DATASETS",
    "IDX_FILES",
    "SPLIT_SEED",
    "Dataset",
    "available_datasets",
    "build_dataset",
    "cache_dir",
    "load_dataset",
    "mnist1d_arrays",
    "standardise",
]
