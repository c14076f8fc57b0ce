"""Table file format (schema v1) and queries: round trips, brute-force lookups, errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest

from nasbench_lite.cli import main
from nasbench_lite.spaces import get_space
from nasbench_lite.table.reader import Table
from nasbench_lite.table.schema import FIELDS, REQUIRED, SCHEMA, markdown
from nasbench_lite.table.storage import CURVE_METRICS, METRICS, read_arrays, write_table
from nasbench_lite.table.synthetic import synthetic_table

SPACE = get_space("nb201")
SEEDS, EPOCHS = 3, 4


def synthetic(classes, seed=0, diverged_rows=()) -> Table:
    """A table of made-up numbers for `classes` (class ids); diverged_rows: (row, seed)."""
    diverged = np.zeros((len(classes), SEEDS), bool)
    for row, s in diverged_rows:
        diverged[row, s] = True
    attrs = {"preset": "tiny", "config": {"epochs": EPOCHS, "channels": 4}, "command": "test"}
    return synthetic_table(
        classes=classes, seeds=SEEDS, epochs=EPOCHS, diverged=diverged, rng=seed, attrs=attrs
    )


def given(table: Table) -> dict[str, np.ndarray]:
    """The datasets of `table` a writer gives: all but those derived from /cells/row_raw."""
    return {f.path: table.arrays[f.path] for f in SCHEMA if not f.derived}


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    path = tmp_path_factory.mktemp("table") / "full.h5"
    contents = synthetic(np.arange(SPACE.num_unique))
    contents.write(path)
    return path, contents


@pytest.fixture(scope="module")
def sampled(tmp_path_factory):
    path = tmp_path_factory.mktemp("table") / "sampled.h5"
    classes = np.sort(SPACE.sample_classes(np.random.default_rng(1), 50))
    contents = synthetic(classes, seed=1)
    contents.write(path)
    return path, contents, classes


def test_round_trip_arrays_and_attrs(full, tmp_path):
    path, contents = full
    table = Table.open(path)
    for m in METRICS:
        np.testing.assert_array_equal(table.metric(m), contents.metric(m))
        assert table.metric(m).dtype == contents.metric(m).dtype == FIELDS[f"metrics/{m}"].dtype
    np.testing.assert_array_equal(table.diverged, contents.diverged)
    np.testing.assert_array_equal(table.row_raw, contents.row_raw)
    assert table.attrs == contents.attrs
    assert table.done.all() and table.num_rows == SPACE.num_unique
    # Writing the opened table again reproduces every dataset bit for bit.
    table.write(tmp_path / "again.h5")
    first, attrs1 = read_arrays(path)
    second, attrs2 = read_arrays(tmp_path / "again.h5")
    assert sorted(first) == sorted(second) == sorted(FIELDS) and attrs1 == attrs2
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
        assert first[name].dtype == second[name].dtype
    # A table given only what a writer must give (the /cells datasets derived from the
    # space) writes the same file.
    memory = Table(given(contents), contents.attrs)
    memory.write(tmp_path / "memory.h5")
    third, attrs3 = read_arrays(tmp_path / "memory.h5")
    assert attrs3 == attrs1
    for name in first:
        np.testing.assert_array_equal(first[name], third[name], err_msg=name)
    with h5py.File(path) as f:  # uncompressed, each array checksummed (Fletcher-32)
        assert f["metrics/test_acc"].compression is None and f["metrics/test_acc"].fletcher32


def test_left_out_datasets_take_the_schema_defaults(full, tmp_path):
    _, contents = full
    required = {f.path: contents.arrays[f.path] for f in SCHEMA if f.default is REQUIRED}
    required = {k: v for k, v in required.items() if not FIELDS[k].derived}
    assert sorted(required) == sorted(
        [f"metrics/{m}" for m in METRICS] + ["cells/row_raw", "status/diverged"]
    )
    write_table(tmp_path / "lean.h5", required, contents.attrs)
    arrays, _ = read_arrays(tmp_path / "lean.h5")
    assert arrays["status/done"].all() and (arrays["status/chunk"] == -1).all()
    assert all(len(arrays[f.path]) == 0 for f in SCHEMA if f.axes == ("chunks",))
    np.testing.assert_array_equal(arrays["cells/ops"], contents.arrays["cells/ops"])


def test_files_without_cpu_seconds_read_it_as_nan(full, tmp_path):
    path, contents = full
    assert FIELDS["chunks/cpu_seconds"].missing_ok
    older = tmp_path / "older.h5"
    shutil.copy(path, older)
    with h5py.File(older, "a") as f:
        del f["chunks/cpu_seconds"]
    table = Table.open(older)
    chunks = len(contents.arrays["chunks/seconds"])
    assert chunks > 0 and table.arrays["chunks/cpu_seconds"].shape == (chunks,)
    assert np.isnan(table.arrays["chunks/cpu_seconds"]).all()
    np.testing.assert_array_equal(table.arrays["chunks/seconds"], contents.arrays["chunks/seconds"])


def test_docs_hold_the_schema_tables():
    """docs/table.md shows `schema.markdown()` verbatim: every dataset, axis and attribute."""
    text = (Path(__file__).resolve().parents[1] / "docs" / "table.md").read_text()
    assert markdown() in text
    for field in SCHEMA:
        assert f"`/{field.path}`" in text


def test_every_raw_cell_maps_to_its_class_row(full):
    path, contents = full
    table = Table.open(path)
    canonical = np.asarray(SPACE.canonical_ids)
    np.testing.assert_array_equal(table.raw_to_row, canonical)  # full table: row == class
    mean_valid = contents.metric("valid_acc").mean(axis=1)[:, -1]
    for raw in range(SPACE.num_cells):
        got = table.query(raw)
        row = canonical[raw]
        assert got["row"] == row
        assert got["valid_acc"] == pytest.approx(float(mean_valid[row]), rel=1e-6)
        assert got["params"] == contents.metric("params")[row]
    raws = np.arange(SPACE.num_cells)
    for m in METRICS:
        lookups = np.array([table.lookup(r, m) for r in raws[::97]])
        np.testing.assert_allclose(lookups, table.values(m, raws[::97]), rtol=1e-6)


def test_query_forms_epochs_and_seeds(full):
    path, contents = full
    table = Table.open(path)
    raw = 1234
    row = SPACE.canonical(raw)
    by_string, by_cell = table.query(SPACE.format(raw)), table.query(SPACE.cell(raw))
    assert by_string == table.query(raw) == by_cell
    assert set(by_string) == {*METRICS, "row", "diverged"}
    assert by_string == table.query(raw, epoch=EPOCHS)  # fast path == general path
    for epoch in range(1, EPOCHS + 1):
        for seed in range(SEEDS):
            got = table.query(raw, epoch=epoch, seed=seed)
            for m in CURVE_METRICS:
                assert got[m] == contents.metric(m)[row, seed, epoch - 1]
            expected = contents.metric("train_seconds")[row, seed] * epoch / EPOCHS
            assert got["train_seconds"] == pytest.approx(float(expected), rel=1e-6)
        mean = table.query(raw, epoch=epoch)["test_acc"]
        assert mean == pytest.approx(float(contents.metric("test_acc")[row, :, epoch - 1].mean()))
    raws = np.random.default_rng(0).integers(0, SPACE.num_cells, 500)
    rows = np.asarray(SPACE.canonical_ids)[raws]
    np.testing.assert_array_equal(
        table.values("valid_loss", raws, epoch=2, seed=1),
        contents.metric("valid_loss")[rows, 1, 1],
    )


def test_sampled_table_rows_and_missing_cells(sampled):
    path, contents, classes = sampled
    table = Table.open(path)
    canonical = np.asarray(SPACE.canonical_ids)
    inside = np.isin(canonical, classes)
    np.testing.assert_array_equal(table.raw_to_row >= 0, inside)
    np.testing.assert_array_equal(classes[table.raw_to_row[inside]], canonical[inside])
    missing = int(np.flatnonzero(~inside)[0])
    for call in (lambda: table.query(missing), lambda: table.values("test_acc", [0, missing]),
                 lambda: table.lookup(missing)):  # fmt: skip
        with pytest.raises(ValueError, match=f"raw cell {missing} is not in table .*sampled.h5"):
            call()
    present = int(np.flatnonzero(inside)[0])
    assert table.query(present)["row"] == int(np.searchsorted(classes, canonical[present]))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.values("accuracy", [0]), "unknown metric 'accuracy'"),
        (lambda t: t.metric("test_accuracy"), "unknown metric 'test_accuracy'"),
        (lambda t: t.lookup(0, "acc"), "unknown metric 'acc'"),
        (lambda t: t.query(0, epoch=0), "epoch 0 out of range"),
        (lambda t: t.query(0, epoch=EPOCHS + 1), f"epoch {EPOCHS + 1} out of range"),
        (lambda t: t.values("test_acc", [0], epoch=1.5), "epoch 1.5 out of range"),
        (lambda t: t.query(0, seed=SEEDS), f"seed {SEEDS} out of range"),
        (lambda t: t.query(0, seed=-1), "seed -1 out of range"),
        (lambda t: t.query(15625), "raw index 15625 is outside"),
        (lambda t: t.values("test_acc", [-1]), "raw index -1 is outside"),
        (lambda t: t.lookup(-3), "raw index -3 is outside 0..15624"),
        (lambda t: t.to_dataframe(per="arch"), "per must be 'class' or 'raw'"),
    ],
)
def test_query_errors_name_the_input(full, call, message):
    with pytest.raises(ValueError, match=message):
        call(Table.open(full[0]))


def test_diverged_rows_are_flagged(tmp_path, capsys):
    classes = np.arange(20)
    contents = synthetic(classes, seed=3, diverged_rows=[(5, 1), (5, 2), (9, 0)])
    path = tmp_path / "div.h5"
    contents.write(path)
    table = Table.open(path)
    raw = int(table.row_raw[5])
    assert table.query(raw)["diverged"] is True
    assert table.query(raw, seed=1)["diverged"] is True
    assert table.query(raw, seed=0)["diverged"] is False
    assert np.isnan(table.query(raw, seed=1)["test_acc"])
    # The seed mean averages the seeds that did not diverge.
    expected = contents.metric("test_acc")[5, 0, -1]
    assert table.query(raw)["test_acc"] == pytest.approx(float(expected))
    assert table.query(int(table.row_raw[4]))["diverged"] is False
    assert table.summary()["diverged_rows"] == 2 and table.summary()["diverged_pairs"] == 3
    assert main(["query", str(path), str(raw)]) == 0
    out, err = capsys.readouterr()
    assert re.search(r"^  diverged +yes$", out, re.M) and "warning" in err and "diverged" in err
    assert main(["query", str(path), str(int(table.row_raw[4]))]) == 0
    assert "warning" not in capsys.readouterr().err


def test_unfinished_rows_cannot_be_queried(tmp_path):
    contents = synthetic(np.arange(10))
    done = np.arange(10) < 6
    write_table(tmp_path / "part.h5", {**given(contents), "status/done": done}, contents.attrs)
    table = Table.open(tmp_path / "part.h5")
    assert table.query(int(table.row_raw[5]))["row"] == 5
    with pytest.raises(ValueError, match="row 7.* not trained yet in .*part.h5"):
        table.query(int(table.row_raw[7]))
    assert table.summary()["done"] == 6


def test_summary_and_dataframe(full):
    path, contents = full
    table = Table.open(path)
    summary = table.summary()
    from scipy.stats import spearmanr

    valid = contents.metric("valid_acc").mean(axis=1)[:, -1]
    test = contents.metric("test_acc").mean(axis=1)[:, -1]
    best = int(np.argmax(test))  # the best class: highest seed-mean test accuracy
    assert summary["best"]["raw"] == contents.row_raw[best]
    assert summary["best"]["arch"] == SPACE.format(int(contents.row_raw[best]))
    assert summary["valid_test_spearman"] == pytest.approx(spearmanr(valid, test)[0], abs=1e-6)
    final = contents.metric("valid_acc")[:, :, -1]  # seed to seed: validation accuracy
    rho = np.mean([spearmanr(final[:, a], final[:, b])[0] for a, b in [(0, 1), (0, 2), (1, 2)]])
    assert summary["seed_spearman"] == pytest.approx(rho, abs=1e-6)
    assert summary["test_acc_quantiles"][50] == pytest.approx(np.median(test), abs=1e-4)
    assert summary["rows"] == summary["done"] == SPACE.num_unique
    frame = table.to_dataframe()
    assert len(frame) == SPACE.num_unique and frame["members"].sum() == SPACE.num_cells
    np.testing.assert_allclose(frame["test_acc"], test, rtol=1e-6)
    assert [SPACE.to_raw(a) for a in frame["arch"][:50]] == list(frame["raw"][:50])
    per_raw = table.to_dataframe(per="raw")
    assert len(per_raw) == SPACE.num_cells
    np.testing.assert_allclose(per_raw["valid_acc"], table.values("valid_acc", per_raw["raw"]))
    np.testing.assert_array_equal(per_raw["class_id"], np.asarray(SPACE.canonical_ids))


def test_cli_info_and_query(full, capsys):
    path, contents = full
    assert main(["info", str(path)]) == 0
    out = capsys.readouterr().out
    for text in ("schema_version: 1", "dataset: mnist1d", "seed_spearman", "best", "versions"):
        assert text in out
    arch = SPACE.format(77)
    assert main(["query", str(path), arch, "--epoch", "2", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    row = SPACE.canonical(77)
    assert f"test_acc       {float(contents.metric('test_acc')[row, 1, 1]):.4f}" in out
    assert f"seed position 1, epoch 2 of {EPOCHS}:" in out
    assert main(["query", str(path), "77", "--epoch", "9"]) == 2
    assert "epoch 9 out of range" in capsys.readouterr().err


def _write_variant(path, contents, edit):
    contents.write(path)
    with h5py.File(path, "a") as f:
        edit(f)


def test_bad_files_give_clear_errors(full, tmp_path):
    path, contents = full
    with pytest.raises(FileNotFoundError, match="nothere.h5 does not exist"):
        Table.open(tmp_path / "nothere.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not a table")
    with pytest.raises(ValueError, match="notes.h5 is not an HDF5 file"):
        Table.open(text)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.h5 cannot be read as HDF5 .truncated"):
        Table.open(truncated)
    small = synthetic(np.arange(5))
    v2 = tmp_path / "v2.h5"
    _write_variant(v2, small, lambda f: f.attrs.__setitem__("schema_version", 2))
    with pytest.raises(ValueError, match="v2.h5: schema_version 2 is not supported"):
        Table.open(v2)
    lacking = tmp_path / "lacking.h5"
    _write_variant(lacking, small, lambda f: f.__delitem__("metrics/valid_loss"))
    with pytest.raises(ValueError, match="lacking.h5: missing dataset /metrics/valid_loss"):
        Table.open(lacking)
    no_attr = tmp_path / "noattr.h5"
    _write_variant(no_attr, small, lambda f: f.attrs.__delitem__("seeds"))
    with pytest.raises(ValueError, match="noattr.h5: missing root attribute 'seeds'"):
        Table.open(no_attr)
    unversioned = tmp_path / "plain.h5"
    with h5py.File(unversioned, "w") as f:
        f["x"] = np.zeros(3)
    with pytest.raises(ValueError, match="plain.h5 has no schema_version"):
        Table.open(unversioned)


def _edit_dataset(name, value):
    def edit(f):
        data = f[name][()]
        data[0] = value
        del f[name]
        f[name] = data

    return edit


def _replace(name, array):
    def edit(f):
        del f[name]
        f[name] = array

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda f: f.__delitem__("cells/row_raw"), "missing dataset /cells/row_raw"),
        (lambda f: f.__delitem__("chunks/pairs"), "missing dataset /chunks/pairs"),
        (_edit_dataset("cells/row_raw", 20000), "row_raw holds a raw index outside the space"),
        (_edit_dataset("cells/raw_to_row", 99), "raw_to_row holds a row outside 0..4"),
        (_edit_dataset("cells/raw_to_row", -1), "raw_to_row does not map each row_raw"),
        (_replace("status/done", np.ones(5)), r"status/done has shape \(5,\) dtype float64"),
        (_replace("metrics/test_acc", np.ones((5, 3))), "test_acc has shape"),
    ],
)
def test_inconsistent_files_give_clear_errors(tmp_path, edit, message):
    path = tmp_path / "bad.h5"
    _write_variant(path, synthetic(np.arange(5)), edit)
    with pytest.raises(ValueError, match=f"bad.h5: .*{message}"):
        Table.open(path)


def test_write_table_rejects_bad_contents(tmp_path):
    table = synthetic(np.arange(6))
    contents, attrs = given(table), table.attrs
    shuffled = dict(contents, **{"cells/row_raw": table.row_raw[::-1]})
    with pytest.raises(ValueError, match="row_class is not strictly increasing"):
        write_table(tmp_path / "a.h5", shuffled, attrs)
    short = dict(contents, **{"metrics/params": table.metric("params")[:3]})
    with pytest.raises(ValueError, match=r"/metrics/params has shape \(3,\)"):
        write_table(tmp_path / "b.h5", short, attrs)
    lacking = {k: v for k, v in contents.items() if k != "status/diverged"}
    with pytest.raises(ValueError, match="missing dataset /status/diverged"):
        write_table(tmp_path / "b.h5", lacking, attrs)
    with pytest.raises(ValueError, match="missing root attribute 'dataset'"):
        write_table(tmp_path / "c.h5", contents, {k: v for k, v in attrs.items() if k != "dataset"})
    with pytest.raises(ValueError, match=r"<in-memory table>: dataset /metrics/params has shape"):
        Table(short, attrs)
    assert not any(tmp_path.iterdir())  # nothing written, not even a temporary file


def test_lookups_do_not_import_jax(full):
    code = textwrap.dedent(
        f"""
        import sys
        from nasbench_lite.table.reader import Table
        t = Table.open({str(full[0])!r})
        t.query(5); t.query(t.space.format(5)); t.values("test_acc", [1, 2]); t.summary()
        t.to_dataframe()
        bad = [m for m in ("jax", "jaxlib", "flax", "optax") if m in sys.modules]
        assert not bad, bad
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def complete_shipped_tables():
    data = Path(__file__).resolve().parents[1] / "data"
    return [p for p in sorted(data.glob("*.h5")) if Table.open(p).done.all()]


@pytest.mark.parametrize("path", complete_shipped_tables(), ids=lambda p: p.name)
def test_complete_shipped_table_answers_every_raw_cell(path):
    """Brute force over a shipped table: every one of the 15,625 raw cells answers, from
    its class's row, with values the file's own training config accounts for."""
    from nasbench_lite.train.config import TrainConfig
    from nasbench_lite.train.cost import network_cost

    table = Table.open(path)
    raws = np.arange(SPACE.num_cells)
    rows = table.raw_to_row[raws]
    assert (rows >= 0).all() and table.done.all() and table.num_rows == SPACE.num_unique
    # The row of a raw cell holds its canonical class; the representative is in the class.
    canonical = np.asarray(SPACE.canonical_ids)
    np.testing.assert_array_equal(canonical[table.row_raw][rows], canonical[raws])
    ok = ~table.diverged.any(axis=1)[rows]
    for name in ("train_acc", "valid_acc", "test_acc"):
        values = table.values(name, raws)
        assert np.isfinite(values[ok]).all() and ((values[ok] > 0) & (values[ok] <= 1)).all()
    assert (table.values("train_seconds", raws)[ok] > 0).all()
    # The seed means, from the raw curves, for every cell.
    with np.errstate(invalid="ignore"):
        for name in ("valid_acc", "test_acc"):
            expected = np.nanmean(table.metric(name)[rows, :, -1].astype(np.float64), axis=1)
            np.testing.assert_allclose(table.values(name, raws), expected, rtol=1e-6)
    for raw in raws:  # the one-cell API agrees with the vectorised one, for every cell
        answer = table.query(int(raw))
        assert answer["row"] == rows[raw]
        assert answer["test_acc"] == pytest.approx(table.lookup(int(raw), "test_acc"))
    # params and FLOPs are the representative's, as the file's TrainConfig computes them.
    config = TrainConfig.from_dict(table.attrs["config"])
    identity = table.dataset_identity  # the input shape and classes the networks were built for
    shape, classes = tuple(identity.input_shape), identity.num_classes
    for row, raw in enumerate(table.row_raw):
        expected = network_cost(config, SPACE.cell(int(raw)), shape, classes)
        assert (table.metric("params")[row], table.metric("flops")[row]) == expected
