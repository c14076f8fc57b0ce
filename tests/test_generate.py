"""Table generation: row selection, resume after SIGKILL, mismatch errors, shards and merge.

Every run here trains with the same compiled program (tiny preset, 2 classes x 2 seeds per
chunk), so the session compiles it at most once; JAX's persistent cache serves the rest.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from nasbench_lite.cli import main
from nasbench_lite.generate.executors import ChunkJob, make_executor
from nasbench_lite.generate.merge import merge
from nasbench_lite.generate.run import (
    GenerateConfig,
    default_chunk,
    generate,
    open_or_create,
    parse_shard,
    select_classes,
)
from nasbench_lite.spaces import get_space
from nasbench_lite.table.reader import Table
from nasbench_lite.table.storage import CURVE_METRICS, read_arrays, write_arrays
from nasbench_lite.table.synthetic import synthetic_table

SPACE = get_space("nb201")
CELLS, SEEDS, CHUNK = 12, 2, 2  # 6 chunks of 2 classes x 2 seeds
TINY = GenerateConfig(preset="tiny", cells=CELLS, seeds=SEEDS, chunk=CHUNK)
CLI_ARGS = ["--preset", "tiny", "--cells", str(CELLS), "--seeds", str(SEEDS), "--chunk",
            str(CHUNK), "--no-progress"]  # fmt: skip
VALUES = [f"metrics/{m}" for m in (*CURVE_METRICS, "params", "flops")] + [
    "status/done", "status/diverged", "cells/row_raw", "cells/row_class", "cells/raw_to_row",
]  # fmt: skip


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted run."""
    path = tmp_path_factory.mktemp("gen") / "reference.h5"
    generate(path, TINY, progress=False)
    return path


def assert_same_values(path_a, path_b):
    a, _ = read_arrays(path_a)
    b, _ = read_arrays(path_b)
    for name in VALUES:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


@pytest.mark.slow
def test_reference_run_is_complete_and_consistent(reference):
    table = Table.open(reference)
    arrays, attrs = read_arrays(reference)
    assert table.done.all() and table.num_rows == CELLS
    classes = np.sort(SPACE.sample_classes(np.random.default_rng(0), CELLS))
    np.testing.assert_array_equal(arrays["cells/row_class"], classes)
    np.testing.assert_array_equal(table.row_raw, np.asarray(SPACE.representatives)[classes])
    assert np.isfinite(table.metric("test_acc")).all() and (table.metric("params") > 0).all()
    # Every row was trained exactly once, in chunks of CHUNK classes x SEEDS seeds, taking
    # rows in generate's fixed shuffled order (so a partial table is a uniform sample).
    chunk = arrays["status/chunk"]
    order = np.random.default_rng(0).permutation(CELLS)
    expected = np.empty(CELLS, int)
    expected[order] = np.arange(CELLS) // CHUNK
    np.testing.assert_array_equal(chunk, expected)
    np.testing.assert_array_equal(arrays["chunks/pairs"], np.full(CELLS // CHUNK, CHUNK * SEEDS))
    assert (arrays["chunks/seconds"] > 0).all() and (arrays["chunks/compile_seconds"] >= 0).all()
    total = arrays["chunks/seconds"].sum() + arrays["chunks/compile_seconds"].sum()
    assert attrs["total_compute_seconds"] == pytest.approx(total)
    # A chunk's process CPU time is apportioned to its pairs: the real pairs' times sum to at
    # most the chunk's CPU time (padding pairs take the rest).
    assert (arrays["chunks/cpu_seconds"] > 0).all()
    per_chunk = np.bincount(chunk, table.metric("train_seconds").sum(axis=1))
    cpu = arrays["chunks/cpu_seconds"]
    assert (per_chunk <= cpu * (1 + 1e-5)).all() and (per_chunk > 0).all()
    for key in ("python", "numpy", "jax", "jaxlib", "flax", "optax", "h5py"):
        assert attrs["versions"][key]
    assert attrs["hardware"]["device_kind"] and attrs["hardware"]["cpu_count"] >= 1
    assert attrs["config"]["epochs"] == attrs["epochs"] == table.num_epochs
    assert (
        attrs["seeds"] == [0, 1] and attrs["splits"]["train"] == attrs["config"]["train_examples"]
    )


def _done_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with h5py.File(path, "r") as f:
        return int(f["status/done"][()].sum())


# subprocess/Ray start processes with fork + exec, which is safe; JAX warns about any fork.
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.slow
def test_sigkill_at_random_moments_then_resume(reference, tmp_path):
    out = tmp_path / "killed.h5"
    command = [sys.executable, "-m", "nasbench_lite", "generate", *CLI_ARGS, "--out", str(out)]
    rng = np.random.default_rng(20240611)
    chunk_seconds = float(np.median(read_arrays(reference)[0]["chunks/seconds"]))
    kills = []  # (moment, rows done before, rows done after, process alive at kill)
    for moment in ("any", "mid-chunk", "mid-chunk"):
        before = _done_rows(out)
        if before >= CELLS - CHUNK:
            break
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if moment == "any":  # start-up, compilation, or training
            time.sleep(rng.uniform(0.5, 6.0))
        else:  # wait for a chunk to land, then kill inside the next one
            deadline = time.monotonic() + 180
            while _done_rows(out) == before and proc.poll() is None:
                assert time.monotonic() < deadline, "no chunk finished in 180 s"
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.8 * chunk_seconds))
        alive = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if out.exists():  # whatever the moment, the file is a complete, valid table
            Table.open(out)
        kills.append((moment, before, _done_rows(out), alive))
    print("kills (moment, done before, done after, alive):", kills)
    assert len(kills) >= 3
    # At least one kill hit a live run that had finished chunks and still had work to do.
    assert any(m == "mid-chunk" and a and 0 < after < CELLS for m, _, after, a in kills), kills
    subprocess.run(command, check=True, capture_output=True)
    assert not Path(str(out) + ".tmp").exists()
    assert_same_values(out, reference)
    arrays, _ = read_arrays(out)
    # No row trained twice: the chunk records account for each pair exactly once.
    assert arrays["chunks/pairs"].sum() == CELLS * SEEDS
    used = np.bincount(arrays["status/chunk"], minlength=len(arrays["chunks/pairs"]))
    np.testing.assert_array_equal(used * SEEDS, arrays["chunks/pairs"])


def _interrupt_generate(out: Path, cache: Path, wait) -> tuple[int, str]:
    """Run `generate` (16 classes x 1 seed, tiny), call `wait(proc)`, then send SIGINT to its
    process group as a terminal's Ctrl-C does; returns (exit code, stderr)."""
    command = [sys.executable, "-m", "nasbench_lite", "generate", "--preset", "tiny",
               "--cells", "16", "--seeds", "1", "--out", str(out), "--cache-dir", str(cache),
               "--no-progress"]  # fmt: skip
    # SIGINT at its default in the child: a shell that ran these tests in the background has
    # the process ignore it, and generate then rightly runs to the end (exit 0).
    default = lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)  # noqa: E731
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=default)  # fmt: skip
    wait(proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.slow
def test_ctrl_c_at_any_moment_of_generate_exits_130_and_keeps_finished_chunks(tmp_path):
    out = tmp_path / "g.h5"
    cache = tmp_path / "jax_cache"  # new: the first chunk compiles in every run
    hint = "The same command resumes: nasbench-lite generate --preset tiny --cells 16"
    # Seeded moments over start-up, the first compilation and the first chunk's training.
    for delay in sorted(np.random.default_rng(139).uniform(2.0, 16.0, size=3)):
        code, err = _interrupt_generate(out, cache, lambda proc, d=delay: time.sleep(d))
        assert code == 130, (delay, err)
        assert "Traceback" not in err and "Segmentation" not in err, (delay, err)
        assert err.rstrip().splitlines()[-1].endswith("--no-progress") and hint in err, err
        assert not Path(f"{out}.tmp").exists() and not Path(f"{out}.lock").exists()

    def first_chunk_written(proc) -> None:
        deadline = time.monotonic() + 300
        while not out.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "no chunk finished"
            time.sleep(0.05)

    out.unlink(missing_ok=True)
    code, err = _interrupt_generate(out, cache, first_chunk_written)
    assert code == 130 and "Traceback" not in err and "Segmentation" not in err, err
    table = Table.open(out)  # every chunk that finished, in a valid file
    done = int(table.done.sum())
    assert done in (8, 16) and f"{out} keeps {done} of 16 rows trained" in err, err
    assert np.isfinite(table.metric("test_acc")[table.done]).all()


@pytest.mark.slow
def test_rerun_of_a_finished_file_trains_nothing(reference, tmp_path):
    copy = tmp_path / "copy.h5"
    copy.write_bytes(reference.read_bytes())
    before = os.stat(copy).st_mtime_ns
    table = generate(copy, TINY, progress=False)
    assert table.done.all() and os.stat(copy).st_mtime_ns == before
    # Without --chunk the file's own size is used: the default, which starts JAX's backend
    # (a Ray driver's GPU memory), is never asked for on a resume.
    import nasbench_lite.generate.run as run

    def no_default():
        raise AssertionError("default_chunk called on a resume")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(run, "default_chunk", no_default)
        generate(copy, dataclasses.replace(TINY, chunk=None), progress=False)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (
            {"epochs": 3},
            r"config differs in epochs \(file: \{'epochs': \d+\}; this run: \{'epochs': 3",
        ),
        ({"seeds": 3}, "seeds differs"),
        ({"dataset": "digits"}, "dataset differs"),
        ({"cells": CELLS + 1}, "target rows"),
        ({"sample_seed": 1}, "target rows"),
    ],
)
def test_resume_refuses_a_different_run(tmp_path, change, field):
    copy = tmp_path / "copy.h5"
    write_arrays(copy, *open_or_create(copy, TINY))  # a new file, every row pending
    assert _done_rows(copy) == 0 and open_or_create(copy, TINY)[1]["selection"]["cells"] == CELLS
    config = GenerateConfig(**{**TINY.__dict__, **change})
    with pytest.raises(ValueError, match=f"cannot resume .*copy.h5: .*{field}"):
        generate(copy, config, progress=False)


def test_resume_accepts_a_file_written_before_a_config_field_existed(tmp_path):
    """A file whose stored config lacks a later TrainConfig field (its default) resumes."""
    copy = tmp_path / "old.h5"
    arrays, attrs = open_or_create(copy, TINY)
    del attrs["config"]["reduction"]  # written before the field was added
    write_arrays(copy, arrays, attrs)
    assert "reduction" not in read_arrays(copy)[1]["config"]
    open_or_create(copy, TINY)  # no error
    attrs["config"]["reduction"] = "pool"  # a real difference is still refused
    write_arrays(copy, arrays, attrs)
    with pytest.raises(ValueError, match="cannot resume .*old.h5: config differs in reduction "):
        open_or_create(copy, TINY)


def test_select_classes_samples_and_shards():
    full = select_classes(SPACE, GenerateConfig())
    np.testing.assert_array_equal(full, np.arange(SPACE.num_unique))
    sample = select_classes(SPACE, GenerateConfig(cells=100, sample_seed=3))
    assert len(np.unique(sample)) == 100 and (np.diff(sample) > 0).all()
    np.testing.assert_array_equal(
        sample, select_classes(SPACE, GenerateConfig(cells=100, sample_seed=3))
    )
    assert not np.array_equal(
        sample, select_classes(SPACE, GenerateConfig(cells=100, sample_seed=4))
    )
    assert len(select_classes(SPACE, GenerateConfig(fraction=0.1))) == round(0.1 * SPACE.num_unique)
    shards = [
        select_classes(SPACE, GenerateConfig(cells=100, sample_seed=3, shard=(i, 3)))
        for i in range(3)
    ]
    np.testing.assert_array_equal(np.sort(np.concatenate(shards)), sample)
    np.testing.assert_array_equal(shards[1], sample[1::3])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (GenerateConfig(cells=0), "--cells 0: must be in 1.."),
        (GenerateConfig(cells=10**6), "--cells 1000000: must be in 1.."),
        (GenerateConfig(fraction=1.5), r"--fraction 1.5: must be in \(0, 1\]"),
        (GenerateConfig(cells=2, shard=(2, 3)), "shard 2/3 of 2 classes is empty"),
    ],
)
def test_select_classes_errors(config, message):
    with pytest.raises(ValueError, match=message):
        select_classes(SPACE, config)


@pytest.mark.parametrize(("text", "message"), [("3/2", "need 0 <= I < N"), ("a", "expected I/N")])
def test_parse_shard_errors(text, message):
    with pytest.raises(ValueError, match=f"--shard '{text}': {message}"):
        parse_shard(text)
    assert parse_shard("1/4") == (1, 4)


def test_option_errors(tmp_path):
    with pytest.raises(ValueError, match="--seeds 0: need at least one seed"):
        generate(tmp_path / "x.h5", GenerateConfig(preset="tiny", seeds=0), progress=False)
    with pytest.raises(ValueError, match="--chunk 0: need at least one class per chunk"):
        generate(tmp_path / "x.h5", GenerateConfig(preset="tiny", chunk=0), progress=False)
    with pytest.raises(ValueError, match="unknown executor 'dask'"):
        make_executor("dask", ChunkJob({}, "mnist1d"))
    with pytest.raises(ValueError, match="merge needs at least one input table"):
        merge(tmp_path / "m.h5", [])
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_shards_merge_into_the_unsharded_table(reference, tmp_path):
    shards = []
    for i in range(2):
        shards.append(tmp_path / f"shard{i}.h5")
        generate(shards[-1], GenerateConfig(**{**TINY.__dict__, "shard": (i, 2)}), progress=False)
    assert main(["merge", str(tmp_path / "merged.h5"), *map(str, shards)]) == 0
    merged, attrs = read_arrays(tmp_path / "merged.h5")
    ref, _ = read_arrays(reference)
    for name in VALUES:  # other chunk neighbours, same program: same numbers
        np.testing.assert_array_equal(merged[name], ref[name], err_msg=name)
    totals = [read_arrays(s)[1]["total_compute_seconds"] for s in shards]
    assert attrs["total_compute_seconds"] == pytest.approx(sum(totals))
    assert len(merged["chunks/seconds"]) == CELLS // CHUNK
    # A row's chunk index points at the merged chunk records of its own shard.
    assert (merged["chunks/pairs"][merged["status/chunk"]] == CHUNK * SEEDS).all()


def _synthetic(path, classes, config=None, seeds=(0, 1), done=None):
    attrs = {"seeds": list(seeds), "config": config or {"epochs": 2}}
    return synthetic_table(
        path, classes=classes, seeds=len(seeds), epochs=2, done=done, rng=len(classes), attrs=attrs
    )


def test_merge_errors_name_the_files(tmp_path):
    a, b, c, d = (tmp_path / f"{n}.h5" for n in "abcd")
    first = _synthetic(a, np.arange(0, 10))
    _synthetic(b, np.arange(5, 15))
    with pytest.raises(ValueError, match=r"class 5 is done in both .*a.h5 and .*b.h5"):
        merge(tmp_path / "m.h5", [a, b])
    _synthetic(c, np.arange(20, 30), config={"epochs": 2, "channels": 8})
    with pytest.raises(ValueError, match=r"cannot merge .*c.h5 with .*a.h5: config differs"):
        merge(tmp_path / "m.h5", [a, c])
    _synthetic(d, np.arange(20, 30), seeds=(0, 1, 2))
    with pytest.raises(ValueError, match=r"cannot merge .*d.h5 with .*a.h5: seeds differs"):
        merge(tmp_path / "m.h5", [a, d])
    with h5py.File(d, "a") as f:
        f.attrs["schema_version"] = 2
    with pytest.raises(ValueError, match=r"d.h5: schema_version 2 is not supported"):
        merge(tmp_path / "m.h5", [a, d])
    assert not (tmp_path / "m.h5").exists()
    # Overlapping targets are fine when each class is done in one input only.
    second = _synthetic(b, np.arange(5, 15), done=np.arange(10) >= 5)
    table = merge(tmp_path / "m.h5", [a, b])
    assert table.num_rows == 15 and table.done.all()
    for name in ("metrics/params", "metrics/test_acc", "status/chunk"):  # a done row wins
        a_rows, b_rows = first.arrays[name], second.arrays[name][5:]
        if name == "status/chunk":  # b's chunk records follow a's
            b_rows = b_rows + len(first.arrays["chunks/seconds"])
        np.testing.assert_array_equal(table.arrays[name], np.concatenate([a_rows, b_rows]))


def test_merge_takes_shards_of_one_selection_only(tmp_path, caplog):
    def shard(name, classes, i, n, seed=0):
        selection = {"fraction": None, "cells": 40, "sample_seed": seed, "shard": [i, n]}
        attrs = {"seeds": [0, 1], "config": {"epochs": 2}, "selection": selection}
        path = tmp_path / f"{name}.h5"
        synthetic_table(path, classes=classes, seeds=2, epochs=2, rng=len(classes), attrs=attrs)
        return path

    a, b = shard("a", np.arange(0, 10), 0, 2), shard("b", np.arange(10, 20), 1, 2)
    other_seed = shard("c", np.arange(10, 20), 1, 2, seed=7)
    with pytest.raises(ValueError, match=r"c.h5 with .*a.h5: they sample different classes"):
        merge(tmp_path / "m.h5", [a, other_seed])
    with pytest.raises(ValueError, match=r"d.h5 \(a shard of 3\) with .*a.h5 \(a shard of 2\)"):
        merge(tmp_path / "m.h5", [a, shard("d", np.arange(10, 20), 1, 3)])
    with pytest.raises(ValueError, match=r"input .*a.h5 is given twice"):
        merge(tmp_path / "m.h5", [a, b, tmp_path / "." / "a.h5"])
    with pytest.raises(ValueError, match=r"e.h5 with .*a.h5: both are shard 0"):
        merge(tmp_path / "m.h5", [a, shard("e", np.arange(10, 20), 0, 2)])
    assert not (tmp_path / "m.h5").exists()
    with caplog.at_level("WARNING", logger="nasbench_lite.generate.merge"):
        half = merge(tmp_path / "half.h5", [a])
    assert "merging 1 of 2 shards: shards [1] are not among the inputs" in caplog.text
    caplog.clear()
    whole = merge(tmp_path / "m.h5", [tmp_path / "half.h5", b])  # a merged table merges on
    assert whole.num_rows == 20 and not caplog.text and half.num_rows == 10


def test_the_hardware_record_names_the_cpu_model():
    from pathlib import Path

    from nasbench_lite.generate.executors import cpu_model, hardware

    info = Path("/proc/cpuinfo")
    if not (info.is_file() and "model name" in info.read_text()):
        pytest.skip("this platform's /proc/cpuinfo names no CPU model")
    record = hardware()
    assert record["cpu_model"] == cpu_model() and record["cpu_model"] not in ("", "unknown")


def test_the_hardware_record_lists_each_machine_once(caplog):
    from nasbench_lite.generate.records import note_hardware

    a, b = {"device_kind": "cpu", "cpu_count": 2}, {"device_kind": "H100", "cpu_count": 32}
    attrs = {"hardware": {"platform": "the driver"}}  # a new file: no worker yet
    for worker in (a, a, b, a, b):  # machine A, then B, back to A, B again
        note_hardware(attrs, worker, "local")
    local = {**b, "executor": "local"}
    assert attrs["hardware"] == {**a, "executor": "local", "others": [local]}
    assert caplog.text.count("differs from the file's hardware") == 1
    # A record written before a key existed: the same machine says more, without a warning.
    caplog.clear()
    attrs = {"hardware": {**a, "executor": "local"}}
    note_hardware(attrs, {**a, "cpu_model": "X"}, "local")
    assert attrs["hardware"]["others"] == [{**a, "cpu_model": "X", "executor": "local"}]
    assert not caplog.text
    # A merge of tables from different machines keeps its list, and adds a new machine once.
    merged = {"merged": [{**a, "executor": "local"}, local]}
    attrs = {"hardware": merged}
    note_hardware(attrs, a, "local")
    assert attrs["hardware"] == merged
    note_hardware(attrs, {"device_kind": "TPU"}, "ray")
    note_hardware(attrs, {"device_kind": "TPU"}, "ray")
    assert attrs["hardware"]["merged"][2:] == [{"device_kind": "TPU", "executor": "ray"}]


def test_a_resumed_file_lists_other_library_versions_once(monkeypatch):
    from nasbench_lite.generate import records
    from nasbench_lite.table import storage

    old, new = {"jax": "0.9.0", "numpy": "2.0"}, {"jax": "0.10.2", "numpy": "2.0"}
    attrs = {"versions": dict(old)}
    monkeypatch.setattr(storage, "library_versions", lambda: dict(old))
    records.note_versions(attrs)
    assert attrs["versions"] == old  # the run that made the file
    monkeypatch.setattr(storage, "library_versions", lambda: dict(new))
    for _ in range(3):  # every chunk of the resumed run
        records.note_versions(attrs)
    assert attrs["versions"] == {**old, "others": [new]}
    merged = {"versions": {"merged": [old]}}
    records.note_versions(merged)
    records.note_versions(merged)
    assert merged["versions"] == {"merged": [old, new]}
    # A package listed since the file was written (mnist1d): added, not a difference.
    listed = {**old, "mnist1d": "0.0.2"}
    monkeypatch.setattr(storage, "library_versions", lambda: dict(listed))
    attrs = {"versions": dict(old)}
    records.note_versions(attrs)
    assert attrs["versions"] == listed
    assert storage.versions_differ(old, listed) is False
    assert storage.versions_differ(listed, {**listed, "mnist1d": "0.1"}) is True


def test_versions_name_a_source_checkout_run_uninstalled(monkeypatch):
    """A checkout run from sys.path (as benchmarks/gpu_run.sh does) records its own version,
    not "not installed"; another package missing stays "not installed"."""
    from importlib import metadata

    import nasbench_lite
    from nasbench_lite.table import storage

    real = metadata.version

    def version(name):
        if name in ("nasbench-lite", "mnist1d"):
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(storage.metadata, "version", version)
    versions = storage.library_versions()
    assert versions["nasbench-lite"] == f"{nasbench_lite.__version__} (source, not installed)"
    assert versions["mnist1d"] == "not installed"
    assert versions["numpy"] == real("numpy")
    # An install-mode change alone is no other version; another number is.
    installed = {**versions, "nasbench-lite": nasbench_lite.__version__, "mnist1d": "0.0.2"}
    assert storage.versions_differ(installed, versions) is False
    assert storage.versions_differ(versions, installed) is False
    assert storage.versions_differ(installed, {**installed, "nasbench-lite": "0.2.0"}) is True
    assert storage.versions_differ(installed, {**installed, "numpy": "0.0"}) is True


def test_missing_ray_gives_install_hint(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    config = GenerateConfig(**{**TINY.__dict__, "executor": "ray"})
    with pytest.raises(ImportError, match=r"pip install 'nasbench-lite\[ray\]'"):
        generate(tmp_path / "r.h5", config, progress=False)
    assert main(["generate", *CLI_ARGS, "--executor", "ray", "--out", str(tmp_path / "r.h5")]) == 2
    assert "nasbench-lite[ray]" in capsys.readouterr().err
    assert not (tmp_path / "r.h5").exists()


def test_default_chunk_is_small_on_a_cpu_and_large_on_an_accelerator(monkeypatch):
    import jax

    for devices, cpu, gpu in [(1, 4, 64), (2, 8, 128), (16, 64, 1024)]:
        monkeypatch.setattr(jax, "local_device_count", lambda n=devices: n)
        monkeypatch.setattr(jax, "default_backend", lambda: "cpu")
        assert default_chunk() == cpu
        monkeypatch.setattr(jax, "default_backend", lambda: "gpu")
        assert default_chunk() == gpu


@pytest.mark.slow
def test_the_layout_option_reaches_the_trainer(reference, tmp_path, monkeypatch):
    """`generate --layout vmap` trains every chunk with the vmap layout (the accelerator's
    default), and the table holds what the default (grouped on a CPU) trains, to float
    tolerance; without the option the worker picks its backend's. The layout is recorded
    with the hardware; a bad one from the Python API is refused before any work."""
    from nasbench_lite.errors import InputError
    from nasbench_lite.train import trainer

    layouts = []
    real = trainer.train_cells

    def recording(*args, layout=None, **kwargs):
        layouts.append(layout)
        return real(*args, layout=layout, **kwargs)

    monkeypatch.setattr(trainer, "train_cells", recording)
    path = tmp_path / "t.h5"
    assert main(["generate", "--out", str(path), *CLI_ARGS, "--layout", "vmap"]) == 0
    assert layouts == ["vmap"] * (CELLS // CHUNK)
    a, _ = read_arrays(path)
    b, _ = read_arrays(reference)
    for name in ("metrics/train_loss", "metrics/valid_loss", "metrics/test_loss"):
        np.testing.assert_allclose(a[name], b[name], rtol=1e-3, err_msg=name)
    _, attrs = read_arrays(path)
    assert attrs["hardware"]["layout"] == "vmap"  # what timed the chunks is recorded
    layouts.clear()
    generate(tmp_path / "u.h5", dataclasses.replace(TINY, cells=CHUNK), progress=False)
    assert layouts == ["grouped"]  # this backend's (a CPU)
    assert read_arrays(tmp_path / "u.h5")[1]["hardware"]["layout"] == "grouped"
    with pytest.raises(SystemExit):
        main(["generate", "--out", str(tmp_path / "v.h5"), *CLI_ARGS, "--layout", "rows"])
    with pytest.raises(InputError, match="--layout 'rows': must be grouped or vmap"):
        generate(tmp_path / "w.h5", dataclasses.replace(TINY, layout="rows"), progress=False)
    assert not (tmp_path / "w.h5").exists() and layouts == ["grouped"]


def test_resuming_keeps_what_other_commands_added(reference, tmp_path):
    """A table given its latency (or proxies) before its rows are trained keeps them through
    `generate`, and trains the same values as an uninterrupted run."""
    path = tmp_path / "t.h5"
    arrays, attrs = open_or_create(path, TINY)
    rows = len(arrays["cells/row_raw"])
    arrays["metrics/latency_b1"] = np.linspace(1e-4, 2e-4, rows)
    arrays["latency/done"] = np.ones(rows, bool)
    attrs["latency"] = {"batches": [1], "copied_from": {"table": "elsewhere.h5"}}
    write_arrays(path, arrays, attrs)
    generate(path, TINY, progress=False)
    kept, kept_attrs = read_arrays(path)
    np.testing.assert_array_equal(kept["metrics/latency_b1"], arrays["metrics/latency_b1"])
    assert kept["latency/done"].all() and kept_attrs["latency"] == attrs["latency"]
    assert_same_values(path, reference)


def test_output_paths_are_named_for_what_is_wrong(tmp_path):
    from nasbench_lite.errors import InputError
    from nasbench_lite.generate.run import check_out

    (tmp_path / "file").write_text("")
    with pytest.raises(InputError, match="the path is an empty string"):
        check_out("")
    with pytest.raises(InputError, match=rf"{tmp_path / 'file'} is a file, not a directory"):
        check_out(tmp_path / "file" / "t.h5")
    with pytest.raises(InputError, match="does not exist"):
        check_out(tmp_path / "missing" / "t.h5")
    assert check_out(tmp_path / "t.h5") == tmp_path / "t.h5"


def test_an_output_not_named_h5_is_warned_about(tmp_path, caplog):
    from nasbench_lite.generate.run import check_out

    with caplog.at_level("WARNING", logger="nasbench_lite.generate.run"):
        check_out(tmp_path / "t.h5")
        assert not caplog.text
        check_out(tmp_path / "t.txt")
    assert "t.txt: an HDF5 table is written there" in caplog.text


def test_a_chunk_handed_over_when_ctrl_c_lands_is_drained_not_lost(monkeypatch):
    """A Ctrl-C after the executor handed a chunk over and before the caller wrote it: the
    chunk comes back from `drain` (the caller skips it if it had kept it), with the ones
    that finished meanwhile."""
    import time

    from nasbench_lite.generate import executors
    from nasbench_lite.generate.executors import ChunkTask, LocalExecutor

    monkeypatch.setattr(executors, "run_chunk", lambda job, cells, seeds: {"seconds": 1.0})
    tasks = [ChunkTask(np.array([i]), np.zeros((1, 6), np.int8), np.zeros(1, np.int64))
             for i in range(3)]  # fmt: skip
    executor = LocalExecutor(ChunkJob({}, "mnist1d"))
    run = executor.run(tasks)
    first = next(run)  # handed over; the caller is interrupted before it writes it
    time.sleep(0.5)  # the other two finish meanwhile
    drained = executor.drain()
    assert [int(t.rows[0]) for t, _ in drained] == [0, 1, 2] and drained[0] == first
    assert executor.drain() == []
    run.close()
