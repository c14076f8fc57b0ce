"""Datasets made in-process, no files needed: MNIST-1D (Greydanus, 2020) and scikit-learn digits.

MNIST-1D is generated offline by the `mnist1d` package; its downloading loader is never used.
Generation takes about a second, so the arrays are kept in memory and, unless disabled, in an
.npz file under $NASBENCH_LITE_CACHE (default ~/.cache/nasbench_lite).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import importlib.metadata
import logging
import os
import random
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from nasbench_lite.datasets.dataset import SPLIT_SEED, Dataset, build_dataset
from nasbench_lite.datasets.identity import DatasetIdentity
from nasbench_lite.errors import InputError
from nasbench_lite.extras import require

log = logging.getLogger(__name__)

CACHE_ENV = "NASBENCH_LITE_CACHE"

# What mnist1d's default arguments (5,000 samples, 80% train, length 40, seed 42) produce.
MNIST1D_SHAPES = {"x": (4000, 40), "y": (4000,), "x_test": (1000, 40), "y_test": (1000,)}
MNIST1D_VALID = 1000  # carved from the 4,000 official training sequences
DIGITS_TEST = 360  # about 20% of the 1,797 images each for test and validation
DIGITS_VALID = 360
# mnist1d's `make_dataset` arguments, seed included: the package's defaults
# (`get_dataset_args()`, less the download URL it never uses here), set explicitly so that
# the identity a table records is what made its examples.
MNIST1D_ARGS = {
    "num_samples": 5000, "train_split": 0.8, "template_len": 12, "padding": [36, 60],
    "scale_coeff": 0.4, "max_translation": 48, "corr_noise_scale": 0.25,
    "iid_noise_scale": 0.02, "shear_scale": 0.75, "shuffle_seq": False,
    "final_seq_length": 40, "seed": 42,
}  # fmt: skip
MNIST1D_IDENTITY = DatasetIdentity(
    name="mnist1d",
    input_shape=(40, 1),
    num_classes=10,
    generator=MNIST1D_ARGS,
    splits={"train": 3000, "valid": MNIST1D_VALID, "test": 1000},
)
DIGITS_IDENTITY = DatasetIdentity(
    name="digits",
    input_shape=(8, 8, 1),
    num_classes=10,
    splits={"train": 1797 - DIGITS_TEST - DIGITS_VALID, "valid": DIGITS_VALID, "test": DIGITS_TEST},
)


def cache_dir() -> Path | None:
    """Directory of the on-disk cache: $NASBENCH_LITE_CACHE, else ~/.cache/nasbench_lite.

    Setting NASBENCH_LITE_CACHE to the empty string disables the disk cache (None).
    """
    value = os.environ.get(CACHE_ENV)
    if value is None:
        return Path.home() / ".cache" / "nasbench_lite"
    return Path(value).expanduser() if value else None


def _reject_data_dir(name: str, data_dir: str | os.PathLike | None) -> None:
    # A directory passed to a dataset that reads none is a mistake; silently ignoring it
    # would let a user believe their files were used.
    if data_dir is not None:
        raise InputError(
            f"dataset {name!r} is built in and reads no files, but data_dir={str(data_dir)!r} "
            "was given; drop data_dir (CLI: --data-dir)"
        )


def _generate_mnist1d() -> dict[str, np.ndarray]:
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    for name, value in copy.deepcopy(MNIST1D_ARGS).items():
        setattr(args, name, value)
    with global_rng_kept():  # make_dataset reseeds the global generators
        raw = make_dataset(args)
    return {key: np.asarray(raw[key]) for key in MNIST1D_SHAPES}


def read_npz(path: Path, shapes: dict[str, tuple[int, ...]], what: str) -> dict | None:
    """The arrays of a cache file, or None (with a warning naming `what`) when the file is
    unreadable or its arrays do not have `shapes` (key -> shape)."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in shapes}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        log.warning("ignoring unreadable %s cache %s (%s); making it again", what, path, err)
        return None
    found = {key: a.shape for key, a in arrays.items()}
    if found != shapes:
        log.warning("ignoring %s cache %s with shapes %s; making it again", what, path, found)
        return None
    return arrays


def write_npz(path: Path, arrays: dict[str, np.ndarray], what: str) -> None:
    """Write a cache file: a temporary file renamed into place, so that runs started together
    never read a half-written one. A cache that cannot be written only costs time."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as f:
            np.savez(f, **arrays)
        os.replace(f.name, path)
    except OSError as err:
        log.warning("could not write the %s cache %s (%s)", what, path, err)


@contextlib.contextmanager
def global_rng_kept() -> Iterator[None]:
    """Restore NumPy's and Python's global generators after the block: mnist1d's
    `make_dataset` reseeds both, and loading data must leave no trace on anyone's numbers."""
    numpy_state, python_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(numpy_state)  # noqa: NPY002
        random.setstate(python_state)


def mnist1d_cache_path() -> Path | None:
    """Path of the MNIST-1D cache file (None when the disk cache is disabled)."""
    directory = cache_dir()
    version = importlib.metadata.version("mnist1d")
    return None if directory is None else directory / f"mnist1d-{version}-default.npz"


@functools.lru_cache(maxsize=1)
def mnist1d_arrays() -> dict[str, np.ndarray]:
    """MNIST-1D from `mnist1d.data.make_dataset` with the package's default arguments.

    Returns read-only arrays: x (4000, 40) float64, y (4000,) int64, x_test (1000, 40),
    y_test (1000,). Read from the disk cache when present, generated (and cached) otherwise.
    """
    path = mnist1d_cache_path()
    arrays = (
        read_npz(path, MNIST1D_SHAPES, "MNIST-1D") if path is not None and path.is_file() else None
    )
    if arrays is None:
        log.info("generating MNIST-1D (mnist1d default arguments, seed 42)")
        arrays = _generate_mnist1d()
        if path is not None:
            write_npz(path, arrays, "MNIST-1D")
    for a in arrays.values():
        a.setflags(write=False)  # shared by every later call in this process
    return arrays


def load_mnist1d(data_dir: str | os.PathLike | None = None) -> Dataset:
    """MNIST-1D: 3,000 train / 1,000 valid / 1,000 test sequences, x (n, 40, 1), 10 classes.

    The validation split is the last 1,000 of a fixed permutation (seed SPLIT_SEED) of the
    4,000 official training sequences; the official 1,000 test sequences are kept.
    """
    _reject_data_dir("mnist1d", data_dir)
    require("train", "the mnist1d dataset", modules=("mnist1d",))
    raw = mnist1d_arrays()
    x, y = raw["x"][..., None], raw["y"]  # (n, 40) -> (n, 40, 1): one channel
    order = np.random.default_rng(SPLIT_SEED).permutation(len(y))
    train, valid = order[:-MNIST1D_VALID], order[-MNIST1D_VALID:]
    return build_dataset(
        "mnist1d",
        (x[train], y[train]),
        (x[valid], y[valid]),
        (raw["x_test"][..., None], raw["y_test"]),
        num_classes=10,
    )


def load_digits(data_dir: str | os.PathLike | None = None) -> Dataset:
    """scikit-learn's bundled 8x8 digits: 1,077 / 360 / 360 images, x (n, 8, 8, 1), 10 classes.

    Two stratified splits with random_state SPLIT_SEED: 360 test images first, then 360
    validation images from the rest.
    """
    _reject_data_dir("digits", data_dir)
    require("train", "the digits dataset", modules=("sklearn",))
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    bunch = sklearn_digits()
    x, y = bunch.images[..., None], bunch.target  # (1797, 8, 8, 1), pixel values 0..16
    rest, test = train_test_split(
        np.arange(len(y)), test_size=DIGITS_TEST, stratify=y, random_state=SPLIT_SEED
    )
    train, valid = train_test_split(
        rest, test_size=DIGITS_VALID, stratify=y[rest], random_state=SPLIT_SEED
    )
    return build_dataset(
        "digits", (x[train], y[train]), (x[valid], y[valid]), (x[test], y[test]), num_classes=10
    )
