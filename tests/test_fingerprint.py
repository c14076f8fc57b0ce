"""A table records its examples' fingerprint (`dataset_fingerprint`), and every rebuild of its
data is checked against it: other examples (another generator seed, reordered examples,
shifted sequences, other labels) are refused; a last-bit difference of float32 arithmetic is
not. A resume or merge of files with other examples is refused, and a file that predates the
record gets it from a resume that has nothing left to train."""

from __future__ import annotations

import dataclasses

import h5py
import numpy as np
import pytest

from nasbench_lite.datasets import load_dataset, rebuild_dataset, table_dataset
from nasbench_lite.datasets.fingerprint import (
    STATS,
    check_fingerprint,
    data_fingerprint,
    differences,
)
from nasbench_lite.errors import InputError
from nasbench_lite.generate.run import GenerateConfig, open_or_create
from nasbench_lite.table.storage import read_arrays, write_arrays


@pytest.fixture(scope="module")
def data():
    return load_dataset("mnist1d")


def _replace(data, **arrays):
    return dataclasses.replace(data, **arrays)


def test_a_fingerprint_is_plain_json_and_repeatable(data):
    import json

    record = data_fingerprint(data)
    assert set(record) == {"train", "valid", "test"}
    assert json.loads(json.dumps(record)) == record
    assert all(len(split["inputs"]) == len(STATS) for split in record.values())
    assert record == data_fingerprint(load_dataset("mnist1d"))
    assert differences(record, record) == []


def test_other_examples_are_told_apart_and_rounding_is_not(data):
    recorded = data_fingerprint(data)
    last_bit = np.nextafter(data.x_train, np.float32(np.inf))  # every value one ulp up
    check_fingerprint(recorded, _replace(data, x_train=last_bit), "probe")  # no error
    order = np.random.default_rng(0).permutation(len(data.y_valid))
    same = np.flatnonzero(data.y_train == data.y_train[0])
    i, j = 0, int(same[same >= 1009][0])  # the old weights repeated every 1009 positions
    swapped = data.x_train.copy()
    swapped[[i, j]] = swapped[[j, i]]
    one_label = np.where(np.arange(len(data.y_test)) == 5, (data.y_test + 1) % 10, data.y_test)
    changed = {
        "reordered": _replace(data, x_valid=data.x_valid[order], y_valid=data.y_valid[order]),
        "inputs reordered, labels kept": _replace(data, x_valid=data.x_valid[order]),
        "shifted": _replace(data, x_test=np.roll(data.x_test, 3, axis=1)),
        "reversed": _replace(data, x_train=data.x_train[:, ::-1].copy()),
        "two examples of one label swapped": _replace(data, x_train=swapped),
        "scaled": _replace(data, x_train=data.x_train * np.float32(1.001)),
        "one label": _replace(data, y_test=one_label.astype(np.int32)),
    }
    for name, other in changed.items():
        with pytest.raises(InputError, match="^probe: the rebuilt 'mnist1d' examples are not"):
            check_fingerprint(recorded, other, "probe")
        assert differences(recorded, data_fingerprint(other)), name
    check_fingerprint(None, changed["shifted"], "probe")  # nothing recorded: nothing checked


def test_a_malformed_record_is_an_error_not_a_crash(data):
    current = data_fingerprint(data)
    for bad, words in (
        ({"labels": "x", "inputs": [0.0]}, "not 4 sums"),
        ({"labels": "x", "inputs": None}, "not 4 sums"),
        ({"labels": "x", "inputs": ["a", "b", "c", "d"]}, "not numbers"),
        ("text", "not a {labels, inputs} record"),
        ({"inputs": [0.0] * 4}, "not a {labels, inputs} record"),
    ):
        found = differences({**current, "train": bad}, current)
        assert len(found) == 1 and words in found[0], (bad, found)
    with pytest.raises(InputError, match="the record is list, not a dict of splits"):
        check_fingerprint([1, 2], data, "probe")


def test_an_empty_split_has_a_fingerprint():
    from nasbench_lite.datasets.fingerprint import split_fingerprint

    empty = split_fingerprint(np.zeros((0, 40, 1), np.float32), np.zeros(0, np.int32))
    assert empty["inputs"] == [0.0, 0.0, 0.0, 0.0]


def test_rebuilding_a_tables_data_checks_its_fingerprint(data):
    attrs = {"dataset": "mnist1d", "dataset_fingerprint": data_fingerprint(data)}
    identity = table_dataset(attrs, "t.h5")
    assert identity.fingerprint == attrs["dataset_fingerprint"]
    plain = table_dataset({"dataset": "mnist1d"})
    assert identity.to_dict() == plain.to_dict() and "fingerprint" not in identity.to_dict()
    assert identity != plain and hash(identity) != hash(plain)  # a cache tells them apart
    assert rebuild_dataset(identity).splits == data.splits
    attrs["dataset_fingerprint"]["valid"]["labels"] = "0" * 64
    with pytest.raises(InputError, match=r"^t\.h5: the rebuilt .* \(valid labels"):
        rebuild_dataset(table_dataset(attrs, "t.h5"), needed_by="t.h5")


TINY = GenerateConfig(preset="tiny", cells=2, seeds=1, chunk=2)


def test_generate_records_it_and_refuses_to_resume_other_examples(tmp_path, data):
    path = tmp_path / "t.h5"
    arrays, attrs = open_or_create(path, TINY)
    assert attrs["dataset_fingerprint"] == data_fingerprint(data)
    attrs["dataset_fingerprint"]["train"]["inputs"][1] *= 1.01  # examples of another release
    write_arrays(path, arrays, attrs)
    with pytest.raises(InputError, match=r"cannot resume .*t\.h5: this run's examples are not "
                       r"the file's \(train inputs' std"):  # fmt: skip
        open_or_create(path, TINY)
    del attrs["dataset_fingerprint"]  # a file written before it was recorded: resumed ...
    write_arrays(path, arrays, attrs)
    resumed = open_or_create(path, TINY)[1]
    assert resumed["dataset_fingerprint"] == data_fingerprint(data)  # ... with it added


def test_merge_refuses_files_of_other_examples(tmp_path, data):
    from nasbench_lite.generate.merge import merge

    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    for path, shard in ((a, (0, 2)), (b, (1, 2))):
        write_arrays(path, *open_or_create(path, dataclasses.replace(TINY, shard=shard)))
    arrays, attrs = read_arrays(b)
    attrs["dataset_fingerprint"]["test"]["labels"] = "f" * 64
    write_arrays(b, arrays, attrs)
    with pytest.raises(InputError, match=r"cannot merge .*b\.h5 with .*a\.h5: their examples "
                       r"differ \(test labels"):  # fmt: skip
        merge(tmp_path / "m.h5", [a, b])


@pytest.mark.slow
def test_a_complete_file_without_it_gets_it_from_a_resume(tmp_path, data):
    """A resume with nothing to train rewrites the file only to add the record."""
    from nasbench_lite.generate.run import generate

    path = tmp_path / "t.h5"
    generate(path, TINY, progress=False)
    arrays, attrs = read_arrays(path)
    del attrs["dataset_fingerprint"]
    write_arrays(path, arrays, attrs)
    generate(path, TINY, progress=False)
    with h5py.File(path) as file:
        assert "dataset_fingerprint" in file.attrs
    again = read_arrays(path)[0]
    for name, value in arrays.items():
        np.testing.assert_array_equal(again[name], value, err_msg=name)
    mtime = path.stat().st_mtime_ns
    generate(path, TINY, progress=False)  # it has it now: the file is left alone
    assert path.stat().st_mtime_ns == mtime


def test_the_card_and_info_line_say_whether_it_is_recorded(data):
    from nasbench_lite.table.card import dataset_line
    from nasbench_lite.table.synthetic import synthetic_table

    table = synthetic_table(rows=3)
    assert dataset_line(table).endswith("no fingerprint of the examples (a `generate` resume "
                                        "records it)")  # fmt: skip
    record = data_fingerprint(data)
    table.attrs["dataset_fingerprint"] = record
    assert dataset_line(table).endswith(f"examples' fingerprint: train labels "
                                        f"{record['train']['labels'][:12]}")  # fmt: skip


def test_a_generation_worker_checks_its_own_examples(data):
    import json

    from nasbench_lite.generate.executors import _dataset

    recorded = data_fingerprint(data)
    assert _dataset("mnist1d", None, json.dumps(recorded)).splits == data.splits
    recorded["train"]["labels"] = "0" * 64  # the driver's examples differ from this node's
    with pytest.raises(InputError, match=r"^a generation worker on .*: the rebuilt 'mnist1d' "
                       r"examples are not the ones"):  # fmt: skip
        _dataset("mnist1d", None, json.dumps(recorded))


def test_two_stored_records_compare_without_a_crash(data):
    record = data_fingerprint(data)
    partial = {k: v for k, v in record.items() if k != "test"}
    assert differences(record, partial) == ["test: not recorded"]
    assert differences(record, "text") == ["the other record is str, not a dict of splits"]
    bad = {**record, "valid": {"labels": 3}}
    assert differences(record, bad) == ["valid: recorded not a {labels, inputs} record"]


def test_a_surrogate_keeps_its_tables_fingerprint_and_refuses_other_examples(data):
    """The model records the fingerprint; its benchmark's context carries it to whatever
    rebuilds the data (a supernet search); a table of other examples is refused."""
    from nasbench_lite.backends.surrogate import SurrogateBenchmark, fitted_table
    from nasbench_lite.surrogate.features import SurrogateError
    from nasbench_lite.surrogate.model import Surrogate, SurrogateConfig
    from nasbench_lite.table.synthetic import synthetic_table

    table = synthetic_table(rows=120, seeds=2, epochs=2, rng=1)
    table.attrs["dataset_fingerprint"] = data_fingerprint(data)
    model = Surrogate.fit(table, train_fraction=0.5, seed=0,
                          config=SurrogateConfig(members=1, folds=2, grid=({},)))  # fmt: skip
    assert model.meta["table"]["dataset_fingerprint"] == data_fingerprint(data)
    context = SurrogateBenchmark(model, noise=False).context()
    assert context.dataset.fingerprint == data_fingerprint(data)
    other = synthetic_table(rows=120, seeds=2, epochs=2, rng=1)
    other.attrs["dataset_fingerprint"] = data_fingerprint(data)
    other.attrs["dataset_fingerprint"]["test"]["labels"] = "0" * 64
    with pytest.raises(SurrogateError, match=r"fitted on other examples than .*\(test labels"):
        model.check_table(other)
    unstamped = synthetic_table(rows=120, seeds=2, epochs=2, rng=1)
    model.check_table(unstamped)  # nothing recorded there: the recipe decides
    assert fitted_table(model) is None  # a table in memory has no file to find
