"""Tables whose parts contradict each other are refused with the file and the problem named;
merge and the writer lock do not lose or mix data (symbolic links, an existing output, a lock
file removed under a waiting writer)."""

from __future__ import annotations

import json
import os

import h5py
import numpy as np
import pytest

from nasbench_lite.cli import main
from nasbench_lite.errors import InputError, MissingFileError, OutputExistsError
from nasbench_lite.generate import lock as lockmod
from nasbench_lite.generate.lock import lock_path, writer_lock
from nasbench_lite.generate.merge import merge
from nasbench_lite.generate.run import check_out
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import check_cells
from nasbench_lite.table.synthetic import synthetic_table


def table_file(path, classes, epochs=2, attrs=None, done=None):
    attrs = {"seeds": [0, 1], "config": {"epochs": epochs}, **(attrs or {})}
    return synthetic_table(path, classes=classes, seeds=2, epochs=epochs, done=done,
                           rng=len(classes), attrs=attrs)  # fmt: skip


def edited(table, **changes):
    """`table`'s arrays and attributes with `changes` (an array by its path, or an attribute)."""
    arrays = {k: np.array(v) for k, v in table.arrays.items()}
    attrs = dict(table.attrs)
    for key, value in changes.items():
        path = key.replace("__", "/")
        if path in arrays:
            arrays[path] = value(arrays[path]) if callable(value) else value
        else:
            attrs[path] = value
    return arrays, attrs


@pytest.fixture(scope="module")
def table():
    return table_file(None, np.arange(30))


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"seeds": [1, 1]}, "must list each seed once"),
        ({"config": {"epochs": 5}}, "differs from the trainer config's 5"),
        ({"status__chunk": lambda a: np.where(np.arange(len(a)) == 3, 99, a)}, "outside -1.."),
    ],
)
def test_contradicting_attributes_and_status_are_named(table, changes, message):
    arrays, attrs = edited(table, **changes)
    with pytest.raises(InputError, match=f"t.h5: .*{message}"):
        Table(arrays, attrs, source="t.h5")


def test_a_trained_pair_without_a_result_must_be_marked_diverged(table):
    def blank(a):
        a = a.copy()
        a[4, 1, -1] = np.nan
        return a

    arrays, attrs = edited(table, metrics__valid_acc=blank)
    with pytest.raises(InputError, match="row 4 is marked trained but seed position 1 has no"):
        Table(arrays, attrs, source="t.h5")
    arrays["status/diverged"][4, 1] = True  # a diverged pair: NaN is its result
    assert np.isnan(Table(arrays, attrs).metric("valid_acc")[4, 1, -1])
    arrays["status/done"][4] = False  # a pending row: never read
    assert not Table(arrays, attrs).done[4]


def test_cells_that_are_not_the_spaces_are_refused_where_it_matters(table, tmp_path):
    """A raw cell mapped to another class's row answers with that class's results: open
    cannot afford the space (tens of ms); `info --verify`, merge and resume check it."""
    arrays, attrs = edited(table)
    raw_to_row = arrays["cells/raw_to_row"]
    representatives = set(arrays["cells/row_raw"].tolist())
    mapped = [r for r in np.flatnonzero(raw_to_row >= 0) if r not in representatives]
    other = next(r for r in mapped if raw_to_row[r] != raw_to_row[mapped[0]])
    raw_to_row[other] = raw_to_row[mapped[0]]  # another class's row
    forged = Table(arrays, attrs, source="forged.h5")  # opens: the cheap checks pass
    with pytest.raises(InputError, match="forged.h5: /cells/raw_to_row is not what space"):
        check_cells(forged.arrays, forged.attrs, "forged.h5")
    check_cells(table.arrays, table.attrs, "t.h5")
    path = tmp_path / "forged.h5"
    forged.write(path)
    with pytest.raises(InputError, match="raw_to_row is not what space"):
        merge(tmp_path / "m.h5", [path])
    assert not (tmp_path / "m.h5").exists()


def test_a_corrupt_attribute_is_an_input_error(tmp_path):
    path = tmp_path / "t.h5"
    table_file(path, np.arange(10))
    with h5py.File(path, "a") as f:
        f.attrs["config"] = "{not json"
    with pytest.raises(InputError, match="t.h5 cannot be read as a table"):
        Table.open(path)
    with h5py.File(path, "a") as f:
        f.attrs["config"] = json.dumps({"epochs": 2})
        f.attrs["seeds"] = np.int64(5)  # not a list
    with pytest.raises(InputError, match="t.h5"):
        Table.open(path)


def test_merge_refuses_to_replace_an_unrelated_output_and_drops_stale_records(tmp_path, caplog):
    a, b, out = tmp_path / "a.h5", tmp_path / "b.h5", tmp_path / "out.h5"
    table_file(a, np.arange(0, 10), attrs={"latency": {"batches": [1]}, "proxies": {"x": 1}})
    table_file(b, np.arange(10, 20))
    table_file(out, np.arange(40, 45))
    with pytest.raises(OutputExistsError, match="out.h5 exists and is not one of the inputs"):
        merge(out, [a, b])
    assert Table.open(out).num_rows == 5  # untouched
    with caplog.at_level("WARNING", logger="nasbench_lite.generate.merge"):
        merged = merge(out, [a, b], force=True)
    assert "leaves out the inputs' latency, proxies" in caplog.text
    assert merged.num_rows == 20
    assert "latency" not in merged.attrs and "proxies" not in merged.attrs
    assert merge(out, [out, table_file(tmp_path / "c.h5", np.arange(20, 25)).source]).num_rows == 25
    assert main(["merge", str(out), str(a)]) == 2  # the CLI names --force
    assert main(["merge", str(out), str(a), "--force"]) == 0


def test_merge_names_different_epochs(tmp_path):
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    table_file(a, np.arange(0, 10), epochs=2, attrs={"config": {}})
    table_file(b, np.arange(10, 20), epochs=3, attrs={"config": {}})
    with pytest.raises(InputError, match=r"cannot merge .*b.h5 with .*a.h5: epochs differs"):
        merge(tmp_path / "m.h5", [a, b])


def test_a_link_and_its_file_share_one_lock_and_the_file_is_written(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    target = real / "t.h5"
    table_file(target, np.arange(10))
    link = tmp_path / "link.h5"
    link.symlink_to(target)
    assert lock_path(link) == lock_path(target)
    assert check_out(link) == target.resolve()
    with writer_lock(target), pytest.raises(InputError, match="being written by another"):
        with writer_lock(link):
            pass
    merge(link, [link, table_file(tmp_path / "b.h5", np.arange(10, 15)).source])
    assert link.is_symlink() and Table.open(target).num_rows == 15


def test_a_lock_taken_on_a_removed_lock_file_is_taken_again(tmp_path, monkeypatch):
    """A writer that opened the lock file just before its holder removed it and unlocked
    gets a lock no one else sees; it must notice and lock the file that is there."""
    table = tmp_path / "t.h5"
    with writer_lock(table):
        stale = os.open(lock_path(table), os.O_RDWR)
    assert not lock_path(table).exists()
    real_open, calls = os.open, []

    def opening(path, flags, mode=0o777):
        calls.append(path)
        return stale if len(calls) == 1 else real_open(path, flags, mode)

    monkeypatch.setattr(lockmod.os, "open", opening)
    with writer_lock(table):
        monkeypatch.setattr(lockmod.os, "open", real_open)
        assert len(calls) == 2 and lock_path(table).exists()
        with pytest.raises(InputError, match="being written by another"), writer_lock(table):
            pass


def test_verify_names_a_missing_table(tmp_path, capsys):
    (tmp_path / "gone_card.md").write_text("# card\n")
    assert main(["info", str(tmp_path / "gone.h5"), "--verify"]) == 2
    assert "gone.h5 does not exist" in capsys.readouterr().err
    with pytest.raises(MissingFileError):
        from nasbench_lite.table.verify import verify_against_card

        verify_against_card(tmp_path / "gone.h5")
