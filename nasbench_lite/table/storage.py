"""The table's HDF5 file format, schema v1 (`nasbench_lite.table.schema`): validation, completion,
reading and atomic writing.

Plain dense arrays and plain attributes, no pickles, no compression (a table is a few MB and
must open in milliseconds). docs/table.md describes every dataset and attribute.
"""

from __future__ import annotations

import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from nasbench_lite.errors import InputError, MissingFileError
from nasbench_lite.outputs import write_bytes_atomic
from nasbench_lite.table.ranges import check_ranges
from nasbench_lite.table.schema import (
    ATTRS,
    CURVE_METRICS,
    FIELDS,
    JSON_ATTRS,
    METRICS,
    REQUIRED,
    REQUIRED_ATTRS,
    SCHEMA,
    SCHEMA_VERSION,
    SIZE_DATASETS,
    metric_axes,
    sizes,
)

__all__ = [
    "CURVE_METRICS", "METRICS", "SCHEMA_VERSION", "base_attrs", "check_arrays",
    "complete_arrays", "file_is_complete", "library_versions", "read_arrays", "row_index",
    "versions_differ", "write_arrays", "write_table",
]  # fmt: skip
# The data generators too: another mnist1d release may draw other examples.
VERSION_PACKAGES = ("numpy", "jax", "jaxlib", "flax", "optax", "h5py", "mnist1d", "scikit-learn",
                    "nasbench-lite")  # fmt: skip
# How `library_versions` names this package run from a checkout that is not installed.
SOURCE_SUFFIX = " (source, not installed)"
_INT64_ARRAY_ATTRS = tuple(a.name for a in ATTRS if a.kind == "int64 array")


def library_versions(packages: tuple[str, ...] = VERSION_PACKAGES) -> dict[str, str]:
    """Python and library versions, read from package metadata (imports nothing heavy)."""
    versions = {"python": platform.python_version()}
    for name in packages:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    if versions.get("nasbench-lite") == "not installed":  # run from a checkout on sys.path
        from nasbench_lite import __version__

        versions["nasbench-lite"] = __version__ + SOURCE_SUFFIX
    return versions


def versions_differ(recorded: dict, current: dict) -> bool:
    """Whether two `library_versions` records name another version of a package both
    list (a record written before a package was listed lacks it, and "not installed" says
    nothing of a version: neither is a difference; a checkout run uninstalled is its
    version number)."""

    def version(value):
        return value.removesuffix(SOURCE_SUFFIX) if isinstance(value, str) else value

    return any(
        version(recorded[name]) != version(value)
        for name, value in current.items()
        if name in recorded and "not installed" not in (recorded[name], value)
    )


def base_attrs(
    *,
    space: str,
    dataset: str,
    seeds: list[int],
    epochs: int,
    preset: str = "",
    config: dict | None = None,
    splits: dict | None = None,
    hardware: dict | None = None,
    command: str = "",
) -> dict[str, Any]:
    """A complete set of required root attributes with versions and creation time filled in."""
    return {
        "schema_version": SCHEMA_VERSION,
        "space": space,
        "dataset": dataset,
        "splits": splits or {},
        "preset": preset,
        "config": config or {},
        "seeds": [int(s) for s in seeds],
        "epochs": int(epochs),
        "versions": library_versions(),
        "hardware": hardware or {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "total_compute_seconds": 0.0,
        "command": command,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _attr_to_python(name: str, value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode()
    if name in JSON_ATTRS and isinstance(value, str):
        return json.loads(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def _attr_to_hdf5(name: str, value: Any) -> Any:
    if name in JSON_ATTRS and not isinstance(value, str):
        return json.dumps(value, sort_keys=True)
    if name in _INT64_ARRAY_ATTRS:
        return np.asarray(value, dtype=np.int64)
    return value


def check_arrays(arrays: dict[str, np.ndarray], attrs: dict[str, Any], source: str) -> None:
    """Raise ValueError (naming `source`) unless arrays and attrs form a valid v1 table."""
    # The version first: another schema may name its attributes differently.
    if attrs.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise InputError(
            f"{source}: schema_version {attrs['schema_version']!r} is not supported "
            f"(this version of nasbench-lite reads schema_version {SCHEMA_VERSION})"
        )
    for name in REQUIRED_ATTRS:
        if name not in attrs:
            raise InputError(f"{source}: missing root attribute {name!r} required by schema v1")
    for name in SIZE_DATASETS:
        if name not in arrays:
            raise InputError(f"{source}: missing dataset /{name} required by schema v1")
    axes = sizes(arrays, attrs)
    for field in SCHEMA:
        if field.path not in arrays:
            raise InputError(f"{source}: missing dataset /{field.path} required by schema v1")
        array, shape, dtype = arrays[field.path], field.shape(axes), np.dtype(field.dtype)
        if array.shape != shape or array.dtype != dtype:
            raise InputError(
                f"{source}: dataset /{field.path} has shape {array.shape} dtype {array.dtype}, "
                f"schema v1 requires shape {shape} dtype {dtype}"
            )
    for name, names in metric_axes(arrays).items():
        path = f"metrics/{name}"
        if path in FIELDS:
            continue
        array = np.asarray(arrays[path])
        if not names or array.shape != tuple(axes[a] for a in names):
            raise InputError(
                f"{source}: metric /{path} has shape {array.shape}; a metric is per class "
                f"({axes['rows']},), per pair ({axes['rows']}, {axes['seeds']}) or a curve per "
                f"pair ({axes['rows']}, {axes['seeds']}, {axes['epochs']})"
            )
        if array.dtype.kind not in "fiub":
            raise InputError(f"{source}: metric /{path} has dtype {array.dtype}; numbers only")
    row_raw, raw_to_row = arrays["cells/row_raw"], arrays["cells/raw_to_row"]
    rows = len(row_raw)
    if rows and (row_raw.min() < 0 or row_raw.max() >= len(raw_to_row)):
        raise InputError(f"{source}: /cells/row_raw holds a raw index outside the space")
    if raw_to_row.min(initial=0) < -1 or raw_to_row.max(initial=-1) >= rows:
        raise InputError(f"{source}: /cells/raw_to_row holds a row outside 0..{rows - 1}")
    if not np.array_equal(raw_to_row[row_raw], np.arange(rows)):
        raise InputError(f"{source}: /cells/raw_to_row does not map each row_raw to its own row")
    if np.any(np.diff(arrays["cells/row_class"]) <= 0):
        raise InputError(f"{source}: /cells/row_class is not strictly increasing")
    check_records(arrays, attrs, source)
    check_ranges(arrays, source)


def check_records(arrays: dict[str, np.ndarray], attrs: dict[str, Any], source: str) -> None:
    """The attributes and status arrays agree with each other and with the metrics: at least
    one seed, no seed twice, at least one epoch (the trainer config's, if it records one),
    every row's chunk one of the chunk records, a trained pair's final validation accuracy a
    number unless the pair diverged (a pending row's values are never read). InputError
    naming `source`."""
    seeds = list(attrs["seeds"])
    if not seeds or len(set(seeds)) != len(seeds):
        raise InputError(f"{source}: attribute seeds {seeds!r} must list each seed once, >= 1")
    epochs, config = attrs["epochs"], attrs.get("config")
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise InputError(f"{source}: attribute epochs {epochs!r} must be an int >= 1")
    if isinstance(config, dict) and config.get("epochs", epochs) != epochs:
        raise InputError(
            f"{source}: attribute epochs {epochs} differs from the trainer config's "
            f"{config['epochs']!r}"
        )
    chunk, chunks = arrays["status/chunk"], len(arrays["chunks/seconds"])
    if chunk.size and (chunk.min() < -1 or chunk.max() >= chunks):
        raise InputError(f"{source}: /status/chunk names a chunk outside -1..{chunks - 1}")
    done = np.asarray(arrays["status/done"], bool)
    valid = np.asarray(arrays["metrics/valid_acc"])[:, :, -1]
    finite = np.isfinite(valid)
    unexplained = done[:, None] & ~finite & ~np.asarray(arrays["status/diverged"], bool)
    if unexplained.any():
        row, seed = np.argwhere(unexplained)[0]
        raise InputError(
            f"{source}: row {row} is marked trained but seed position {seed} has no final "
            f"validation accuracy and is not marked diverged ({int(unexplained.sum())} such "
            "pairs): a corrupt or hand-edited table"
        )


def check_cells(arrays: dict[str, np.ndarray], attrs: dict[str, Any], source: str) -> None:
    """The /cells datasets are what the space derives from /cells/row_raw (`row_index`): each
    class once, every raw cell mapped to its own class's row, the ops of each row's cell.
    Needs the space (tens of milliseconds), so `info --verify`, `merge` and a resumed
    `generate` run it, not every open. InputError naming `source`."""
    derived = row_index(attrs["space"], arrays["cells/row_raw"])
    for name, value in derived.items():
        if not np.array_equal(np.asarray(arrays[name]), value):
            raise InputError(
                f"{source}: /{name} is not what space {attrs['space']!r} derives from "
                "/cells/row_raw (a corrupt or hand-edited table)"
            )


def read_arrays(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read and validate a table file: ({"metrics/test_acc": array, ...}, root attributes).

    Raises FileNotFoundError if `path` does not exist and ValueError naming `path` if it is not
    HDF5, is truncated, has another schema version, or lacks a dataset or attribute.
    """
    path = Path(path)
    if not path.is_file():
        if path.is_dir():
            raise InputError(f"table file {path} is a directory; name a .h5 table file")
        raise MissingFileError(f"table file {path} does not exist")
    if not h5py.is_hdf5(path):
        raise InputError(f"{path} is not an HDF5 file (no HDF5 signature)")
    arrays: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as f:
            attrs = {k: _attr_to_python(k, v) for k, v in f.attrs.items()}
            if "schema_version" not in attrs:
                raise InputError(
                    f"{path} has no schema_version attribute: not a nasbench-lite table"
                )
            check_schema = attrs["schema_version"] == SCHEMA_VERSION
            if check_schema:
                names: list[str] = []
                f.visititems(
                    lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None
                )
                for name in names:
                    try:
                        arrays[name] = f[name][()]
                    except OSError as err:  # a Fletcher-32 mismatch, or an unreadable chunk
                        raise InputError(
                            f"{path}: dataset /{name} fails its checksum or cannot be read "
                            f"(corrupt file): {err}"
                        ) from err
    except InputError:
        raise
    except OSError as err:
        raise InputError(f"{path} cannot be read as HDF5 (truncated or corrupt): {err}") from err
    except (RuntimeError, KeyError, TypeError, ValueError) as err:  # h5py's, or an attribute's JSON
        raise InputError(f"{path} cannot be read as a table (corrupt file): {err!r}") from err
    try:
        # (Without the attributes that size it, check_arrays names what is missing.)
        if (check_schema and all(name in arrays for name in SIZE_DATASETS)
                and "seeds" in attrs and "epochs" in attrs):  # fmt: skip
            for field in SCHEMA:
                if field.missing_ok and field.path not in arrays:
                    # Written before the dataset existed: unknown (`fill`), not zero.
                    arrays[field.path] = field.full(sizes(arrays, attrs))
        check_arrays(arrays, attrs, str(path))
    except InputError:
        raise
    except (IndexError, KeyError, TypeError, ValueError) as err:  # attributes of odd types
        raise InputError(f"{path}: not a valid table ({err!r})") from err
    return arrays, attrs


def write_arrays(path: str | os.PathLike, arrays: dict[str, np.ndarray], attrs: dict) -> None:
    """Validate, then write a table atomically: `path`.tmp, fsync, rename onto `path`.

    A crash at any moment leaves either the previous complete file or the new one at `path`.
    The file is built in memory and written in one go: HDF5 does not recover from a write
    that fails half way (on a full disk it can crash the process), a plain write does, and
    raises WriteFailedError saying that the previous file is unchanged.
    """
    path = Path(path)
    check_arrays(arrays, attrs, str(path))
    # An in-memory HDF5 file (the core driver without a backing store); its image is the file.
    with h5py.File(path.name, "w", driver="core", backing_store=False) as f:
        for name in sorted(arrays):
            # Fletcher-32 checksums: a flipped bit fails at read time instead of passing as data.
            array = np.asarray(arrays[name])
            f.create_dataset(name, data=array, fletcher32=array.size > 0)
        for name, value in attrs.items():
            f.attrs[name] = _attr_to_hdf5(name, value)
        f.flush()
        image = f.id.get_file_image()
    write_bytes_atomic(path, image, path.with_name(path.name + ".tmp"), durable=True)


def row_index(space_name: str, row_raw: np.ndarray) -> dict[str, np.ndarray]:
    """The /cells datasets derived from the rows' raw cells: raw_to_row, row_class, ops."""
    from nasbench_lite.spaces import get_space

    space = get_space(space_name)
    row_raw = np.asarray(row_raw, dtype=np.int64)
    row_class = np.asarray(space.canonical_ids, dtype=np.int64)[row_raw]
    class_to_row = np.full(space.num_unique, -1, dtype=np.int32)
    class_to_row[row_class] = np.arange(len(row_raw), dtype=np.int32)
    return {
        "cells/raw_to_row": class_to_row[np.asarray(space.canonical_ids)],
        "cells/row_class": row_class.astype(np.int32),
        "cells/ops": np.asarray(space.cells(row_raw), dtype=np.int8).reshape(len(row_raw), -1),
    }


def complete_arrays(arrays: dict[str, Any], space_name: str) -> dict[str, np.ndarray]:
    """`arrays` (HDF5 path -> array) cast to the schema's dtypes, plus what the schema
    derives or defaults when absent: /cells/raw_to_row, row_class and ops from row_raw and
    the space; each other left-out dataset at its `Field.default` (status/done all True,
    status/chunk -1, no chunk records). Datasets the schema requires stay absent (and
    `check_arrays` names them)."""
    out = dict(arrays)
    if any(f.derived and f.path not in arrays for f in SCHEMA):
        out = {**row_index(space_name, arrays["cells/row_raw"]), **arrays}
    axes = {"rows": len(arrays["cells/row_raw"]), "chunks": len(out.get("chunks/seconds", ()))}
    for field in SCHEMA:
        if field.path not in out and field.default is not REQUIRED:
            out[field.path] = field.full(axes, field.default)
    return {
        name: np.asarray(value, dtype=FIELDS[name].dtype if name in FIELDS else None)
        for name, value in out.items()
    }


def write_table(path: str | os.PathLike, arrays: dict[str, Any], attrs: dict[str, Any]) -> None:
    """Complete (see `complete_arrays`), validate and write a schema v1 table atomically (see
    `write_arrays`). `arrays`: HDF5 path -> array, e.g. {"cells/row_raw": (rows,),
    "metrics/test_acc": (rows, seeds, epochs), ...}, as docs/table.md lists them; `attrs`:
    root attributes (see `base_attrs`), JSON ones given as objects or strings."""
    write_arrays(path, complete_arrays(arrays, attrs["space"]), attrs)


def file_is_complete(path: str | os.PathLike) -> bool:
    """Whether the table file at `path` answers every cell (every raw cell has a row and every
    row is done), read from /cells/raw_to_row and /status/done only. An unreadable file is
    not complete (opening it later names the problem)."""
    try:
        with h5py.File(path, "r") as f:
            return bool(f["status/done"][()].all() and (f["cells/raw_to_row"][()] >= 0).all())
    except (OSError, KeyError):
        return False
