"""Datasets read from their official files in a user's directory.

CIFAR-10 (Krizhevsky, 2009) from its "python version" batches; MNIST (LeCun et al., 1998) and
Fashion-MNIST (Xiao et al., 2017) from their gzipped IDX files. Each validation split is the
last tenth of the official training set, in file order.
"""

from __future__ import annotations

import gzip
import math
import os
import pickle
from pathlib import Path

import numpy as np

from nasbench_lite.datasets.dataset import Dataset, build_dataset, last_tenth_split
from nasbench_lite.datasets.identity import DatasetIdentity
from nasbench_lite.errors import InputError, MissingFileError

CIFAR10_FILES = (
    "data_batch_1",
    "data_batch_2",
    "data_batch_3",
    "data_batch_4",
    "data_batch_5",
    "test_batch",
)
IDX_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
# Identities with the official files' split sizes; a table records the sizes of the files it
# was made from (a user's files may hold fewer examples).
CIFAR10_IDENTITY = DatasetIdentity(
    name="cifar10",
    input_shape=(32, 32, 3),
    num_classes=10,
    splits={"train": 45000, "valid": 5000, "test": 10000},
    files=CIFAR10_FILES,
)
IDX_IDENTITIES = {
    name: DatasetIdentity(
        name=name,
        input_shape=(28, 28, 1),
        num_classes=10,
        splits={"train": 54000, "valid": 6000, "test": 10000},
        files=IDX_FILES,
    )
    for name in ("mnist", "fashion_mnist")
}
# IDX magic numbers: 0x08 (unsigned byte) in the third byte, the number of dims in the fourth.
IMAGES_MAGIC = 2051  # 0x00000803: (n, rows, cols)
LABELS_MAGIC = 2049  # 0x00000801: (n,)


def _expected(name: str, files: tuple[str, ...], directory: Path | str) -> str:
    return f"dataset {name!r} expects these files in {directory}: {', '.join(files)}"


def dataset_dir(name: str, data_dir: str | os.PathLike | None, files: tuple[str, ...]) -> Path:
    """Check that data_dir is a directory holding every one of `files`; return it as a Path."""
    if data_dir is None:
        raise InputError(
            f"dataset {name!r} is read from files: pass data_dir (CLI: --data-dir DIR), "
            f"a directory holding {', '.join(files)}"
        )
    directory = Path(data_dir).expanduser()
    if not directory.is_dir():
        raise MissingFileError(
            f"data directory {directory} does not exist or is not a directory; "
            + _expected(name, files, directory)
        )
    missing = [str(directory / f) for f in files if not (directory / f).is_file()]
    if missing:
        raise MissingFileError(
            f"missing {', '.join(missing)}; " + _expected(name, files, directory)
        )
    return directory


def _corrupt(name: str, files: tuple[str, ...], path: Path, problem: str) -> InputError:
    """The error for a file that exists but is not what the format says (a ValueError)."""
    return InputError(f"{path}: {problem}; " + _expected(name, files, path.parent))


class _CifarUnpickler(pickle.Unpickler):
    """Builds only what a CIFAR-10 batch holds: dicts, lists, bytes and NumPy arrays.

    A pickle can name any importable callable and so run code; the format forces us to read
    pickles, so every global other than the ones NumPy arrays are rebuilt from is refused.
    """

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
    NUMPY_BUILDERS = {"_reconstruct", "_frombuffer", "scalar"}

    def find_class(self, module: str, name: str) -> object:
        numpy_builder = module.startswith(("numpy.core.", "numpy._core.")) and (
            name in self.NUMPY_BUILDERS
        )
        if (module, name) in self.ALLOWED or numpy_builder:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 batch: images (N, 32, 32, 3) uint8 and labels (N,) int64."""
    try:
        with open(path, "rb") as f:
            batch = _CifarUnpickler(f, encoding="bytes").load()
    except Exception as err:  # a damaged pickle fails in many different ways
        raise _corrupt("cifar10", CIFAR10_FILES, path, f"not a readable pickle ({err!r})") from err
    if not isinstance(batch, dict) or not {b"data", b"labels"} <= batch.keys():
        raise _corrupt(
            "cifar10", CIFAR10_FILES, path, "not a CIFAR-10 batch (a dict with b'data', b'labels')"
        )
    data, labels = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.shape[1:] != (3072,):
        raise _corrupt(
            "cifar10",
            CIFAR10_FILES,
            path,
            f"b'data' must be a uint8 array of shape (N, 3072), got "
            f"{getattr(data, 'dtype', type(data).__name__)} {getattr(data, 'shape', '')}",
        )
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise _corrupt(
            "cifar10",
            CIFAR10_FILES,
            path,
            f"{len(data)} images but b'labels' is {labels.dtype} of shape {labels.shape}",
        )
    _check_labels("cifar10", CIFAR10_FILES, path, labels)
    # Each row holds the red, green and blue 32x32 planes in turn (channel-major).
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return images, labels


def _check_labels(name: str, files: tuple[str, ...], path: Path, labels: np.ndarray) -> None:
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise _corrupt(
            name, files, path, f"labels span [{labels.min()}, {labels.max()}], outside 0..9"
        )


def load_cifar10(data_dir: str | os.PathLike | None = None) -> Dataset:
    """CIFAR-10: x (n, 32, 32, 3), 10 classes; 45,000 / 5,000 / 10,000 for the full set.

    Training images are data_batch_1..5 in order; the last tenth (the last 5,000) validate.
    """
    directory = dataset_dir("cifar10", data_dir, CIFAR10_FILES)
    batches = [_read_cifar_batch(directory / f) for f in CIFAR10_FILES[:5]]
    x = np.concatenate([images for images, _ in batches])
    y = np.concatenate([labels for _, labels in batches])
    train, valid = last_tenth_split(x, y, f"cifar10 in {directory}")
    test = _read_cifar_batch(directory / "test_batch")
    return build_dataset("cifar10", train, valid, test, num_classes=10)


def read_idx(path: Path, magic: int, name: str) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes as a uint8 array of the shape its header declares.

    IDX: a big-endian uint32 magic number, one big-endian uint32 per dimension, then the data.
    `name` is the dataset reading the file, for error messages.
    """
    try:
        with gzip.open(path, "rb") as f:
            content = f.read()
    except (OSError, EOFError) as err:  # not gzip: BadGzipFile (an OSError); cut short: EOFError
        raise _corrupt(name, IDX_FILES, path, f"not a readable gzip file ({err})") from err
    ndim = magic & 0xFF
    header = 4 * (1 + ndim)
    if len(content) < header:
        raise _corrupt(name, IDX_FILES, path, f"{len(content)} bytes, shorter than an IDX header")
    found = int.from_bytes(content[:4], "big")
    if found != magic:
        raise _corrupt(name, IDX_FILES, path, f"IDX magic number {found}, expected {magic}")
    dims = tuple(int(d) for d in np.frombuffer(content, dtype=">u4", count=ndim, offset=4))
    if len(content) - header != math.prod(dims):
        raise _corrupt(
            name,
            IDX_FILES,
            path,
            f"header declares shape {dims} ({math.prod(dims)} bytes) but "
            f"{len(content) - header} bytes of data follow",
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header).reshape(dims)


def _read_idx_split(directory: Path, prefix: str, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, 28, 28, 1) uint8 and labels (n,) uint8 of one IDX split ("train"/"t10k")."""
    images_path = directory / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = directory / f"{prefix}-labels-idx1-ubyte.gz"
    images = read_idx(images_path, IMAGES_MAGIC, name)
    labels = read_idx(labels_path, LABELS_MAGIC, name)
    if images.shape[1:] != (28, 28):
        raise _corrupt(
            name, IDX_FILES, images_path, f"images are {images.shape[1:]}, expected (28, 28)"
        )
    if len(images) != len(labels):
        raise _corrupt(
            name,
            IDX_FILES,
            images_path,
            f"{len(images)} images but {labels_path} holds {len(labels)} labels",
        )
    _check_labels(name, IDX_FILES, labels_path, labels)
    return images[..., None], labels


def load_idx(name: str, data_dir: str | os.PathLike | None = None) -> Dataset:
    """MNIST or Fashion-MNIST from IDX files: x (n, 28, 28, 1), 10 classes.

    The full sets give 54,000 / 6,000 / 10,000: the last tenth of the 60,000 training
    images (in file order) validate.
    """
    directory = dataset_dir(name, data_dir, IDX_FILES)
    x, y = _read_idx_split(directory, "train", name)
    train, valid = last_tenth_split(x, y, f"{name} in {directory}")
    test = _read_idx_split(directory, "t10k", name)
    return build_dataset(name, train, valid, test, num_classes=10)
