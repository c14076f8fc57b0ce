"""Datasets the cells are trained on, by name, as standardised train/valid/test splits.

Each has an identity (`dataset_identity`: generator arguments, input shape, classes, split
sizes, the files it reads), which a table records (`table_dataset` reads it back) so that its
data can be rebuilt (`rebuild_dataset`). NumPy only at import; mnist1d and scikit-learn are
imported by the loaders that use them.

    >>> data = load_dataset("mnist1d")
    >>> data.splits
    {'train': 3000, 'valid': 1000, 'test': 1000}
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from typing import Any

from nasbench_lite import plugins
from nasbench_lite.datasets.builtin import (
    DIGITS_IDENTITY,
    MNIST1D_IDENTITY,
    cache_dir,
    load_digits,
    load_mnist1d,
    mnist1d_arrays,
)
from nasbench_lite.datasets.dataset import SPLIT_SEED, Dataset, build_dataset, standardise
from nasbench_lite.datasets.files import (
    CIFAR10_FILES,
    CIFAR10_IDENTITY,
    IDX_FILES,
    IDX_IDENTITIES,
    load_cifar10,
    load_idx,
)
from nasbench_lite.datasets.fingerprint import check_fingerprint, data_fingerprint
from nasbench_lite.datasets.identity import DatasetIdentity, identity_of
from nasbench_lite.datasets.tasks import SUITE, load_task
from nasbench_lite.errors import InputError

# name -> loader(data_dir) -> Dataset. The first entry is the default. Another package adds
# one through the entry-point group nasbench_lite.datasets (name -> such a loader).
DATASETS: dict[str, Callable[[str | os.PathLike | None], Dataset]] = {
    "mnist1d": load_mnist1d,
    "digits": load_digits,
    "cifar10": load_cifar10,
    "fashion_mnist": functools.partial(load_idx, "fashion_mnist"),
    "mnist": functools.partial(load_idx, "mnist"),
    # Protocol v2's suite: MNIST-1D recipes drawn offline (datasets/tasks.py).
    **{name: functools.partial(load_task, task) for name, task in SUITE.items()},
}

# name -> what the dataset is (`DatasetIdentity`), kept next to each loader. A dataset
# registered without one is described from its loaded examples (`dataset_identity`).
IDENTITIES: dict[str, DatasetIdentity] = {
    "mnist1d": MNIST1D_IDENTITY,
    "digits": DIGITS_IDENTITY,
    "cifar10": CIFAR10_IDENTITY,
    **IDX_IDENTITIES,
    **{name: task.dataset_identity() for name, task in SUITE.items()},
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


def dataset_identity(name: str, data: Dataset | None = None) -> DatasetIdentity:
    """The identity of registered dataset `name` (IDENTITIES), with the split sizes of
    `data` (its loaded examples) when given. A dataset without a record is described from
    `data`, or from its examples loaded without data_dir (generator arguments unknown: {}).
    An unknown name raises InputError naming it and the datasets there are."""
    record = IDENTITIES.get(name)  # a plug-in's dataset is described from its examples
    if record is None:
        return identity_of(load_dataset(name) if data is None else data)
    if data is None:
        return record
    return dataclasses.replace(record, splits=dict(data.splits))


def table_dataset(attrs: dict, source: str = "table") -> DatasetIdentity:
    """The dataset identity of a table from its root attributes: the recorded
    `dataset_identity`, or, for a table written before it was recorded, the registered one
    of its `dataset` name (split sizes unknown, None, for a file-based dataset), with the
    table's `dataset_fingerprint` when it records one."""
    if attrs.get("dataset_identity") is not None:
        identity = DatasetIdentity.from_dict(attrs["dataset_identity"], source)
    else:
        identity = dataset_identity(attrs["dataset"])
        identity = dataclasses.replace(identity, splits=None) if identity.needs_files else identity
    return dataclasses.replace(identity, fingerprint=attrs.get("dataset_fingerprint"))


def rebuild_dataset(
    identity: DatasetIdentity,
    data_dir: str | os.PathLike | None = None,
    needed_by: str = "",
) -> Dataset:
    """The examples `identity` describes: its registered loader with `data_dir` (required
    exactly when files are needed; `needed_by` starts the one-line error), checked against
    the record (`DatasetIdentity.check_data`), against this version's generator and, when the
    identity carries one, against the examples' fingerprint (`check_fingerprint`)."""
    needed_by = needed_by or f"dataset {identity.name!r}"
    identity.check_data_dir(data_dir, needed_by)
    data = load_dataset(identity.name, data_dir)
    current = dataset_identity(identity.name, data)
    if current.generator != identity.generator:
        raise InputError(
            f"{needed_by}: dataset {identity.name!r} was made with generator arguments "
            f"{identity.generator}, but this version makes it with {current.generator}"
        )
    identity.check_data(data, needed_by)
    check_fingerprint(identity.fingerprint, data, needed_by)
    return data


__all__ = [
    "CIFAR10_FILES",
    "DATASETS",
    "IDENTITIES",
    "IDX_FILES",
    "SPLIT_SEED",
    "Dataset",
    "available_datasets",
    "DatasetIdentity",
    "build_dataset",
    "cache_dir",
    "check_fingerprint",
    "data_fingerprint",
    "dataset_identity",
    "load_dataset",
    "mnist1d_arrays",
    "rebuild_dataset",
    "standardise",
    "table_dataset",
]
