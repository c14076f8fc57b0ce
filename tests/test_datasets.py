"""Tests for nasbench_lite.datasets: tiny files in the real formats, splits, errors, caching."""

from __future__ import annotations

import gzip
import inspect
import os
import pickle
import random
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nasbench_lite.datasets import (
    CIFAR10_FILES,
    DATASETS,
    IDX_FILES,
    SPLIT_SEED,
    Dataset,
    builtin,
    load_dataset,
    standardise,
)
from nasbench_lite.datasets.dataset import last_tenth_split
from nasbench_lite.datasets.tasks import SUITE
from nasbench_lite.errors import InputError

FILE_DATASETS = {"cifar10": CIFAR10_FILES, "mnist": IDX_FILES, "fashion_mnist": IDX_FILES}


# ---------------------------------------------------------------- writers of the real formats


def cifar_row(image: np.ndarray) -> np.ndarray:
    """(32, 32, 3) uint8 -> (3072,) as CIFAR-10 stores it: the R, G and B planes in turn."""
    return np.concatenate([image[:, :, c].ravel() for c in range(3)])


def cifar_batch(images: np.ndarray, labels: np.ndarray, label: bytes) -> dict:
    return {
        b"batch_label": label,
        b"labels": [int(v) for v in labels],
        b"data": np.stack([cifar_row(im) for im in images]),
        b"filenames": [b"image_%d.png" % i for i in range(len(labels))],
    }


def write_cifar(directory: Path, per_batch: int = 4, n_test: int = 5, protocol: int = 2):
    """Write data_batch_1..5 and test_batch; return the raw (images, labels) train and test."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(5 * per_batch + n_test, 32, 32, 3), dtype=np.uint8)
    y = rng.integers(0, 10, size=len(x))
    for i in range(5):
        part = slice(i * per_batch, (i + 1) * per_batch)
        batch = cifar_batch(x[part], y[part], b"training batch %d of 5" % (i + 1))
        (directory / f"data_batch_{i + 1}").write_bytes(pickle.dumps(batch, protocol=protocol))
    test = cifar_batch(x[5 * per_batch :], y[5 * per_batch :], b"testing batch 1 of 1")
    (directory / "test_batch").write_bytes(pickle.dumps(test, protocol=protocol))
    return (x[: 5 * per_batch], y[: 5 * per_batch]), (x[5 * per_batch :], y[5 * per_batch :])


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    """An uncompressed IDX file: big-endian magic, big-endian uint32 dims, then the bytes."""
    dims = b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    return magic.to_bytes(4, "big") + dims + array.astype(np.uint8).tobytes()


def write_idx(directory: Path, n_train: int = 30, n_test: int = 7):
    """Write the four gzipped IDX files; return the raw (images, labels) train and test."""
    rng = np.random.default_rng(2)
    splits = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = rng.integers(0, 10, size=n, dtype=np.uint8)
        (directory / f"{prefix}-images-idx3-ubyte.gz").write_bytes(
            gzip.compress(idx_bytes(images, 2051))
        )
        (directory / f"{prefix}-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(idx_bytes(labels, 2049))
        )
        splits[prefix] = (images[..., None], labels)
    return splits["train"], splits["t10k"]


def write_files(name: str, directory: Path):
    return write_cifar(directory) if name == "cifar10" else write_idx(directory)


def expected_standardised(raw_train: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Per-channel standardisation by the training split's statistics, in float64."""
    axes = tuple(range(raw_train.ndim - 1))
    mean = raw_train.astype(np.float64).mean(axis=axes)
    std = raw_train.astype(np.float64).std(axis=axes)
    return (raw.astype(np.float64) - mean) / std


def assert_standardised(data: Dataset) -> None:
    axes = tuple(range(data.x_train.ndim - 1))
    np.testing.assert_allclose(data.x_train.mean(axis=axes, dtype=np.float64), 0, atol=1e-5)
    np.testing.assert_allclose(data.x_train.std(axis=axes, dtype=np.float64), 1, atol=1e-4)


def assert_same(a: Dataset, b: Dataset) -> None:
    assert a.name == b.name and a.num_classes == b.num_classes
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(a, f"x_{split}"), getattr(b, f"x_{split}"))
        np.testing.assert_array_equal(getattr(a, f"y_{split}"), getattr(b, f"y_{split}"))


def assert_names(err: pytest.ExceptionInfo, path: Path, files: tuple[str, ...]) -> None:
    """The message names the path and lists every file the dataset expects."""
    message = str(err.value)
    assert str(path) in message
    assert all(f in message for f in files), message


# ---------------------------------------------------------------- registry and import


def test_registry_names_and_default():
    builtin = ["mnist1d", "digits", "cifar10", "fashion_mnist", "mnist"]
    assert list(DATASETS) == builtin + list(SUITE)
    assert inspect.signature(load_dataset).parameters["name"].default == "mnist1d"


def test_unknown_name_lists_available():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'") as err:
        load_dataset("imagenet")
    assert all(name in str(err.value) for name in DATASETS)


def test_import_pulls_numpy_only():
    code = (
        "import sys, nasbench_lite.datasets; "
        "print([m for m in ('jax', 'sklearn', 'mnist1d', 'matplotlib', 'scipy') "
        "if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------- the Dataset record


def small_dataset() -> Dataset:
    rng = np.random.default_rng(0)
    x = {s: rng.normal(size=(n, 4, 2)).astype(np.float32) for s, n in (("tr", 6), ("va", 3))}
    return Dataset(
        name="small",
        x_train=x["tr"],
        x_valid=x["va"],
        x_test=x["va"] * 2,
        y_train=np.arange(6, dtype=np.int32) % 3,
        y_valid=np.arange(3, dtype=np.int32),
        y_test=np.zeros(3, dtype=np.int32),
        num_classes=3,
    )


def test_take_first_examples_of_each_split():
    data = small_dataset()
    assert data.splits == {"train": 6, "valid": 3, "test": 3}
    part = data.take(4, 1, 0)
    assert part.splits == {"train": 4, "valid": 1, "test": 0}
    np.testing.assert_array_equal(part.x_train, data.x_train[:4])
    np.testing.assert_array_equal(part.y_train, data.y_train[:4])
    np.testing.assert_array_equal(part.x_valid, data.x_valid[:1])
    assert part.x_test.shape == (0, 4, 2) and part.name == "small" and part.num_classes == 3
    assert_same(data.take(6, 3, 3), data)


@pytest.mark.parametrize("sizes", [(7, 1, 1), (1, 4, 1), (1, 1, 4), (-1, 1, 1)])
def test_take_out_of_range_raises(sizes):
    with pytest.raises(ValueError, match="cannot take"):
        small_dataset().take(*sizes)


@pytest.mark.parametrize(
    "change, match",
    [
        ({"x_valid": np.zeros((3, 4, 2), np.float64)}, "float32 inputs and int32 labels"),
        ({"y_test": np.zeros(3, np.int64)}, "float32 inputs and int32 labels"),
        ({"x_valid": np.zeros((3, 4, 1), np.float32)}, "expected"),
        ({"y_train": np.zeros(5, np.int32)}, "expected"),
        ({"y_valid": np.array([0, 1, 3], np.int32)}, "outside"),
        ({"y_test": np.array([0, -1, 0], np.int32)}, "outside"),
    ],
)
def test_dataset_rejects_bad_arrays(change, match):
    fields = {k: getattr(small_dataset(), k) for k in Dataset.__dataclass_fields__}
    with pytest.raises(ValueError, match=match):
        Dataset(**{**fields, **change})


def test_standardise_uses_training_statistics_only():
    rng = np.random.default_rng(3)
    train = rng.normal(5, 3, size=(50, 7, 2))
    train[..., 1] = 4.0  # a constant channel is only centred, never divided by zero
    valid = rng.normal(-2, 9, size=(20, 7, 2))
    x_train, x_valid = standardise(train, valid)
    assert x_train.dtype == x_valid.dtype == np.float32
    np.testing.assert_allclose(x_train[..., 1], 0)
    mean, std = train[..., 0].mean(), train[..., 0].std()
    np.testing.assert_allclose(x_valid[..., 0], (valid[..., 0] - mean) / std, rtol=1e-5)
    np.testing.assert_allclose(x_valid[..., 1], valid[..., 1] - 4.0, rtol=1e-5)


@pytest.mark.parametrize("n, n_valid", [(50_000, 5_000), (60_000, 6_000), (20, 2), (19, 1)])
def test_last_tenth_split_sizes(n, n_valid):
    x = np.arange(n)
    (x_tr, y_tr), (x_va, y_va) = last_tenth_split(x, x, "source")
    assert len(x_va) == n_valid and len(x_tr) == n - n_valid
    np.testing.assert_array_equal(np.concatenate([x_tr, x_va]), x)


def test_last_tenth_split_too_few_raises():
    with pytest.raises(ValueError, match="too few"):
        last_tenth_split(np.zeros(9), np.zeros(9), "source")


# ---------------------------------------------------------------- MNIST-1D


class NoNetwork(socket.socket):
    def __init__(self, *args, **kwargs):
        raise AssertionError("MNIST-1D must not touch the network")


def test_mnist1d_offline_shapes_split_and_rng(monkeypatch):
    # Import first: mnist1d pulls in requests, whose ssl module subclasses socket.socket at
    # import time; the patch should catch connections during the load, not class building.
    import mnist1d.data  # noqa: F401

    monkeypatch.setenv("NASBENCH_LITE_CACHE", "")  # disk cache off: really generate
    monkeypatch.setattr(socket, "socket", NoNetwork)
    builtin.mnist1d_arrays.cache_clear()
    numpy_state, python_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    data = load_dataset("mnist1d")
    after = np.random.get_state()  # noqa: NPY002
    assert all(np.array_equal(a, b) for a, b in zip(numpy_state, after, strict=True))
    assert random.getstate() == python_state

    assert data.x_train.shape == (3000, 40, 1)
    assert data.x_valid.shape == (1000, 40, 1) and data.x_test.shape == (1000, 40, 1)
    assert data.x_train.dtype == np.float32 and data.y_train.dtype == np.int32
    assert data.num_classes == 10
    for y in (data.y_train, data.y_valid, data.y_test):
        assert set(np.unique(y)) == set(range(10))
    assert_standardised(data)
    assert_same(data, load_dataset("mnist1d"))

    # The documented rule: a SPLIT_SEED permutation of the 4,000 official training
    # sequences, first 3,000 train, last 1,000 valid; standardised by the 3,000.
    raw = builtin.mnist1d_arrays()
    order = np.random.default_rng(SPLIT_SEED).permutation(4000)
    train, valid = order[:3000], order[3000:]
    assert len(np.union1d(train, valid)) == 4000
    for split, idx in (("train", train), ("valid", valid)):
        np.testing.assert_array_equal(getattr(data, f"y_{split}"), raw["y"][idx])
        expected = expected_standardised(raw["x"][train, :, None], raw["x"][idx, :, None])
        np.testing.assert_allclose(getattr(data, f"x_{split}"), expected, atol=1e-5)
    np.testing.assert_array_equal(data.y_test, raw["y_test"])
    expected = expected_standardised(raw["x"][train, :, None], raw["x_test"][..., None])
    np.testing.assert_allclose(data.x_test, expected, atol=1e-5)


def test_mnist1d_disk_cache_equals_fresh_generation(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NASBENCH_LITE_CACHE", str(tmp_path))
    path = builtin.mnist1d_cache_path()
    assert path.parent == tmp_path
    path.write_bytes(b"not an npz file")  # a damaged cache is ignored and replaced
    builtin.mnist1d_arrays.cache_clear()
    first = load_dataset("mnist1d")
    assert "ignoring unreadable MNIST-1D cache" in caplog.text

    with np.load(path, allow_pickle=False) as npz:
        cached = {key: npz[key] for key in npz.files}
    assert {k: v.shape for k, v in cached.items()} == builtin.MNIST1D_SHAPES

    # A second process reads the file and never generates.
    def no_generation():
        raise AssertionError("the cache should have been read")

    monkeypatch.setattr(builtin, "_generate_mnist1d", no_generation)
    builtin.mnist1d_arrays.cache_clear()
    assert_same(load_dataset("mnist1d"), first)
    monkeypatch.undo()

    # A fresh generation (into a cache that cannot be written) equals the cached copy.
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setenv("NASBENCH_LITE_CACHE", str(blocker / "cache"))
    builtin.mnist1d_arrays.cache_clear()
    fresh = builtin.mnist1d_arrays()
    assert "could not write the MNIST-1D cache" in caplog.text
    for key, value in cached.items():
        np.testing.assert_array_equal(fresh[key], value)
    builtin.mnist1d_arrays.cache_clear()


def test_cache_dir_from_environment(monkeypatch):
    monkeypatch.delenv("NASBENCH_LITE_CACHE", raising=False)
    assert builtin.cache_dir() == Path.home() / ".cache" / "nasbench_lite"
    monkeypatch.setenv("NASBENCH_LITE_CACHE", "~/elsewhere")
    assert builtin.cache_dir() == Path.home() / "elsewhere"
    monkeypatch.setenv("NASBENCH_LITE_CACHE", "")
    assert builtin.cache_dir() is None and builtin.mnist1d_cache_path() is None


@pytest.mark.parametrize("name", ["mnist1d", "digits"])
def test_builtin_datasets_reject_data_dir(name, tmp_path):
    with pytest.raises(ValueError, match="reads no files"):
        load_dataset(name, data_dir=tmp_path)


# ---------------------------------------------------------------- digits


def test_digits_splits_partition_the_images():
    from sklearn.datasets import load_digits

    data = load_dataset("digits")
    assert data.splits == {"train": 1077, "valid": 360, "test": 360}
    assert data.x_train.shape[1:] == (8, 8, 1) and data.x_test.dtype == np.float32
    assert_standardised(data)
    assert_same(data, load_dataset("digits"))
    for y in (data.y_valid, data.y_test):  # stratified: about 36 of each class
        assert np.bincount(y, minlength=10).min() >= 35 and np.bincount(y).max() <= 37

    # Undo the affine standardisation (pixels are integers 0..16, both ends occur) and
    # check that train, valid and test together hold exactly the 1,797 original images.
    x = np.concatenate([data.x_train, data.x_valid, data.x_test])
    y = np.concatenate([data.y_train, data.y_valid, data.y_test])
    pixels = np.rint((x - x.min()) / (x.max() - x.min()) * 16).reshape(len(x), 64)
    bunch = load_digits()
    ours = np.column_stack([pixels, y])
    theirs = np.column_stack([bunch.data, bunch.target])
    np.testing.assert_array_equal(np.unique(ours, axis=0), np.unique(theirs, axis=0))
    assert len(ours) == len(theirs) == 1797


# ---------------------------------------------------------------- CIFAR-10 and IDX files


@pytest.mark.parametrize("style", ["protocol 2", "protocol 5", "numpy.core"])
def test_cifar10_round_trip(tmp_path, style):
    protocol = 5 if style == "protocol 5" else 2
    (x, y), (x_test, y_test) = write_cifar(tmp_path, protocol=protocol)
    if style == "numpy.core":  # arrays pickled by NumPy 1.x, as in the published batches
        for f in CIFAR10_FILES:
            content = (tmp_path / f).read_bytes()
            (tmp_path / f).write_bytes(content.replace(b"numpy._core.", b"numpy.core."))
    data = load_dataset("cifar10", data_dir=str(tmp_path))
    assert data.splits == {"train": 18, "valid": 2, "test": 5}  # the last tenth of 20 validate
    assert data.x_train.shape == (18, 32, 32, 3) and data.x_train.dtype == np.float32
    assert data.y_train.dtype == np.int32 and data.num_classes == 10
    np.testing.assert_array_equal(data.y_train, y[:18])
    np.testing.assert_array_equal(data.y_valid, y[18:])
    np.testing.assert_array_equal(data.y_test, y_test)
    for got, raw in ((data.x_train, x[:18]), (data.x_valid, x[18:]), (data.x_test, x_test)):
        np.testing.assert_allclose(got, expected_standardised(x[:18], raw), atol=1e-4)
    assert_standardised(data)
    assert_same(data, load_dataset("cifar10", data_dir=tmp_path))


@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_round_trip(tmp_path, name):
    (x, y), (x_test, y_test) = write_idx(tmp_path)
    data = load_dataset(name, data_dir=tmp_path)
    assert data.name == name
    assert data.splits == {"train": 27, "valid": 3, "test": 7}  # the last tenth of 30 validate
    assert data.x_train.shape == (27, 28, 28, 1) and data.x_valid.dtype == np.float32
    np.testing.assert_array_equal(data.y_train, y[:27])
    np.testing.assert_array_equal(data.y_valid, y[27:])
    np.testing.assert_array_equal(data.y_test, y_test)
    for got, raw in ((data.x_train, x[:27]), (data.x_valid, x[27:]), (data.x_test, x_test)):
        np.testing.assert_allclose(got, expected_standardised(x[:27], raw), atol=1e-4)
    assert_standardised(data)
    assert_same(data, load_dataset(name, data_dir=tmp_path))


# ---------------------------------------------------------------- missing files


@pytest.mark.parametrize("name", list(FILE_DATASETS))
def test_file_dataset_needs_data_dir(name):
    with pytest.raises(ValueError, match="pass data_dir") as err:
        load_dataset(name)
    assert all(f in str(err.value) for f in FILE_DATASETS[name])


@pytest.mark.parametrize("name", list(FILE_DATASETS))
def test_missing_directory(tmp_path, name):
    for directory in (tmp_path / "absent", tmp_path / "a_file"):
        if directory.name == "a_file":
            directory.write_text("")
        with pytest.raises(FileNotFoundError, match="does not exist or is not a directory") as err:
            load_dataset(name, data_dir=directory)
        assert_names(err, directory, FILE_DATASETS[name])


@pytest.mark.parametrize(
    "name, missing", [(n, f) for n, files in FILE_DATASETS.items() for f in files]
)
def test_missing_file(tmp_path, name, missing):
    write_files(name, tmp_path)
    os.remove(tmp_path / missing)
    with pytest.raises(FileNotFoundError, match="missing") as err:
        load_dataset(name, data_dir=tmp_path)
    assert_names(err, tmp_path / missing, FILE_DATASETS[name])


# ---------------------------------------------------------------- corrupt files


class RunsCode:
    """Pickles as a call to os.getcwd: stands in for a pickle that would run code."""

    def __reduce__(self):
        return (os.getcwd, ())


def _valid_batch() -> dict:
    rng = np.random.default_rng(4)
    images = rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    return cifar_batch(images, np.arange(4), b"training batch 3 of 5")


CIFAR_CORRUPTIONS = {
    "garbage": (b"\x00garbage", "not a readable pickle"),
    "truncated": (pickle.dumps(_valid_batch(), protocol=2)[:5000], "not a readable pickle"),
    "list": (pickle.dumps([1, 2, 3]), "not a CIFAR-10 batch"),
    "no labels": (pickle.dumps({b"data": _valid_batch()[b"data"]}), "not a CIFAR-10 batch"),
    "float data": (
        pickle.dumps({**_valid_batch(), b"data": np.zeros((4, 3072), np.float32)}),
        "uint8 array of shape",
    ),
    "short rows": (
        pickle.dumps({**_valid_batch(), b"data": np.zeros((4, 1024), np.uint8)}),
        "uint8 array of shape",
    ),
    "count mismatch": (pickle.dumps({**_valid_batch(), b"labels": [0, 1, 2]}), "4 images"),
    "label range": (pickle.dumps({**_valid_batch(), b"labels": [0, 1, 2, 10]}), "outside"),
    "runs code": (pickle.dumps({**_valid_batch(), b"x": RunsCode()}), "refusing to load"),
}


@pytest.mark.parametrize("case", list(CIFAR_CORRUPTIONS))
def test_corrupt_cifar_batch(tmp_path, case):
    write_cifar(tmp_path)
    content, match = CIFAR_CORRUPTIONS[case]
    (tmp_path / "data_batch_3").write_bytes(content)
    with pytest.raises(ValueError, match=match) as err:
        load_dataset("cifar10", data_dir=tmp_path)
    assert_names(err, tmp_path / "data_batch_3", CIFAR10_FILES)


def test_cifar_too_few_training_images(tmp_path):
    write_cifar(tmp_path, per_batch=1)
    with pytest.raises(ValueError, match="too few") as err:
        load_dataset("cifar10", data_dir=tmp_path)
    assert str(tmp_path) in str(err.value)


def _idx_corruptions() -> dict[str, tuple[str, bytes, str]]:
    """case -> (file to overwrite, its content, expected message)."""
    images = np.zeros((30, 28, 28), np.uint8)
    labels = np.zeros(30, np.uint8)
    valid_images = gzip.compress(idx_bytes(images, 2051))
    return {
        "not gzip": ("train-images-idx3-ubyte.gz", idx_bytes(images, 2051), "gzip"),
        "truncated gzip": ("train-images-idx3-ubyte.gz", valid_images[:-20], "gzip"),
        "bad magic": (
            "train-images-idx3-ubyte.gz",
            gzip.compress(idx_bytes(images, 2049)),
            "magic",
        ),
        "labels magic": (
            "t10k-labels-idx1-ubyte.gz",
            gzip.compress(idx_bytes(labels, 2051)),
            "magic",
        ),
        "short header": ("train-labels-idx1-ubyte.gz", gzip.compress(b"\x00\x00\x08"), "header"),
        "short data": (
            "train-images-idx3-ubyte.gz",
            gzip.compress(idx_bytes(images, 2051)[:-1]),
            "header declares shape",
        ),
        "image size": (
            "train-images-idx3-ubyte.gz",
            gzip.compress(idx_bytes(np.zeros((30, 27, 28), np.uint8), 2051)),
            "expected \\(28, 28\\)",
        ),
        "count mismatch": (
            "train-labels-idx1-ubyte.gz",
            gzip.compress(idx_bytes(labels[:29], 2049)),
            "30 images but",
        ),
        "label range": (
            "t10k-labels-idx1-ubyte.gz",
            gzip.compress(idx_bytes(np.full(7, 10, np.uint8), 2049)),
            "outside",
        ),
    }


@pytest.mark.parametrize("case", list(_idx_corruptions()))
def test_corrupt_idx_file(tmp_path, case):
    write_idx(tmp_path)
    filename, content, match = _idx_corruptions()[case]
    (tmp_path / filename).write_bytes(content)
    with pytest.raises(InputError, match=match) as err:  # one line from the CLI, exit 2
        load_dataset("mnist", data_dir=tmp_path)
    # A count mismatch is reported on the images file and names the labels file too.
    named = "train-images-idx3-ubyte.gz" if case == "count mismatch" else filename
    assert_names(err, tmp_path / named, IDX_FILES)
    assert str(tmp_path / filename) in str(err.value)
