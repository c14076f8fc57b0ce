"""Table files carry Fletcher-32 checksums: one flipped bit in any array fails at read time
with one line naming the file and the array, never passes as data."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from nasbench_lite.errors import InputError
from nasbench_lite.table import Table
from nasbench_lite.table.synthetic import synthetic_table


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    path = tmp_path_factory.mktemp("integrity") / "t.h5"
    synthetic_table(rows=40, epochs=3).write(path)
    with h5py.File(path) as f:
        names: list[str] = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        chunks = {n: f[n].id.get_chunk_info(0) for n in names if f[n].size}
        assert all(f[n].fletcher32 for n in chunks)
    return path, chunks


def test_every_array_is_checksummed_and_a_flipped_bit_is_named(written, tmp_path):
    path, chunks = written
    data = path.read_bytes()
    rng = np.random.default_rng(0)
    assert len(chunks) >= 15  # every dataset of the schema that holds values
    for name, chunk in chunks.items():
        flipped = bytearray(data)
        at = chunk.byte_offset + int(rng.integers(chunk.size - 4))  # not the checksum itself
        flipped[at] ^= 1 << int(rng.integers(8))
        bad = tmp_path / "bad.h5"
        bad.write_bytes(bytes(flipped))
        with pytest.raises(InputError, match=f"bad.h5: dataset /{name} fails its checksum"):
            Table.open(bad)
    assert Table.open(path).num_rows == 40  # the untouched file reads


@pytest.mark.parametrize(
    "path, index, value, message",
    [
        ("metrics/valid_acc", (7, 1, 3), 1.075e38, "outside [0, 1]"),
        ("metrics/test_acc", (2, 0, 0), -0.5, "outside [0, 1]"),
        ("metrics/train_loss", (4, 2, 1), -29.9, ">= 0"),
        ("metrics/train_seconds", (9, 1), -1.0, ">= 0"),
        ("metrics/params", (3,), -5, ">= 0"),
    ],
)
def test_impossible_values_are_named_with_their_array_and_row(path, index, value, message):
    """An old file without checksums, or a table built in memory: every array is range
    checked on open, and the error names the array and the first bad position."""
    table = synthetic_table(rows=20, epochs=4, rng=2)
    arrays = {k: np.array(v) for k, v in table.arrays.items()}
    arrays[path][index] = value
    import re

    with pytest.raises(InputError, match=re.escape(message)) as err:
        Table(arrays, table.attrs, source="old.h5")
    text = str(err.value)
    assert f"old.h5: /{path} at row {index[0]}" in text and "\n" not in text
    if arrays[path].dtype.kind == "f":  # NaN (not trained, diverged) is always allowed
        arrays[path][index] = np.nan
        if arrays[path].ndim > 1:  # a pair's result: NaN when it diverged
            arrays["status/diverged"][index[:2]] = True
        Table(arrays, table.attrs, source="old.h5")


def test_proxy_scores_have_no_range():
    table = synthetic_table(rows=20, epochs=2, rng=2)
    arrays = {k: np.array(v) for k, v in table.arrays.items()}
    arrays["metrics/proxy_synflow"] = np.full((20, 3), -1e30)
    assert Table(arrays, table.attrs).metric("proxy_synflow").min() == -1e30


def test_info_verify_checks_the_file_against_its_card(tmp_path, capsys):
    from nasbench_lite.cli import main

    path = tmp_path / "t.h5"
    synthetic_table(path, rows=30, epochs=2, rng=3)
    assert main(["info", str(path), "--verify"]) == 2
    assert "no card" in capsys.readouterr().err
    assert main(["card", str(path)]) == 0
    capsys.readouterr()
    assert main(["info", str(path), "--verify"]) == 0
    assert "matches its card" in capsys.readouterr().out
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    assert main(["info", str(path), "--verify"]) == 2
    err = capsys.readouterr().err
    assert "the file changed since the card was written" in err and len(err.splitlines()) == 1
    card = tmp_path / "t_card.md"
    card.write_text(card.read_text().replace("file sha256", "file digest"))
    assert main(["info", str(path), "--verify", "--card", str(card)]) == 2
    assert "records no sha256" in capsys.readouterr().err
    assert main(["info", str(path), "--verify", "--card", str(tmp_path / "t_accuracy.png")]) == 2
    err = capsys.readouterr().err
    assert "t_accuracy.png is not a card (not text)" in err and len(err.splitlines()) == 1


def test_info_verify_reads_each_table_of_the_data_folder_against_its_own_card(tmp_path, capsys):
    """In the package's data folder a table's card is `<stem>_card.md`; README.md is the card
    only of the table its title names. A second table there is never checked against it."""
    from nasbench_lite.cli import main
    from nasbench_lite.table import shipped

    data = tmp_path / "data"
    data.mkdir()
    for name, seed in (("a.h5", 4), ("b.h5", 5)):
        synthetic_table(data / name, rows=20, epochs=2, rng=seed)
    assert main(["card", str(data / "a.h5"), "--out", str(data / "README.md")]) == 0
    assert main(["card", str(data / "b.h5"), "--out", str(data / "b_card.md")]) == 0
    capsys.readouterr()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(shipped, "DATA_DIR", data)
        assert main(["info", str(data / "a.h5"), "--verify"]) == 0  # README.md names a.h5
        assert main(["info", str(data / "b.h5"), "--verify"]) == 0  # b_card.md, not README.md
        assert f"matches its card {data / 'b_card.md'}\n" in capsys.readouterr().out
        (data / "b_card.md").unlink()
        assert main(["info", str(data / "b.h5"), "--verify"]) == 2
        assert "no card" in capsys.readouterr().err


def test_info_verify_passes_on_every_committed_table_but_one_being_generated():
    """Each shipped table with a card matches it (a table still being generated may have
    moved on since its card was written, and is skipped when its lock file is there)."""
    from nasbench_lite.table import shipped
    from nasbench_lite.table.verify import verify_against_card

    checked = []
    for path in sorted(shipped.DATA_DIR.glob("*.h5")):
        if path.with_name(path.name + ".lock").exists():
            continue
        verify_against_card(path)
        checked.append(path.name)
    assert "nb201_mnist1d_cpu.h5" in checked


def test_an_older_file_missing_a_sizing_attribute_is_named(tmp_path):
    """A file written before a dataset existed (back-filled on read) and lacking the `seeds`
    attribute that sizes the fill: an InputError naming the file and the attribute, not a
    bare KeyError."""
    from nasbench_lite.table.storage import read_arrays

    path = tmp_path / "t.h5"
    synthetic_table(path, rows=20)
    with h5py.File(path, "a") as f:
        del f["chunks/cpu_seconds"]
        del f.attrs["seeds"]
    with pytest.raises(InputError, match=rf"{path}.*seeds"):
        read_arrays(path)


def test_a_default_sigint_action_is_restored_as_it_was():
    """SIG_DFL is falsy (0): the flag restores it, not Python's handler, and a Ctrl-C held
    by deferred_interrupt then takes the default action (checked in a child process)."""
    import signal
    import subprocess
    import sys

    from nasbench_lite.interrupts import InterruptFlag

    before = signal.signal(signal.SIGINT, signal.SIG_DFL)
    try:
        with InterruptFlag():
            pass
        assert signal.getsignal(signal.SIGINT) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, before)
    code = (
        "import os, signal\n"
        "from nasbench_lite.interrupts import deferred_interrupt\n"
        "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
        "with deferred_interrupt():\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "print('survived')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGINT and "survived" not in proc.stdout


def test_a_ctrl_c_inside_a_gc_callback_is_sent_again_not_lost(monkeypatch):
    """Python discards an exception raised in a garbage-collector callback (JAX registers
    one): there the handler sends SIGINT again shortly instead of raising; elsewhere it
    raises KeyboardInterrupt, as Python's own handler does."""
    import gc
    import signal
    import sys

    from nasbench_lite import interrupts

    sent = []

    class Timer:  # records the retry instead of sending a signal to the test process
        def __init__(self, delay, function, args):
            sent.append((delay, function, args))

        def start(self):
            pass

    monkeypatch.setattr(interrupts.threading, "Timer", Timer)
    outcome = []

    def callback(phase, info):
        if phase == "start" and not outcome:
            try:
                interrupts.raise_interrupt(signal.SIGINT, sys._getframe())
                outcome.append("deferred")
            except KeyboardInterrupt:
                outcome.append("raised")

    gc.callbacks.append(callback)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(callback)
    assert outcome == ["deferred"]
    assert sent == [(interrupts.RETRY_SECONDS, interrupts.os.kill, (interrupts.os.getpid(),
                                                                  signal.SIGINT))]  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        interrupts.raise_interrupt(signal.SIGINT, sys._getframe())
