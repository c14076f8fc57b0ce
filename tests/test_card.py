"""Dataset card: statistics on the card equal independent computations; partial tables, errors."""

from __future__ import annotations

import itertools
import json
import re
import shlex
import warnings

import numpy as np
import pytest
from scipy import stats

from nasbench_lite.cli import build_parser, main
from nasbench_lite.spaces import get_space
from nasbench_lite.table.card import card_paths, regenerate_command, write_card
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import base_attrs
from nasbench_lite.table.synthetic import synthetic_table

SPACE = get_space("nb201")
ROWS, SEEDS, EPOCHS = 40, 3, 3
COMMAND = (
    "/opt/env/bin/nasbench-lite -v generate --space nb201 --dataset mnist1d --preset small "
    "--seeds 3 --cells 40 --sample-seed 3 --out data/t.h5"
)


def build(path, *, done_rows=25, preset="small", command=COMMAND, seed=0):
    """A synthetic table of ROWS sampled classes; the first `done_rows` rows are trained, in
    chunks of 5. Row 2 seed 1 diverged, row 5 diverged in every seed. Returns the table."""
    diverged = np.zeros((ROWS, SEEDS), bool)
    diverged[2, 1] = diverged[5] = True
    attrs = dict(
        preset=preset, config={"channels": 8, "epochs": EPOCHS, "batch_size": 50},
        hardware={"device_platform": "cpu", "device_kind": "cpu"}, command=command,
        selection={"cells": ROWS, "fraction": None, "sample_seed": 3, "shard": None},
    )  # fmt: skip
    return synthetic_table(
        path, rows=ROWS, seeds=SEEDS, epochs=EPOCHS, done=done_rows, diverged=diverged,
        chunk=5, rng=seed, attrs=attrs,
    )  # fmt: skip


def table_rows(text: str, first_cell: str) -> list[list[str]]:
    """Cells of every markdown table line whose first cell matches `first_cell` (a regex)."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        if cells and re.fullmatch(first_cell, cells[0]):
            out.append(cells)
    return out


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    root = tmp_path_factory.mktemp("card")
    table = build(root / "t.h5")
    md, png = write_card(root / "t.h5", root / "out")
    return table, md.read_text(), md, png


def test_card_statistics_match_independent_computation(partial):
    table, text, md, png = partial
    done = table.done
    final = {m: table.metric(m)[:, :, -1] for m in ("valid_acc", "test_acc")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # rows not done are all NaN
        mean = {m: np.nanmean(v, axis=1).astype(np.float64) for m, v in final.items()}
    used = np.flatnonzero(done & np.isfinite(mean["test_acc"]))
    assert len(used) == 24  # 25 done, row 5 diverged in every seed
    assert f"Statistics cover the **{len(used)} rows**" in text
    assert "| rows done | 25 of 40 (62.5%) |" in text
    assert "| diverged | 4 (cell, seed) pairs in 2 rows (1 rows with every seed diverged) |" in text
    # Seed-to-seed Spearman of final validation accuracy, pair by pair and the mean.
    rhos = []
    for a, b in itertools.combinations(range(SEEDS), 2):
        v = final["valid_acc"][done]
        both = np.isfinite(v[:, a]) & np.isfinite(v[:, b])
        rho = stats.spearmanr(v[both, a], v[both, b])[0]
        rhos.append(rho)
        assert table_rows(text, f"{a} vs {b}") == [[f"{a} vs {b}", str(both.sum()), f"{rho:.4f}"]]
    assert table_rows(text, "mean")[0][2] == f"{np.mean(rhos):.4f}"
    valid, test = mean["valid_acc"][used], mean["test_acc"][used]
    for name, fn in (("Spearman", stats.spearmanr), ("Pearson", stats.pearsonr),
                     ("Kendall tau", stats.kendalltau)):  # fmt: skip
        assert table_rows(text, name) == [[name, f"{fn(valid, test)[0]:.4f}"]]
    # Quantiles over classes and over raw cells weighted by class size.
    q = (0, 5, 25, 50, 75, 95, 100)
    members = np.bincount(SPACE.canonical_ids)[SPACE.canonical_ids[table.row_raw[used]]]
    weighted = np.repeat(test, members)
    for name, values in (("test acc, classes", test), ("test acc, raw cells", weighted)):
        expected = [f"{values.mean():.4f}", *(f"{x:.4f}" for x in np.percentile(values, q))]
        assert table_rows(text, name) == [[name, *expected]]
    assert f"| raw cells covered | {members.sum()} of 15,625 (by used rows) |" in text
    # The best ten classes, in order, as escaped NB-201 strings with mean ± std.
    best = table_rows(text, r"\d+")
    order = used[np.argsort(-test)][:10]
    assert len(best) == 10
    for rank, (cells, row) in enumerate(zip(best, order, strict=True), 1):
        seeds = final["test_acc"][row][np.isfinite(final["test_acc"][row])]
        arch = SPACE.format(int(table.row_raw[row])).replace("|", "\\|")
        assert cells[:3] == [str(rank), f"`{arch}`", str(table.row_raw[row])]
        assert cells[4] == f"{seeds.astype(np.float64).mean():.4f} ± {seeds.std():.4f}"
        assert cells[6] == str(len(seeds))
    pair_seconds = np.nansum(table.metric("train_seconds")[done].astype(np.float64))
    assert f"Sum of `train_seconds` over the done pairs: {pair_seconds:,.1f} s" in text
    hours = table.attrs["total_compute_seconds"] / 3600
    assert f"| total compute | {hours:.3f} h" in text
    assert f"| chunks | {25 // 5} finished" in text


def test_card_partial_line_commands_and_plot(partial):
    _, text, md, png = partial
    resume = (
        "nasbench-lite generate --space nb201 --dataset mnist1d --preset small --seeds 3 "
        "--cells 40 --sample-seed 3 --out data/t.h5"
    )
    assert (
        f"> **Incomplete table: 25 of 40 classes trained so far; the rest are trained by "
        f"resuming: `{resume}`.**" in text
    )
    assert f"```\n{resume}\n```" in text
    assert f"nasbench-lite card {md.parent.parent / 't.h5'} --out {md.parent}" in text
    assert md.name == "README.md" and png == md.parent / "t_accuracy.png"
    assert "![accuracy distribution](t_accuracy.png)" in text
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    assert "schedule of 3 epochs" in text
    assert "## Still owed" in text and "`data/nb201_mnist1d_gpu.h5`" in text
    assert "describes the CPU `small` preset table" in text
    assert "channels 8 (gpu: 16)" in text


def test_complete_default_table_has_no_partial_or_owed_lines(tmp_path):
    build(tmp_path / "d.h5", done_rows=ROWS, preset="gpu", command="")
    md, png = write_card(tmp_path / "d.h5", tmp_path / "card.md", plot=tmp_path / "p" / "a.png")
    text = md.read_text()
    assert "Incomplete" not in text and "Still owed" not in text
    assert "| rows done | 40 of 40 (100.0%) |" in text
    assert "![accuracy distribution](p/a.png)" in text and png.stat().st_size > 0


def test_regenerate_command_round_trips_through_the_parser():
    attrs = base_attrs(space="nb201", dataset="mnist1d", seeds=[0, 1], epochs=7, preset="tiny")
    attrs["selection"] = {"cells": None, "fraction": 0.25, "sample_seed": 9, "shard": [1, 4]}
    command = regenerate_command(attrs, "x y.h5")
    words = shlex.split(command)
    assert words[:2] == ["nasbench-lite", "generate"]
    args = build_parser().parse_args(words[1:])
    assert (args.space, args.dataset, args.preset, args.out) == (
        "nb201",
        "mnist1d",
        "tiny",
        "x y.h5",
    )
    assert (args.seeds, args.epochs, args.fraction, args.cells) == (2, 7, 0.25, None)
    assert (args.sample_seed, args.shard) == (9, "1/4")
    attrs["command"] = "python -m nasbench_lite merge out.h5 a.h5 b.h5"
    assert regenerate_command(attrs, "out.h5") == "nasbench-lite merge out.h5 a.h5 b.h5"


def test_missing_file_is_named(tmp_path, capsys):
    missing = tmp_path / "nope.h5"
    with pytest.raises(FileNotFoundError, match="nope.h5"):
        write_card(missing, tmp_path)
    assert main(["card", str(missing), "--out", str(tmp_path)]) == 2
    assert str(missing) in capsys.readouterr().err
    assert not (tmp_path / "README.md").exists()


def test_cli_writes_card_and_reports_paths(tmp_path, capsys):
    build(tmp_path / "t.h5", done_rows=10)
    build(tmp_path / "nb201_mnist1d_gpu.h5", done_rows=ROWS, preset="gpu")
    assert main(["card", str(tmp_path / "t.h5"), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "o" / "README.md") in out and "t_accuracy.png" in out
    text = (tmp_path / "o" / "README.md").read_text()
    assert "10 of 40 classes trained so far" in text
    assert "exists next to this file (`nb201_mnist1d_gpu.h5`)" in text
    assert "has not been generated yet" not in text


def test_errors_for_bad_out_and_too_few_rows(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="notes.txt: neither a directory nor a .md file"):
        card_paths(tmp_path / "t.h5", tmp_path / "notes.txt")
    build(tmp_path / "t.h5", done_rows=2)  # the least a card accepts: 2 usable rows
    write_card(tmp_path / "t.h5", tmp_path / "ok.md")
    build(tmp_path / "u.h5", done_rows=1)
    with pytest.raises(ValueError, match=r"u\.h5: 1 trained row with .* at least 2"):
        write_card(tmp_path / "u.h5", tmp_path / "bad.md")
    assert not (tmp_path / "bad.md").exists()


def test_card_reports_time_measure_and_calibration(tmp_path):
    import h5py

    build(tmp_path / "t.h5", done_rows=ROWS)
    with h5py.File(tmp_path / "t.h5", "r+") as f:
        f["chunks/cpu_seconds"][...] = np.nan  # as in a file written before CPU time
    md, _ = write_card(tmp_path / "t.h5", tmp_path / "a")
    text = md.read_text()
    # Without CPU time per chunk the card says what was apportioned instead.
    assert "The wall time of each batch (`/chunks/seconds`; this file predates CPU time)" in text
    assert "Calibration: not measured for this file" in text
    calibration = {
        "classes": 7, "sample_seed": 3, "command": "python benchmarks/calibrate_seconds.py t.h5",
        "created": "2026-01-01", "spearman_cpu": 0.9123, "median_ratio_cpu": 1.25,
        "spearman_wall": 0.8, "median_ratio_wall": 0.6,
    }  # fmt: skip
    with h5py.File(tmp_path / "t.h5", "r+") as f:
        f.attrs["calibration"] = json.dumps(calibration)
        f["chunks/cpu_seconds"][...] = 2.0
    md, _ = write_card(tmp_path / "t.h5", tmp_path / "b")
    text = md.read_text()
    assert "The process CPU time of each batch" in text
    assert "Calibration: 7 classes sampled from the done rows (seed 3)" in text
    assert "Spearman rank correlation **0.912**" in text and "median ratio table/solo 1.250" in text


def test_info_and_card_print_the_same_statistics(partial, capsys):
    table, text, md, _ = partial
    assert main(["info", table.source]) == 0
    out = capsys.readouterr().out.split("\nsummary\n")[1].split("\nnoise floor\n")[0]
    info = dict(line.strip().split(": ", 1) for line in out.splitlines())
    assert table_rows(text, "mean")[0][2] == f"{float(info['seed_spearman']):.4f}"
    assert table_rows(text, "Spearman")[0][1] == f"{float(info['valid_test_spearman']):.4f}"
    best, first = json.loads(info["best"]), table_rows(text, r"\d+")[0]
    assert first[2] == str(best["raw"]) and first[1] == f"`{best['arch']}`".replace("|", "\\|")
    assert (
        first[4].startswith(f"{best['test_acc']:.4f} ± ") and first[5] == f"{best['valid_acc']:.4f}"
    )
    for name, row in (("test_acc", "test acc, classes"), ("valid_acc", "valid acc, classes")):
        quantiles = json.loads(info[f"{name}_quantiles"]).values()
        assert table_rows(text, row)[0][2:] == [f"{q:.4f}" for q in quantiles]
    assert f"{info['diverged_pairs']} (cell, seed) pairs in {info['diverged_rows']} rows" in text
    assert f"| rows done | {info['done']} of {info['rows']} " in text


def test_card_compares_train_seconds_with_the_time_they_apportion(tmp_path):
    """The shares of a batch are of its CPU time: the padding line compares their sum with the
    batches' CPU time, not their wall time (which a shared or a two-device run moves apart)."""
    import h5py

    build(tmp_path / "t.h5", done_rows=ROWS)
    with h5py.File(tmp_path / "t.h5", "r+") as f:
        wall = f["chunks/seconds"][...]
        f["chunks/cpu_seconds"][...] = cpu = 3.0 * wall + 1.0  # CPU time far from wall time
        shares = f["metrics/train_seconds"][...].astype(np.float64)
        f["metrics/train_seconds"][...] = shares = shares * cpu.sum() / shares.sum() * 0.9
    text = write_card(tmp_path / "t.h5", tmp_path / "a")[0].read_text()
    flat = " ".join(text.split())
    padding = cpu.sum() - np.asarray(shares, np.float32).astype(np.float64).sum()
    assert f"The batches' CPU time it apportions: {cpu.sum():,.1f} s" in flat
    assert f"(the difference, {padding:,.1f} s," in flat and padding > 0
    assert f"The batches' wall time: {wall.sum():,.1f} s" in flat
    with h5py.File(tmp_path / "t.h5", "r+") as f:
        f["chunks/cpu_seconds"][...] = np.nan  # a file from before CPU time: wall is shared
    flat = " ".join(write_card(tmp_path / "t.h5", tmp_path / "b")[0].read_text().split())
    assert f"The batches' wall time it apportions: {wall.sum():,.1f} s" in flat


def test_batch_speed_is_each_batchs_seconds_per_flop():
    from nasbench_lite.table.card_sections import batch_speed_section, batch_speeds

    table = synthetic_table(rows=80)
    arrays = dict(table.arrays)
    chunk = np.asarray(arrays["status/chunk"])
    flops = np.asarray(arrays["metrics/flops"], np.float64)
    work = np.bincount(chunk, flops)
    # Every batch runs at 1e-6 s per FLOP but the last, which runs 4x slower.
    speed = np.full(len(work), 1e-6)
    speed[-1] = 4e-6
    arrays["chunks/cpu_seconds"] = work * speed
    slow = Table(arrays, table.attrs)
    np.testing.assert_allclose(batch_speeds(slow), speed)
    text = batch_speed_section(slow)[0]
    assert f"over its {len(work):,} batches by 1.00x" in text and "(4.0x from the fastest" in text
    # A last batch padded to twice its real pairs took twice its rows' time: as fast.
    pairs = np.asarray(arrays["chunks/pairs"], np.float64).copy()
    pairs[-1] = pairs.max() / 2
    padded = {**arrays, "chunks/pairs": pairs, "chunks/cpu_seconds": work * 1e-6}
    padded["chunks/cpu_seconds"][-1] *= 2
    np.testing.assert_allclose(batch_speeds(Table(padded, table.attrs)), 1e-6)
    # An older file without CPU time (NaN) reads wall time, never "nan".
    walled = {**arrays, "chunks/cpu_seconds": np.full(len(work), np.nan),
              "chunks/seconds": work * 3e-6}  # fmt: skip
    np.testing.assert_allclose(batch_speeds(Table(walled, table.attrs)), 3e-6)
    assert "nan" not in batch_speed_section(Table(walled, table.attrs))[0]
    arrays["status/done"] = np.zeros(len(chunk), bool)  # no trained rows: nothing to say
    assert batch_speed_section(Table(arrays, table.attrs)) == []


def test_card_refuses_a_file_rewritten_while_it_is_read(tmp_path, monkeypatch):
    """A writer that replaces the file between the card's read and its hash (generate at a
    chunk's end) would pair one version's figures with the next one's sha256: refused."""
    import nasbench_lite.table.card as card

    build(tmp_path / "t.h5", done_rows=10)
    drawn = card.plot_accuracy

    def plot_then_rewrite(table, st, png):
        drawn(table, st, png)
        build(tmp_path / "t.h5", done_rows=15)  # the next chunk lands

    monkeypatch.setattr(card, "plot_accuracy", plot_then_rewrite)
    with pytest.raises(ValueError, match="changed while its card was written"):
        write_card(tmp_path / "t.h5", tmp_path / "c.md")
    assert not (tmp_path / "c.md").exists() and not (tmp_path / "c.png").exists()
    monkeypatch.setattr(card, "plot_accuracy", drawn)
    md, _ = write_card(tmp_path / "t.h5", tmp_path / "c.md")
    from nasbench_lite.table.ranges import file_sha256

    assert file_sha256(tmp_path / "t.h5") in md.read_text()
    assert "rows done | 15 of 40" in md.read_text()


def test_chunk_size_is_read_off_the_calls(tmp_path):
    """The overview's classes per call come from `chunks/pairs`: one size, a smaller last
    call, or the range a resume with another --chunk leaves."""
    from nasbench_lite.table.card import chunk_classes

    table = build(tmp_path / "t.h5", done_rows=23)  # chunks of 5: 5, 5, 5, 5, 3
    assert chunk_classes(table) == "5 (the last 3)"
    from types import SimpleNamespace

    def calls(*classes):
        pairs = np.asarray(classes, np.int32) * SEEDS
        arrays = {"chunks/pairs": pairs}
        return SimpleNamespace(arrays=arrays, num_seeds=SEEDS, attrs={"chunk_classes": 7})

    assert chunk_classes(calls(5, 5, 5)) == "5"
    assert chunk_classes(calls(8, 5, 5, 4)) == "4 to 8"  # a resume with another --chunk
    assert chunk_classes(calls(0, 0)) == "7"  # no call recorded its pairs: the attribute
