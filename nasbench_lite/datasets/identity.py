"""A dataset's identity: what a table records so that its examples can be rebuilt and checked.

The record states the dataset's name, how it is made (a generator's arguments and seed; empty
for data read from files), the shape of one input, the number of classes, the size of each
split, and which files, if any, must be found in a directory (`data_dir`). `generate` stores
it in a table as the root attribute `dataset_identity` (docs/table.md); every consumer that
trains on a table's data rebuilds the examples with `nasbench_lite.datasets.rebuild_dataset`,
which asks for `data_dir` exactly when files are needed and refuses data that differs from
the record.
NumPy only: reading an identity loads nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

from nasbench_lite.datasets.dataset import SPLIT_NAMES
from nasbench_lite.errors import InputError

FIELDS = ("name", "generator", "input_shape", "num_classes", "splits", "needs_files", "files")


@dataclass(frozen=True)
class DatasetIdentity:
    """What a dataset is, as plain data (`to_dict` / `from_dict`).

    name: the registered dataset name. generator: the arguments (seed included) of the
    generator that makes the examples; empty for data read from files or bundled.
    input_shape: one example's shape, channels-last, e.g. (40, 1) or (32, 32, 3).
    num_classes: labels are 0..num_classes-1. splits: examples per split of the whole dataset
    ({"train": n, "valid": n, "test": n}, before a trainer config's example limits), or None
    when not known (a file-based dataset of a table that predates the record: the user's files
    decide). files: the file names `data_dir` must hold; empty when nothing is read.
    fingerprint: what the examples themselves were (a table's `dataset_fingerprint`), or None.
    """

    name: str
    input_shape: tuple[int, ...]
    num_classes: int
    generator: dict[str, Any] = field(default_factory=dict)
    splits: dict[str, int] | None = None
    files: tuple[str, ...] = ()
    # The table's `dataset_fingerprint` (fingerprint.py), checked when the examples are
    # rebuilt; not part of the record (`to_dict`), but of equality and the hash (a cache
    # keyed by an identity must not hand one table's examples to another's).
    fingerprint: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def needs_files(self) -> bool:
        """The examples are read from files in a user's directory (`data_dir`)."""
        return bool(self.files)

    def __hash__(self) -> int:  # dict fields: hash the stored form
        return hash(json.dumps([self.to_dict(), self.fingerprint], sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        """The plain JSON-able dict a table stores (keys: FIELDS)."""
        return {
            "name": self.name,
            "generator": dict(self.generator),
            "input_shape": [int(n) for n in self.input_shape],
            "num_classes": int(self.num_classes),
            "splits": None if self.splits is None else {k: int(v) for k, v in self.splits.items()},
            "needs_files": self.needs_files,
            "files": list(self.files),
        }

    @classmethod
    def from_dict(cls, record: Any, source: str = "dataset identity") -> DatasetIdentity:
        """The record `to_dict` wrote; InputError naming `source` when a field is missing."""
        if not isinstance(record, dict):
            raise InputError(f"{source}: a dataset identity must be a dict, got {record!r}")
        missing = [name for name in FIELDS if name not in record]
        if missing:
            raise InputError(f"{source}: dataset identity lacks {', '.join(missing)}")
        return cls(
            name=str(record["name"]),
            input_shape=tuple(int(n) for n in record["input_shape"]),
            num_classes=int(record["num_classes"]),
            generator=dict(record["generator"] or {}),
            splits=None if record["splits"] is None else dict(record["splits"]),
            files=tuple(record["files"]),
        )

    def describe(self) -> str:
        """One line: name, how it is made, input shape, classes, split sizes."""
        if self.needs_files:
            made = f"read from files in data_dir ({', '.join(self.files)})"
        elif self.generator:
            made = "generated with " + ", ".join(f"{k}={v}" for k, v in self.generator.items())
        else:
            made = "built in"
        if self.splits is None:
            sizes = "split sizes not recorded"
        else:
            order = [k for k in SPLIT_NAMES if k in self.splits]  # JSON stores keys sorted
            order += [k for k in self.splits if k not in SPLIT_NAMES]
            sizes = "splits " + " / ".join(f"{k} {self.splits[k]:,}" for k in order)
        shape = "x".join(str(n) for n in self.input_shape)
        return f"{self.name}: {made}; input {shape}, {self.num_classes} classes, {sizes}"

    def check_data_dir(self, data_dir: str | os.PathLike | None, needed_by: str) -> None:
        """InputError (one line, starting with `needed_by`) when files are needed and
        data_dir is None, or none are needed and a data_dir is given. Reads nothing."""
        if self.needs_files and data_dir is None:
            raise InputError(
                f"{needed_by}: dataset {self.name!r} is read from files "
                f"({', '.join(self.files)}); pass data_dir (CLI: --data-dir DIR), the "
                "directory holding them"
            )
        if not self.needs_files and data_dir is not None:
            raise InputError(
                f"{needed_by}: dataset {self.name!r} is built in and reads no files, but "
                f"data_dir={str(data_dir)!r} was given; drop data_dir (CLI: --data-dir)"
            )

    def check_data(self, data: Any, needed_by: str) -> None:
        """InputError unless the loaded `Dataset` matches this record: name, input shape,
        classes and (when recorded) split sizes."""
        got = {
            "name": data.name,
            "input_shape": tuple(data.x_train.shape[1:]),
            "num_classes": int(data.num_classes),
            "splits": data.splits if self.splits is not None else None,
        }
        want = {"name": self.name, "input_shape": tuple(self.input_shape),
                "num_classes": self.num_classes, "splits": self.splits}  # fmt: skip
        for key, value in want.items():
            if got[key] != value:
                raise InputError(
                    f"{needed_by}: the rebuilt dataset {self.name!r} has {key} {got[key]}, "
                    f"but the recorded identity says {value} (different files or generator)"
                )


def identity_of(data: Any, generator: dict | None = None, files: tuple[str, ...] = ()):
    """The identity of a loaded `Dataset` (for a dataset registered without a record)."""
    return DatasetIdentity(
        name=data.name,
        input_shape=tuple(int(n) for n in data.x_train.shape[1:]),
        num_classes=int(data.num_classes),
        generator=dict(generator or {}),
        splits=dict(data.splits),
        files=tuple(files),
    )
