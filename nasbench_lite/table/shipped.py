"""The benchmark tables shipped with the package, and which one is used when none is given.

The repository keeps them in the top-level folder ``data/``; an installed package holds the
same files as ``nasbench_lite/data/`` (pyproject.toml maps the folder into the package), so
they are found next to the code wherever the package is installed and whatever the working
directory. A source checkout that is not installed reads ``data/`` beside the package.
`compare`, `query`, `info` and `card` all default to `default_table_path()`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

from nasbench_lite.errors import MissingFileError

TABLE_ENV = "NASBENCH_LITE_TABLE"
MODEL_ENV = "NASBENCH_LITE_MODEL"
# The protocol-v1 table of MNIST-1D (`cpu` preset): task "mnist1d", whichever is the default.
CPU_TABLE = "nb201_mnist1d_cpu.h5"
# The protocol-v2 table of MNIST-1D: task "mnist1d_v2".
V2_TABLE = "nb201_mnist1d_v2.h5"
# In order of preference: the protocol-v2 table shipped with the code, then the `cpu`-preset
# (protocol-v1) one, then a GPU-preset one a user generated into the data folder
# (`benchmarks/gpu_run.sh`). The first complete one is the default table.
TABLE_NAMES = (V2_TABLE, CPU_TABLE, "nb201_mnist1d_gpu.h5")
# The surrogates shipped with the tables, each fitted on 10% of its table's classes (a
# directory written by `Surrogate.save`; see docs/surrogate.md). Where a table is used without
# a model, its own shipped model is the default.
SHIPPED_MODELS = {
    V2_TABLE: "nb201_mnist1d_v2_surrogate",
    CPU_TABLE: "nb201_mnist1d_cpu_surrogate",
    "nb201_mnist1d_short_warped.h5": "nb201_mnist1d_short_warped_surrogate",
    "nb201_noise_id.h5": "nb201_noise_id_surrogate",
}
# The model used where no table is given either: the default table's.
MODEL_NAME = SHIPPED_MODELS[TABLE_NAMES[0]]
# The suite's tasks (protocol v2, datasets/tasks.py SUITE) and their table files, for
# `compare --tasks`; "mnist1d" is the protocol-v1 table.
SUITE_TABLES = {
    "mnist1d_v2": V2_TABLE,
    "mnist1d_short_warped": "nb201_mnist1d_short_warped.h5",
    "noise_id": "nb201_noise_id.h5",
}
TASK_TABLES = {**SUITE_TABLES, "mnist1d": CPU_TABLE}


PACKAGE_DIR = Path(__file__).resolve().parent.parent  # nasbench_lite/


def find_data_dir(package: Path = PACKAGE_DIR) -> Path:
    """``<package>/data`` of an installed package; in a source checkout (a folder that holds
    pyproject.toml above the package folder), its top-level ``data/``."""
    installed, checkout = package / "data", package.parent / "data"
    if not installed.is_dir() and (package.parent / "pyproject.toml").is_file():
        return checkout
    return installed


DATA_DIR = find_data_dir()


def shipped_tables() -> list[Path]:
    """The table files of TABLE_NAMES present in DATA_DIR, in order of preference."""
    return [DATA_DIR / name for name in TABLE_NAMES if (DATA_DIR / name).is_file()]


def default_table_path() -> Path:
    """The table used when none is given: $NASBENCH_LITE_TABLE if set, else the first complete
    one of TABLE_NAMES (nb201_mnist1d_v2.h5, nb201_mnist1d_cpu.h5, nb201_mnist1d_gpu.h5) in
    the data folder, else
    the first of them that exists (a partial table: a search is then restricted to the
    classes it holds).

    Raises MissingFileError (a FileNotFoundError) when there is none.
    """
    env = os.environ.get(TABLE_ENV)
    if env:
        if not Path(env).is_file():
            raise MissingFileError(f"{TABLE_ENV}={env}: no such table file")
        return Path(env)
    found = shipped_tables()
    if found:
        from nasbench_lite.table.storage import file_is_complete

        return next((path for path in found if file_is_complete(path)), found[0])
    raise MissingFileError(
        f"no table given and no shipped table found (looked for {', '.join(TABLE_NAMES)} in "
        f"{DATA_DIR}); name a table file or set {TABLE_ENV}"
    )


def default_model_path(table: str | os.PathLike | None = None) -> Path:
    """The surrogate used when none is given: $NASBENCH_LITE_MODEL if set, else the shipped
    model fitted on `table` (SHIPPED_MODELS, matched by the table's file name), else, for no
    table or one without a shipped model, the default table's (MODEL_NAME; a model fitted on
    another table is then refused where it is checked against `table`). Raises
    MissingFileError when there is none."""
    env = os.environ.get(MODEL_ENV)
    if env:
        if not Path(env).is_dir():
            raise MissingFileError(f"{MODEL_ENV}={env}: no such surrogate directory")
        return Path(env)
    name = MODEL_NAME if table is None else SHIPPED_MODELS.get(Path(table).name, MODEL_NAME)
    path = DATA_DIR / name
    if not (path / "surrogate.json").is_file():
        raise MissingFileError(
            f"no surrogate given and none shipped (looked for {path}); pass --model DIR "
            f"(written by `nasbench-lite surrogate fit`) or set {MODEL_ENV}"
        )
    return path


def suite_table_path(task: str) -> Path:
    """The shipped table of a suite task (TASK_TABLES). Raises InputError for an unknown
    task, MissingFileError naming the file when it is not in the data folder."""
    from nasbench_lite.errors import InputError

    if task not in TASK_TABLES:
        raise InputError(f"unknown task {task!r}; the suite's: {', '.join(TASK_TABLES)}")
    path = DATA_DIR / TASK_TABLES[task]
    if not path.is_file():
        preset = "v2" if task in SUITE_TABLES else "cpu"  # "mnist1d": the protocol-v1 table
        raise MissingFileError(
            f"task {task!r}: its table {path} is not there (generate it with `nasbench-lite "
            f"generate --dataset {task} --preset {preset} --seeds 3 --out {path}`)"
        )
    return path


def task_tables(names: Sequence[str]) -> list[tuple[str, Path]]:
    """(label, table path) for each of `names`: a suite task's name (its shipped table),
    "all" (every task of the suite), or a table file's path (labelled by its dataset).

    Raises InputError for an unknown name, a task whose table is not shipped, or two tasks
    with one label.
    """
    from nasbench_lite.errors import InputError

    found: list[tuple[str, Path]] = []
    for name in names:
        if name == "all":
            found += [(task, suite_table_path(task)) for task in SUITE_TABLES]
        elif name in TASK_TABLES:
            found.append((name, suite_table_path(name)))
        elif Path(name).suffix in (".h5", ".hdf5") or Path(name).exists():
            found.append((table_label(Path(name)), Path(name)))
        else:
            raise InputError(
                f"task {name!r}: not a task ({', '.join(TASK_TABLES)}, or all) and not a table file"
            )
    labels = [label for label, _ in found]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise InputError(f"tasks must be distinct, got {repeated} more than once")
    if len(found) < 1:
        raise InputError("no task given")
    return found


def table_label(path: Path) -> str:
    """A task label for a table file: its dataset and preset attributes, else its file name."""
    from nasbench_lite.table.reader import Table

    attrs = Table.open(path).attrs
    dataset, preset = attrs.get("dataset"), attrs.get("preset")
    label = f"{dataset}-{preset}" if dataset and preset else path.stem
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(label))
