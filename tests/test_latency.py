"""Measured latency: the timing of a cell's plain network, its record in a table file
(resumable, refused across machines and recipes), the command, and objectives on it."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from nasbench_lite.cli import main
from nasbench_lite.compare.objectives import resolve_objectives
from nasbench_lite.errors import InputError, MissingFileError
from nasbench_lite.latency.copy import copy_latency
from nasbench_lite.latency.measure import (
    PROGRAM,
    REFERENCE_CELL,
    LatencyRecipe,
    forward_program,
    measure,
    time_programs,
)
from nasbench_lite.latency.writer import (
    DONE,
    LatencyConfig,
    measure_latency,
    raw_name,
    spread_name,
)
from nasbench_lite.spaces import get_space
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import read_arrays, write_arrays
from nasbench_lite.table.synthetic import synthetic_table
from nasbench_lite.train.config import PRESETS

FAST = LatencyRecipe(batches=(1, 64), rounds=3, calls={1: 5, 64: 2})
SPACE = get_space("nb201")
# Three classes: no op at all, one 1x1 conv, every edge a 3x3 conv.
CELLS = ["|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
         "|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|",
         "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
         "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"]  # fmt: skip


def small_table(path):
    classes = np.sort([SPACE.canonical(SPACE.to_raw(c)) for c in CELLS])
    config = PRESETS["tiny"].to_dict()
    synthetic_table(path, classes=classes, epochs=2, attrs={"config": config})
    return path


@pytest.mark.slow  # compiles a network per class and batch size (about 1 s each)
def test_latency_grows_with_the_cells_work():
    ops = SPACE.cells([SPACE.to_raw(c) for c in CELLS])
    result = measure(PRESETS["tiny"], SPACE, (40, 1), 10, ops, FAST)
    for batch in FAST.batches:
        median, spread = result["median"][batch], result["spread"][batch]
        assert np.all(median > 0) and np.all(spread >= 0)
        assert median[0] < median[1] < median[2], (batch, median)  # none < one conv < six
        ratio = result["ratio"][batch]
        assert ratio[0] < ratio[1] < ratio[2], (batch, ratio)
        # The third cell is the reference network itself: its ratio is about one.
        assert tuple(ops[2]) == REFERENCE_CELL and 0.8 < ratio[2] < 1.25, ratio
        assert np.all(result["spread"][batch] >= 0) and result["reference"][batch] > 0
    assert result["median"][64][2] > result["median"][1][2]  # a batch of 64 costs more
    assert result["compile_seconds"] > 0


def test_rounds_interleave_every_program_in_a_fresh_order():
    calls = []

    class Done:
        def block_until_ready(self):
            return self

    def program(j):
        def run():
            calls.append(j)
            return Done()

        return run

    per_call = time_programs([program(j) for j in range(4)], calls=2, rounds=5, seed=0)
    assert per_call.shape == (5, 4) and np.all(per_call >= 0)
    warm, timed = calls[:8], calls[8:]
    assert warm == [0, 0, 1, 1, 2, 2, 3, 3]
    blocks = [timed[i : i + 3] for i in range(0, len(timed), 3)]  # 1 untimed + 2 timed calls
    assert all(len(set(block)) == 1 for block in blocks) and len(blocks) == 20
    orders = [[block[0] for block in blocks[r * 4 : r * 4 + 4]] for r in range(5)]
    assert all(sorted(order) == [0, 1, 2, 3] for order in orders)  # each program once a round
    assert len({tuple(order) for order in orders}) > 1  # in a fresh order


@pytest.mark.slow  # compiles a network per class and batch size (about 1 s each)
def test_the_table_records_latency_and_resumes(tmp_path):
    path = small_table(tmp_path / "t.h5")
    table = measure_latency(path, LatencyConfig(recipe=FAST, chunk=1), progress=False)
    assert {"latency_b1", "latency_b64"} <= set(table.metrics)
    assert table.metric_axes["latency_b1"] == ("rows",)
    assert np.isfinite(table.metric("latency_b1")).all() and table.arrays[DONE].all()
    record = table.attrs["latency"]
    assert record["batches"] == [1, 64] and record["rounds"] == 3
    assert record["hardware"]["cpu_model"] and record["seconds"] > 0
    # The metric is the ratio to the reference times the first chunk's reference time: the
    # all-3x3 class (the reference network itself) records about that time.
    reference = record["reference_seconds"]["1"]
    assert 0.8 < table.metric("latency_b1")[2] / reference < 1.25
    assert np.isfinite(table.arrays[raw_name(64)]).all()
    # Resume: only a row not done is measured again; the others are kept as they are.
    arrays, attrs = read_arrays(path)
    arrays[DONE][1] = False
    arrays["metrics/latency_b1"][1] = np.nan
    write_arrays(path, arrays, attrs)
    again = measure_latency(path, LatencyConfig(recipe=FAST), progress=False)
    kept = np.array([0, 2])
    assert np.array_equal(again.metric("latency_b1")[kept], table.metric("latency_b1")[kept])
    assert np.isfinite(again.metric("latency_b1")[1])
    assert np.array_equal(again.arrays[spread_name(64)][kept], table.arrays[spread_name(64)][kept])


def test_the_timed_program_reads_only_weights_and_batch_statistics():
    """`init` also returns the zero perturbations the Fisher proxy differentiates through;
    passed to the program they add a zero tensor to every marked output (LEGACY_PROGRAM)."""
    cell = SPACE.cells([SPACE.to_raw(CELLS[2])])[0]
    plain, _ = forward_program(PRESETS["tiny"], SPACE, cell, (40, 1), 10, batch=2)
    legacy, _ = forward_program(PRESETS["tiny"], SPACE, cell, (40, 1), 10, 2, collections=None)
    assert "perturbations" not in str(plain.program.in_tree)
    assert "batch_stats" in str(plain.program.in_tree)
    assert "perturbations" in str(legacy.program.in_tree)  # the check can fail
    assert np.allclose(plain(), legacy())  # the adds are of zeros


@pytest.mark.slow  # compiles a network per class and batch size (about 1 s each)
def test_another_machine_or_recipe_is_refused(tmp_path):
    path = small_table(tmp_path / "t.h5")
    measure_latency(path, LatencyConfig(recipe=FAST), progress=False)
    arrays, attrs = read_arrays(path)
    assert attrs["latency"]["program"] == PROGRAM
    with pytest.raises(InputError, match="measured with"):
        measure_latency(path, LatencyConfig(recipe=LatencyRecipe(rounds=5)), progress=False)
    # A file measured with the legacy program (no "program" recorded) is not resumed.
    legacy = {**attrs, "latency": {k: v for k, v in attrs["latency"].items() if k != "program"}}
    arrays[DONE][0] = False
    write_arrays(path, arrays, legacy)
    with pytest.raises(InputError, match="zero perturbations"):
        measure_latency(path, LatencyConfig(recipe=FAST), progress=False)
    arrays, attrs = read_arrays(path)
    assert "program" not in attrs["latency"] and not arrays[DONE][0]  # nothing written
    # --restart discards the legacy measurement and measures every row with this program.
    arrays["metrics/latency_b1"][1:] = -1.0  # sentinels: none may survive
    arrays["metrics/latency_b7"] = np.full(len(arrays[DONE]), -1.0)  # a batch size dropped
    write_arrays(path, arrays, legacy)
    restarted = measure_latency(path, LatencyConfig(recipe=FAST, restart=True), progress=False)
    assert restarted.attrs["latency"]["program"] == PROGRAM and restarted.arrays[DONE].all()
    assert (restarted.metric("latency_b1") > 0).all() and "latency_b7" not in restarted.metrics
    arrays, attrs = read_arrays(path)
    # Another JAX compiled the programs: not resumed either.
    arrays[DONE][0] = False
    old = {**attrs, "latency": {**attrs["latency"], "versions": {"jax": "0.0.1", "jaxlib": "0"}}}
    write_arrays(path, arrays, old)
    with pytest.raises(InputError, match="measured with jax 0.0.1, this is jax"):
        measure_latency(path, LatencyConfig(recipe=FAST), progress=False)
    attrs["latency"]["hardware"]["cpu_model"] = "another CPU"
    arrays[DONE][0] = False
    write_arrays(path, arrays, attrs)
    with pytest.raises(InputError, match="latencies of two machines do not mix"):
        measure_latency(path, LatencyConfig(recipe=FAST), progress=False)
    # Timed on one XLA thread, or on its default pool where JAX was imported before the flag
    # could be set (an in-process caller): recorded so, and never mixed on resume.
    arrays, attrs = read_arrays(path)
    threads = attrs["latency"]["threads"]
    pool = "one thread" if threads == "one" else "its default thread pool"
    assert f"XLA CPU on {pool}" in attrs["latency"]["method"]
    other = {**attrs, "latency": {**attrs["latency"],
                                  "threads": "default" if threads == "one" else "one"}}  # fmt: skip
    arrays[DONE][0] = False
    write_arrays(path, arrays, other)
    with pytest.raises(InputError, match="'threads': "):
        measure_latency(path, LatencyConfig(recipe=FAST), progress=False)


@pytest.mark.slow  # compiles a network per class and batch size (about 1 s each)
def test_command_query_and_objectives(tmp_path, capsys):
    path = small_table(tmp_path / "t.h5")
    assert main(["latency", "--table", str(path), "--jobs", "99", "--no-progress"]) == 2
    assert "--jobs 99" in capsys.readouterr().err
    # Two worker processes, one chunk of one row each at a time: every row is measured.
    argv = ["latency", "--table", str(path), "--rounds", "2", "--chunk", "1", "--jobs", "2"]
    assert main([*argv, "--no-progress"]) == 0
    assert "latency of 3 rows" in capsys.readouterr().out
    measured = Table.open(path)
    assert measured.arrays[DONE].all() and np.isfinite(measured.metric("latency_b256")).all()
    assert measured.attrs["latency"]["cpu_seconds"] > 0  # the workers' CPU seconds
    assert main(["query", str(path), CELLS[2], "--details"]) == 0
    out = capsys.readouterr().out
    line = next(row for row in out.splitlines() if row.strip().startswith("latency_b1 "))
    assert line.strip().endswith(" ms")
    table = Table.open(path)
    plan = resolve_objectives(["valid_acc:max", "latency_b256:min"], [], table)
    assert plan is not None and plan.multi
    # A measurement still running: objectives on it are refused, naming the command.
    arrays, attrs = read_arrays(path)
    arrays["metrics/latency_b256"][0] = np.nan
    with pytest.raises(InputError, match="nasbench-lite latency"):
        resolve_objectives(["valid_acc:max", "latency_b256:min"], [], Table(arrays, attrs))


def test_latency_names_the_batch_1_latency():
    from nasbench_lite.search.objectives import parse_constraint, parse_objectives

    assert parse_objectives(["valid_acc:max", "latency:min"])[1].name == "latency_b1"
    assert parse_constraint("latency<=0.001").name == "latency_b1"


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.slow  # starts two worker processes that import JAX
def test_ctrl_c_with_workers_stops_them_and_keeps_finished_chunks(tmp_path):
    psutil = pytest.importorskip("psutil")
    path = small_table(tmp_path / "t.h5")
    argv = [sys.executable, "-m", "nasbench_lite", "latency", "--table", str(path), "--jobs",
            "2", "--chunk", "1", "--rounds", "2", "--no-progress"]  # fmt: skip
    # SIGINT at its default in the child: a shell that ran these tests in the background has
    # the process ignore it, and latency then rightly runs to the end (exit 0).
    default = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=default)  # fmt: skip
    parent = psutil.Process(process.pid)
    deadline = time.monotonic() + 120
    while len(parent.children()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    workers = [child for child in parent.children() if "spawn_main" in " ".join(child.cmdline())]
    assert len(workers) == 2, parent.children()

    def done_rows():
        try:
            return np.asarray(read_arrays(path)[0].get(DONE, np.zeros(3, bool)), bool)
        except (OSError, ValueError):  # caught between two atomic rewrites: read again
            return np.zeros(3, bool)

    while not done_rows().any() and time.monotonic() < deadline:  # one chunk finished
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # to the parent only: it must stop its workers
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "The same command resumes" in err and "Traceback" not in err
    gone, alive = psutil.wait_procs(workers, timeout=3)
    assert not alive, alive
    arrays, _ = read_arrays(path)  # the file is whole: the finished rows kept, measured
    done = np.asarray(arrays[DONE], bool)
    assert 1 <= done.sum() < 3
    assert np.isfinite(arrays["metrics/latency_b1"][done]).all()
    assert np.isnan(arrays["metrics/latency_b1"][~done]).all()


def measured_by_hand(path, batches=(1, 64)):
    """Give the table file at `path` a complete latency record made up of known numbers (row
    r, batch b: r + b / 1000 seconds), as `measure_latency` would write it on this machine."""
    from nasbench_lite.latency.writer import machine_record, metric_name

    arrays, attrs = read_arrays(path)
    rows = len(arrays["cells/row_raw"])
    for b in batches:
        arrays[f"metrics/{metric_name(b)}"] = np.arange(rows) + b / 1000
        arrays[spread_name(b)] = np.full(rows, b / 1e4)
        arrays[raw_name(b)] = np.arange(rows) + b / 999
    arrays[DONE] = np.ones(rows, bool)
    attrs["latency"] = {"batches": list(batches), "rounds": FAST.rounds,
                        "calls": {str(b): FAST.calls_for(b) for b in batches},
                        "program": PROGRAM, "hardware": machine_record(), "seconds": 12.0,
                        "cpu_seconds": 11.0, "compile_seconds": 3.0,
                        "command": "nasbench-lite latency"}  # fmt: skip
    write_arrays(path, arrays, attrs)
    return path


def test_latency_is_copied_from_a_table_of_the_same_networks(tmp_path, capsys):
    source = measured_by_hand(small_table(tmp_path / "source.h5"))
    classes = Table.open(source).row_raw
    config = PRESETS["tiny"].to_dict()
    target = tmp_path / "target.h5"  # another task of the same input shape, classes reordered
    synthetic_table(target, classes=np.sort([SPACE.canonical_ids[r] for r in classes])[::-1],
                    epochs=2, attrs={"config": config, "dataset": "noise_id"})  # fmt: skip
    code = main(["latency", "--table", str(target), "--from", str(source), "--no-progress"])
    assert code == 0 and "copied from" in capsys.readouterr().out
    copied, original = Table.open(target), Table.open(source)
    rows = original.raw_to_row[copied.row_raw]
    for name in ("metrics/latency_b1", "metrics/latency_b64", spread_name(64), raw_name(1)):
        np.testing.assert_array_equal(copied.arrays[name], original.arrays[name][rows])
    assert copied.arrays[DONE].all()
    record = copied.attrs["latency"]
    assert record["copied_from"]["table"] == str(source) and record["seconds"] == 12.0
    assert "--from" in record["command"]
    # Measuring it now finds nothing to do (same recipe, same machine): nothing changes.
    again = measure_latency(target, LatencyConfig(recipe=FAST), progress=False)
    np.testing.assert_array_equal(again.arrays["metrics/latency_b1"],
                                  copied.arrays["metrics/latency_b1"])  # fmt: skip
    with pytest.raises(InputError, match=r"already holds latency .*\(--restart replaces it\)"):
        copy_latency(target, source)
    # Replacing it: another source's values, nothing of the earlier copy left.
    arrays, attrs = read_arrays(source)
    arrays["metrics/latency_b1"] = arrays["metrics/latency_b1"] * 2
    attrs["latency"]["command"] = "measured again"
    write_arrays(source, arrays, attrs)
    replaced = copy_latency(target, source, replace=True)
    np.testing.assert_array_equal(replaced.metric("latency_b1"), 2 * copied.metric("latency_b1"))
    assert replaced.attrs["latency"]["copied_from"]["command"] == "measured again"
    # A copy of the copy names the table that measured the values.
    third = tmp_path / "third.h5"
    synthetic_table(third, classes=[SPACE.canonical_ids[r] for r in classes], epochs=2,
                    attrs={"config": config, "dataset": "mnist1d_v2"})  # fmt: skip
    assert copy_latency(third, target).attrs["latency"]["copied_from"]["table"] == str(source)
    code = main(["latency", "--table", str(third), "--from", str(source), "--jobs", "2"])
    assert code == 2 and "--jobs set how to measure" in capsys.readouterr().err


@pytest.mark.parametrize(
    "change, message",
    [
        (
            {"dataset": "mnist1d_short_warped"},
            "input_shape: [20, 1] in the table, [40, 1] in --from",
        ),
        ({"config": {**PRESETS["tiny"].to_dict(), "channels": 8}}, "channels: 8 in the table"),
    ],
)
def test_latency_of_other_networks_is_not_copied(tmp_path, change, message):
    source = measured_by_hand(small_table(tmp_path / "source.h5"))
    target = tmp_path / "target.h5"
    classes = Table.open(source).row_raw
    attrs = {"config": PRESETS["tiny"].to_dict(), **change}
    synthetic_table(target, classes=[SPACE.canonical_ids[r] for r in classes], epochs=2,
                    attrs=attrs)  # fmt: skip
    before = target.read_bytes()
    with pytest.raises(InputError) as err:
        copy_latency(target, source)
    assert message in str(err.value) and "\n" not in str(err.value)
    assert target.read_bytes() == before


def test_latency_is_not_copied_from_a_partial_or_missing_measurement(tmp_path):
    unmeasured = small_table(tmp_path / "unmeasured.h5")
    target = tmp_path / "target.h5"
    source = measured_by_hand(small_table(tmp_path / "source.h5"))
    measured = np.asarray(SPACE.canonical_ids)[Table.open(source).row_raw]
    others = np.setdiff1d(np.arange(SPACE.num_unique), measured)[:20]
    synthetic_table(target, classes=np.concatenate([others, measured]),
                    epochs=2, attrs={"config": PRESETS["tiny"].to_dict()})  # fmt: skip
    with pytest.raises(InputError, match="holds no measured latency"):
        copy_latency(target, unmeasured)
    with pytest.raises(InputError, match="has not measured 20 of the 23 classes"):
        copy_latency(target, source)
    assert "latency" not in Table.open(target).attrs
    with pytest.raises(MissingFileError, match="--from"):
        copy_latency(target, tmp_path / "nothing.h5")


def test_a_restart_stopped_before_its_first_chunk_keeps_nothing_of_the_old(tmp_path, monkeypatch):
    from nasbench_lite.latency import writer

    path = measured_by_hand(small_table(tmp_path / "t.h5"))
    old = Table.open(path).attrs["latency"]
    assert old["command"] == "nasbench-lite latency"

    def interrupted(task):
        raise KeyboardInterrupt

    monkeypatch.setattr(writer, "measure_part", interrupted)
    with pytest.raises(KeyboardInterrupt):
        measure_latency(path, LatencyConfig(recipe=FAST, restart=True), progress=False)
    table = Table.open(path)  # the restart is on file: the same command without it resumes
    assert not table.arrays[DONE].any() and np.isnan(table.metric("latency_b1")).all()
    assert (
        table.attrs["latency"]["program"] == PROGRAM
        and "reference_seconds" not in (table.attrs["latency"])
    )
