"""A table knows how to rebuild its data: datasets state their identity, `generate` records it
(`dataset_identity`), and every consumer that trains on a table made from files (the live
backend, the weight-sharing strategies, `compare`) takes `data_dir`, or says in one line that
it needs it. Surrogate fits read the identity and load nothing.

The data: small synthetic MNIST IDX files (80 training images: 72 train, 8 valid; 16 test).
The fast tests use a stub table: made-up numbers under the root attributes `generate` writes
for those files (`open_or_create`), identity included. The slow ones generate a 2-class table
at the tiny preset and train on it (the compilation of the tiny trainer on 28x28 images, then
a supernet's, dominates their time).
"""

from __future__ import annotations

import dataclasses
import json
import shutil

import h5py
import numpy as np
import pytest
from conftest import synthetic_table
from test_datasets import write_cifar, write_idx

from nasbench_lite.backends.live import LiveBenchmark
from nasbench_lite.backends.tabular import TabularBenchmark
from nasbench_lite.cli import main
from nasbench_lite.compare.config import CompareConfig
from nasbench_lite.compare.run import compare
from nasbench_lite.datasets import (
    CIFAR10_FILES,
    DATASETS,
    IDENTITIES,
    IDX_FILES,
    DatasetIdentity,
    dataset_identity,
    load_dataset,
    rebuild_dataset,
)
from nasbench_lite.errors import InputError
from nasbench_lite.generate.merge import merge
from nasbench_lite.generate.run import GenerateConfig, generate, open_or_create
from nasbench_lite.search.registry import make_strategy
from nasbench_lite.search.runner import _with_context, benchmark_context, run_search
from nasbench_lite.table import synthetic
from nasbench_lite.table.card import dataset_line, write_card
from nasbench_lite.table.reader import Table

GENERATE = GenerateConfig(dataset="mnist", preset="tiny", cells=2, seeds=1, chunk=2)
SPLITS = {"train": 72, "valid": 8, "test": 16}
EXPECTED = {"name": "mnist", "generator": {}, "input_shape": [28, 28, 1], "num_classes": 10,
            "splits": SPLITS, "needs_files": True, "files": list(IDX_FILES)}  # fmt: skip


def assert_one_line_naming_data_dir(err: pytest.ExceptionInfo, dataset: str = "mnist") -> None:
    """The message is one line that names the dataset, every file it needs and the option."""
    message = str(err.value)
    assert "\n" not in message
    assert f"dataset {dataset!r}" in message and "--data-dir" in message
    assert "pass data_dir" in message
    files = CIFAR10_FILES if dataset == "cifar10" else IDX_FILES
    assert all(f in message for f in files), message


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    directory = tmp_path_factory.mktemp("mnist")
    write_idx(directory, n_train=80, n_test=16)
    return directory


@pytest.fixture(scope="module")
def table_path(files, tmp_path_factory):
    """A stub of the table `generate` makes from `files`: its attributes (the identity
    included), made-up numbers for its 2 classes."""
    path = tmp_path_factory.mktemp("stub") / "mnist.h5"
    arrays, attrs = open_or_create(path, dataclasses.replace(GENERATE, data_dir=str(files)))
    kept = {k: v for k, v in attrs.items() if k not in ("hardware", "total_compute_seconds")}
    synthetic.synthetic_table(
        path, classes=arrays["cells/row_class"], seeds=1, epochs=2, attrs=kept
    )
    return path


@pytest.fixture(scope="module")
def generated_path(files, tmp_path_factory):
    """The 2-class table generated from `files` at the tiny preset."""
    path = tmp_path_factory.mktemp("table") / "mnist.h5"
    generate(path, dataclasses.replace(GENERATE, data_dir=str(files)), progress=False)
    return path


@pytest.fixture()
def old_table_path(table_path, tmp_path):
    """The table as a file written before `dataset_identity` was recorded."""
    path = tmp_path / "old.h5"
    shutil.copy(table_path, path)
    with h5py.File(path, "a") as f:
        del f.attrs["dataset_identity"]
    return path


# ---------------------------------------------------------------- the records


@pytest.mark.parametrize("name", list(DATASETS))
def test_every_registered_dataset_states_its_identity_as_plain_data(name):
    identity = dataset_identity(name)
    record = identity.to_dict()
    assert set(record) == {"name", "generator", "input_shape", "num_classes", "splits",
                           "needs_files", "files"}  # fmt: skip
    assert json.loads(json.dumps(record)) == record  # plain JSON types only
    assert DatasetIdentity.from_dict(record) == identity
    assert record["name"] == name and record["num_classes"] == 10
    assert record["needs_files"] == (name in ("cifar10", "mnist", "fashion_mnist"))
    assert bool(record["files"]) == record["needs_files"]
    assert sum(record["splits"].values()) > 0
    if not identity.needs_files:  # a built-in one: its record is what loading gives
        data = load_dataset(name)
        assert tuple(record["input_shape"]) == data.x_train.shape[1:]
        assert record["splits"] == data.splits


def test_mnist1d_records_the_generator_arguments_it_uses():
    from mnist1d.data import get_dataset_args

    arguments = get_dataset_args(as_dict=True)
    arguments.pop("url")  # the downloading loader is never used
    assert dataset_identity("mnist1d").generator == arguments
    assert dataset_identity("mnist1d").generator["seed"] == 42
    assert dataset_identity("digits").generator == {}


def test_a_file_identity_takes_the_sizes_of_the_files_read(tmp_path):
    write_cifar(tmp_path)  # 5 batches of 4 images and 5 test images: 18 / 2 / 5
    data = load_dataset("cifar10", data_dir=tmp_path)
    identity = dataset_identity("cifar10", data)
    assert identity.splits == {"train": 18, "valid": 2, "test": 5}
    assert identity.files == CIFAR10_FILES and identity.input_shape == (32, 32, 3)
    assert IDENTITIES["cifar10"].splits == {"train": 45000, "valid": 5000, "test": 10000}
    rebuilt = rebuild_dataset(identity, tmp_path)
    np.testing.assert_array_equal(rebuilt.x_test, data.x_test)
    with pytest.raises(InputError) as err:
        rebuild_dataset(identity, None, "the live backend")
    assert_one_line_naming_data_dir(err, "cifar10")
    assert str(err.value).startswith("the live backend: ")


def test_rebuilt_data_must_match_the_record(tmp_path):
    write_idx(tmp_path, n_train=90, n_test=16)  # 81 / 9 / 16, not the recorded 72 / 8 / 16
    identity = DatasetIdentity.from_dict({**dataset_identity("mnist").to_dict(), "splits": SPLITS})
    with pytest.raises(InputError, match="splits"):
        rebuild_dataset(identity, tmp_path, "the live backend")
    changed = {**dataset_identity("mnist1d").to_dict(), "generator": {"seed": 1}}
    with pytest.raises(InputError, match="generator arguments"):
        rebuild_dataset(DatasetIdentity.from_dict(changed))
    with pytest.raises(InputError, match="must be a dict"):
        DatasetIdentity.from_dict(["mnist"])
    with pytest.raises(InputError, match="unknown dataset 'imagenet'"):
        dataset_identity("imagenet")
    with pytest.raises(InputError, match="lacks input_shape, num_classes"):
        DatasetIdentity.from_dict({"name": "mnist", "generator": {}, "splits": None,
                                   "needs_files": True, "files": []})  # fmt: skip


# ---------------------------------------------------------------- generate records it


def test_generate_records_the_identity_and_it_round_trips(table_path):
    with h5py.File(table_path) as f:
        stored = json.loads(f.attrs["dataset_identity"])  # a JSON string in the file
    assert stored == EXPECTED
    table = Table.open(table_path)
    assert table.attrs["dataset_identity"] == EXPECTED
    assert table.dataset_identity.to_dict() == DatasetIdentity.from_dict(EXPECTED).to_dict()
    assert table.dataset_identity.to_dict() == EXPECTED
    # Written again, read again: the same record.
    table.write(table_path.with_name("copy.h5"))
    assert Table.open(table_path.with_name("copy.h5")).dataset_identity.to_dict() == EXPECTED


def test_resume_and_merge_refuse_another_identity(table_path, tmp_path):
    write_idx(tmp_path, n_train=90, n_test=16)  # same names, other files: 81 / 9 / 16
    with pytest.raises(InputError, match="dataset_identity differs"):
        open_or_create(table_path, dataclasses.replace(GENERATE, data_dir=str(tmp_path)))
    other = tmp_path / "other.h5"
    table = Table.open(table_path)
    identity = {**EXPECTED, "splits": {"train": 81, "valid": 9, "test": 16}}
    Table(table.arrays, {**table.attrs, "dataset_identity": identity}).write(other)
    with pytest.raises(InputError, match="dataset_identity differs"):
        merge(tmp_path / "merged.h5", [table_path, other])


def test_an_old_table_still_opens_and_reports_its_identity(old_table_path, files):
    table = Table.open(old_table_path)
    assert "dataset_identity" not in table.attrs
    identity = table.dataset_identity
    assert identity.name == "mnist" and identity.files == IDX_FILES
    assert identity.input_shape == (28, 28, 1) and identity.splits is None  # not recorded
    assert "predates the recorded identity" in dataset_line(table)
    # Resuming it records the identity of the files given.
    _, attrs = open_or_create(old_table_path, dataclasses.replace(GENERATE, data_dir=str(files)))
    assert attrs["dataset_identity"] == EXPECTED
    # A table of a built-in dataset without the attribute: the registered record.
    assert synthetic_table().dataset_identity == dataset_identity("mnist1d")


def test_info_and_card_show_the_identity_in_one_line(table_path, old_table_path, capsys):
    assert main(["info", str(table_path)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "dataset mnist:" in line]
    assert len(lines) == 1
    assert "input 28x28x1, 10 classes, splits train 72 / valid 8 / test 16" in lines[0]
    assert "t10k-labels-idx1-ubyte.gz" in lines[0]
    assert main(["info", str(old_table_path)]) == 0
    assert "split sizes not recorded (derived from the dataset name" in capsys.readouterr().out
    md, _ = write_card(table_path, out=table_path.with_name("card.md"), overwrite=True)
    rows = [line for line in md.read_text().splitlines() if line.startswith("| dataset identity")]
    assert len(rows) == 1 and "splits train 72 / valid 8 / test 16" in rows[0]


# ---------------------------------------------------------------- consumers take data_dir


def refuse_to_load(*args, **kwargs):
    raise AssertionError("the dataset was loaded")


def test_surrogate_features_read_the_identity_and_load_no_data(table_path, monkeypatch):
    from nasbench_lite import datasets
    from nasbench_lite.surrogate.features import table_identity

    monkeypatch.setattr(datasets, "load_dataset", refuse_to_load)
    record = table_identity(Table.open(table_path))
    assert record["input_shape"] == [28, 28, 1] and record["num_classes"] == 10
    assert record["dataset_identity"] == EXPECTED


@pytest.mark.slow  # XGBoost's import and boosting: seconds alone, far more on shared cores
def test_surrogate_fit_needs_no_data_dir(monkeypatch):
    from nasbench_lite import datasets
    from nasbench_lite.surrogate.model import Surrogate, SurrogateConfig

    # A table of a file-based dataset whose files are nowhere: fitting needs none of them.
    monkeypatch.setattr(datasets, "load_dataset", refuse_to_load)
    table = synthetic_table(classes=np.arange(0, 5044, 50))
    table = Table(table.arrays, {**table.attrs, "dataset": "fashion_mnist"})
    config = SurrogateConfig(members=1, folds=2, grid=({"max_depth": 2, "learning_rate": 0.3},))
    model = Surrogate.fit(table, 0.5, config=config)
    assert model.meta["table"]["input_shape"] == [28, 28, 1]
    assert model.meta["table"]["dataset_identity"]["name"] == "fashion_mnist"


def test_live_backend_takes_data_dir(table_path, files):
    with pytest.raises(InputError) as err:
        LiveBenchmark("tiny", "mnist", reference=table_path)
    assert_one_line_naming_data_dir(err)
    assert str(err.value).startswith(f"the live backend on table {table_path}: ")
    bench = LiveBenchmark("tiny", "mnist", reference=table_path, data_dir=files)
    assert bench.data.splits == SPLITS  # rebuilt, and checked against the table's record


def test_a_builtin_dataset_or_a_loaded_one_refuses_data_dir(files, tmp_path, space):
    with pytest.raises(InputError, match="built in and reads no files"):
        LiveBenchmark("tiny", "mnist1d", data_dir=files)
    data = load_dataset("mnist", data_dir=files)
    with pytest.raises(InputError, match="a loaded Dataset was given"):
        LiveBenchmark("tiny", data, data_dir=files)
    with pytest.raises(InputError, match="a loaded Dataset was given"):
        make_strategy("rsps", space, train_config="tiny", dataset=data, data_dir=files)
    with pytest.raises(InputError, match="built in and reads no files"):
        make_strategy("rsps", space, train_config="tiny", dataset="digits", data_dir=files)
    path = tmp_path / "synthetic.h5"
    synthetic_table().write(path)
    config = CompareConfig(table=str(path), strategies=("random_search",), seeds=1,
                           budget="1evals", out=None, data_dir=str(files))  # fmt: skip
    with pytest.raises(InputError, match="built in and reads no files"):
        compare(config)


def test_weight_sharing_gets_data_dir_from_the_runner(table_path, files):
    bench = TabularBenchmark(Table.open(table_path))
    context = benchmark_context(bench).for_strategy(str(files))
    assert context["dataset"].name == "mnist" and context["data_dir"] == str(files)
    assert benchmark_context(bench).for_strategy()["data_dir"] is None
    with pytest.raises(InputError) as err:
        make_strategy(
            "rsps",
            bench.space,
            **_with_context("rsps", {}, benchmark_context(bench).for_strategy()),
        )
    assert_one_line_naming_data_dir(err)
    assert str(err.value).startswith("strategy 'rsps' (a supernet search): ")
    strategy = make_strategy("rsps", bench.space, **_with_context("rsps", {}, context))
    assert strategy.data_dir == str(files) and strategy.steps_per_epoch() == 1  # 72 // 64
    config = CompareConfig(table=str(table_path), strategies=("darts",), seeds=1,
                           budget="1evals", out=None)  # fmt: skip
    with pytest.raises(InputError) as err:  # before any run starts
        compare(config)
    assert_one_line_naming_data_dir(err)


def test_compare_live_says_it_needs_data_dir(table_path, tmp_path, capsys):
    config = CompareConfig(table=str(table_path), backend="live", strategies=("random_search",),
                           seeds=1, budget="1evals", out=None)  # fmt: skip
    with pytest.raises(InputError) as err:
        compare(config)
    assert_one_line_naming_data_dir(err)
    # The command line: one line on stderr, no traceback, exit code 2.
    assert main([*compare_args(table_path), "--out", str(tmp_path / "none")]) == 2
    err_lines = capsys.readouterr().err.strip().splitlines()
    assert len(err_lines) == 1 and "--data-dir" in err_lines[0]
    assert err_lines[0].startswith("nasbench-lite compare: error: the live backend")


def compare_args(table_path) -> list[str]:
    return ["compare", "--table", str(table_path), "--backend", "live", "--strategies",
            "random_search", "--seeds", "1", "--budget", "1evals", "--no-progress"]  # fmt: skip


# ---------------------------------------------------------------- a generated table, trained on


@pytest.mark.slow
def test_generated_table_records_the_identity(generated_path):
    table = Table.open(generated_path)
    assert table.attrs["dataset_identity"] == EXPECTED and table.done.all()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:Data has no positive values")  # one run: regret 0 on plots
def test_live_backend_and_compare_train_on_the_generated_table(generated_path, files, tmp_path):
    # The program `generate` compiled (2 pairs, 2 devices) answers these single cells too.
    bench = LiveBenchmark("tiny", "mnist", reference=generated_path, data_dir=files)
    raw = int(Table.open(generated_path).row_raw[0])
    result = bench.evaluate(raw, np.random.default_rng(0))
    assert 0 <= result.valid_acc <= 1 and result.cost_seconds > 0
    args = [*compare_args(generated_path), "--out", str(tmp_path / "out")]
    assert main([*args, "--data-dir", str(files)]) == 0
    report = (tmp_path / "out" / "report.md").read_text()
    assert f"--data-dir {files}" in report and "| dataset | mnist: read from files" in report
    assert "| regret measured against | the best seed mean of the 2 trained classes" in report


@pytest.mark.slow
def test_weight_sharing_searches_on_the_generated_table(generated_path, files):
    bench = TabularBenchmark(Table.open(generated_path))
    params = {"search_epochs": 1, "candidates": 2}
    run = run_search("rsps", bench, "1evals", seed=0, params=params, data_dir=files)
    assert len(run) == 1 and bench.table.raw_to_row[run.raw[0]] >= 0
