"""Fault injection: flipped bits, truncated files, SIGKILL and Ctrl-C at seeded moments of
`generate`, `compare --resume`, `proxies` and `latency`, a second writer, a full disk. Each
fault must end in a clear one-line error or be survived: no finished work lost, no input file
changed, and a resumed run ending with the results of an uninterrupted one.

    python benchmarks/fault_injection.py [--seed 0] [--quick] [--out counts.md]

Prints the counts per kind of fault (injected, survived, of which harmless, failed) and what
"survived" checked; --out writes the same table as markdown (docs/faults.md shows it).
tests/test_faults.py runs these campaigns, small by default and whole when marked slow.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
# Proxies compiled without XLA's optimisations: the same values' checks, minutes less.
PROXIES = (
    "import sys; from nasbench_lite.proxies import batched; "
    "batched.COMPILER_OPTIONS.update(xla_backend_optimization_level=0); "
    "from nasbench_lite.cli import run; sys.argv[0] = 'nasbench-lite'; run()"
)
GENERATE = ["--preset", "tiny", "--cells", "8", "--seeds", "1", "--chunk", "2", "--no-progress"]
COMPARE = ["--strategies", "random_search", "local_search", "--seeds", "8", "--budget",
           "200evals", "--jobs", "1", "--no-progress"]  # fmt: skip
CHECKS = {
    "bit flip": "open fails with one line naming the file and the array; a flip that opens "
    "must leave every array and attribute equal (harmless)",
    "truncation": "open fails with one line naming the file",
    "SIGKILL": "the file opens (or was not written yet), no finished row or run lost, the "
    "input unchanged; the resumed run's results equal an uninterrupted run's",
    "SIGINT": "as SIGKILL, and exit code 130 with one line (no traceback) saying how to resume",
    "second writer": "exit code 2 at once, one line naming the holder's pid; the holder's "
    "table equals an uninterrupted run's",
    "full disk": "exit code 2 or WriteFailedError, one line; the previous file byte-identical "
    "(or the finished rows and runs kept), no temporary file left; a resume completes",
}


@dataclass(frozen=True)
class Fault:
    """One injected fault: `kind` (a key of CHECKS, with a qualifier), `survived`, `harmless`
    (nothing to detect: the fault changed nothing that is read), `late` (a signal that landed
    after the command had finished), `detail` (what happened, for a failure)."""

    kind: str
    survived: bool
    harmless: bool = False
    late: bool = False
    detail: str = ""


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def one_line(text: str) -> bool:
    """Whether an error's text (or a command's stderr, its log lines aside) is one line and
    no traceback."""
    logged = ("INFO ", "WARNING ")  # log lines (e.g. a partial table's restriction), not errors
    lines = [line for line in text.strip().splitlines() if not line.startswith(logged)]
    return len(lines) == 1 and "Traceback" not in text


def cli(*args: str, code: str | None = None) -> list[str]:
    """The command line running `nasbench-lite ARGS` with this Python (`code`: instead of -m)."""
    start = ["-c", code] if code else ["-m", "nasbench_lite"]
    return [sys.executable, *start, *map(str, args)]


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get(
        "PYTHONPATH", "")])}  # fmt: skip


# -- flipped bits and truncated files ---------------------------------------------------------


def data_ranges(path: Path) -> dict[str, list[tuple[int, int]]]:
    """Byte ranges (offset, size) of every dataset's stored chunks, checksums included."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    with h5py.File(path, "r") as f:
        names: list[str] = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        for name in names:
            dataset = f[name]
            if dataset.size and dataset.chunks:
                chunks = [dataset.id.get_chunk_info(i) for i in range(dataset.id.get_num_chunks())]
                ranges[name] = [(c.byte_offset, c.size) for c in chunks]
            elif dataset.size:
                ranges[name] = [(dataset.id.get_offset(), dataset.id.get_storage_size())]
    return ranges


def _same_content(a, b) -> bool:
    if a.attrs != b.attrs or set(a.arrays) != set(b.arrays):
        return False
    return all(np.array_equal(a.arrays[k], b.arrays[k], equal_nan=a.arrays[k].dtype.kind == "f")
               for k in a.arrays)  # fmt: skip


def bit_flips(path: Path, scratch: Path, rng: np.random.Generator, per_array: int) -> list[Fault]:
    """`per_array` seeded single-bit flips in every array's stored bytes (checksums
    included), each in its own copy of the table file at `path`."""
    from nasbench_lite.errors import InputError
    from nasbench_lite.table import Table

    original, data, digest = Table.open(path), path.read_bytes(), sha256(path)
    faults = []
    for name, ranges in sorted(data_ranges(path).items()):
        sizes = np.array([size for _, size in ranges])
        for _ in range(per_array):
            chunk = int(rng.choice(len(ranges), p=sizes / sizes.sum()))
            at = ranges[chunk][0] + int(rng.integers(ranges[chunk][1]))
            flipped = bytearray(data)
            flipped[at] ^= 1 << int(rng.integers(8))
            bad = scratch / "flipped.h5"
            bad.write_bytes(bytes(flipped))
            try:
                table = Table.open(bad)
            except InputError as err:
                ok = one_line(str(err)) and str(bad) in str(err) and f"/{name}" in str(err)
                faults.append(Fault("bit flip", ok, detail=f"/{name} byte {at}: {err}"))
                continue
            harmless = _same_content(table, original)
            faults.append(Fault("bit flip", harmless, harmless, detail=f"/{name} byte {at}"))
    assert sha256(path) == digest
    return faults


def truncations(path: Path, scratch: Path) -> list[Fault]:
    """The table file at `path` cut at 0%, 10%, ..., 90% of its length."""
    from nasbench_lite.errors import InputError
    from nasbench_lite.table import Table

    data, faults = path.read_bytes(), []
    for tenth in range(10):
        bad = scratch / "truncated.h5"
        bad.write_bytes(data[: len(data) * tenth // 10])
        try:
            Table.open(bad)
        except InputError as err:
            faults.append(Fault("truncation", one_line(str(err)) and str(bad) in str(err),
                                detail=f"{tenth * 10}%: {err}"))  # fmt: skip
        else:
            faults.append(Fault("truncation", False, detail=f"{tenth * 10}% opened"))
    return faults


# -- signals at seeded moments ------------------------------------------------------------------


def rows_done(path: Path, dataset: str = "status/done") -> int:
    """Finished rows of the table file at `path` (0 when it does not exist or lacks them)."""
    for _ in range(20):  # a file being replaced: read again
        try:
            with h5py.File(path, "r") as f:
                return int(f[dataset][()].sum()) if dataset in f else 0
        except FileNotFoundError:
            return 0
        except OSError:
            time.sleep(0.05)
    return 0


def runs_done(out: Path) -> int:
    """Finished runs kept in a comparison folder."""
    return len(list((out / "runs").glob("*/seed-*.csv")))


@dataclass(frozen=True)
class Moment:
    """When to signal: once `progress()` reaches `after` units, `delay` seconds later."""

    after: int
    delay: float


def signalled(command: list[str], progress: Callable[[], int], moment: Moment, signum: int,
              timeout: float = 300) -> tuple[int, str, int, bool]:  # fmt: skip
    """Run `command`, signal its process group (as a terminal's Ctrl-C does) at `moment`;
    returns (exit code, stderr, progress just before the signal, whether it still ran)."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=environment(), start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + timeout
    while progress() < moment.after and proc.poll() is None:
        if time.monotonic() > deadline:
            proc.kill()
            raise TimeoutError(f"{command}: no progress to {moment.after} in {timeout} s")
        time.sleep(0.02)
    time.sleep(moment.delay)
    before, alive = progress(), proc.poll() is None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signum)
    _, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stderr, before, alive


def check_signalled(kind: str, signum: int, result: tuple, after: int, opens: bool,
                    hint: str) -> Fault:  # fmt: skip
    """The Fault of one signalled run: `after` units found afterwards, `opens` whether the
    output reads; `hint` the words a Ctrl-C's line must hold."""
    code, stderr, before, alive = result
    name = "SIGKILL" if signum == signal.SIGKILL else "SIGINT"
    problems = []
    if after < before:
        problems.append(f"{before - after} finished units lost")
    if not opens:
        problems.append("the output does not open")
    if signum == signal.SIGINT and alive:
        if code not in (130, 0) or (code == 130 and (not one_line(stderr) or hint not in stderr)):
            problems.append(f"exit code {code}, stderr {stderr.strip()[-300:]!r}")
    late = not alive or (signum == signal.SIGINT and code == 0)
    return Fault(f"{name}: {kind}", not problems, late=late, detail="; ".join(problems))


def _opens(path: Path) -> bool:
    from nasbench_lite.table import Table

    if not path.exists():
        return True
    try:
        Table.open(path)
    except ValueError:
        return False
    return True


# Measured, not computed: they differ from run to run.
MEASURED = ("metrics/train_seconds", "status/chunk")


def same_table_values(a: Path, b: Path, prefixes=("metrics/", "status/", "cells/")) -> bool:
    """Whether two table files hold equal arrays under `prefixes` (NaN equal to NaN), the
    measured times aside."""
    from nasbench_lite.table.storage import read_arrays

    x, y = read_arrays(a)[0], read_arrays(b)[0]
    names = [n for n in x if n.startswith(prefixes) and n not in MEASURED]
    return set(names) <= set(y) and all(
        np.array_equal(x[n], y[n], equal_nan=x[n].dtype.kind == "f") for n in names
    )


def moments(rng: np.random.Generator, count: int, units: int, seconds: float) -> list[Moment]:
    """`count` seeded moments: the first in start-up (0.5 to 4 s after the start: Python's own
    Ctrl-C handler is in place by then), the others after 1..units-1 finished units (counted
    from where the run starts), within `seconds` of it."""
    first = [Moment(0, float(rng.uniform(0.5, 4.0)))]
    return first + [Moment(int(rng.integers(1, max(units, 2))), float(rng.uniform(0, seconds)))
                    for _ in range(count - 1)]  # fmt: skip


def generate_kills(work: Path, rng: np.random.Generator, kills: int, reference: Path) -> list:
    """SIGKILL and SIGINT (alternating) at seeded moments of `generate`, then a resume that
    must give the reference's values."""
    out = work / "killed.h5"
    command = cli("generate", *GENERATE, "--out", out)
    faults = []
    for i, moment in enumerate(moments(rng, kills, 3, 0.3)):
        signum = signal.SIGKILL if i % 2 == 0 else signal.SIGINT
        if rows_done(out) >= 8:  # finished before the signal: start again
            out.unlink()
        moment = Moment(min(rows_done(out) + moment.after * 2, 6), moment.delay)
        result = signalled(command, lambda: rows_done(out), moment, signum)
        faults.append(check_signalled("generate", signum, result, rows_done(out), _opens(out),
                                      "The same command resumes"))  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, env=environment())
    resumed = same_table_values(out, reference) and not Path(f"{out}.tmp").exists()
    faults.append(Fault("SIGKILL: generate resumed", resumed, detail="values differ"))
    return faults


def compare_kills(work: Path, rng: np.random.Generator, kills: int, table: Path) -> list:
    """SIGKILL and SIGINT at seeded moments of `compare` and then of `compare --resume`; the
    finished comparison's results.csv must be byte-identical to an uninterrupted one's."""
    digest = sha256(table)
    whole, out = work / "whole", work / "resumed"
    subprocess.run(cli("compare", "--table", table, *COMPARE, "--out", whole), check=True,
                   capture_output=True, env=environment())  # fmt: skip
    runs, faults = runs_done(whole), []
    for i, moment in enumerate(moments(rng, kills, runs, 0.3)):
        signum = signal.SIGKILL if i % 2 == 0 else signal.SIGINT
        if (out / "report.md").exists():  # finished before the signal: start again
            shutil.rmtree(out)
        where = ["--resume", out] if (out / "plan.json").exists() else ["--out", out]
        command = cli("compare", "--table", table, *COMPARE, *where)
        moment = Moment(min(runs_done(out) + moment.after, runs - 1), moment.delay)
        result = signalled(command, lambda: runs_done(out), moment, signum)
        kind = "compare --resume" if where[0] == "--resume" else "compare"
        faults.append(check_signalled(kind, signum, result, runs_done(out), True, "--resume"))
    subprocess.run(cli("compare", "--table", table, *COMPARE, "--resume", out), check=True,
                   capture_output=True, env=environment())  # fmt: skip
    same = (out / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()
    faults.append(Fault("SIGKILL: compare resumed", same and sha256(table) == digest,
                        detail="results.csv or the table differ"))  # fmt: skip
    return faults


def proxies_kills(work: Path, rng: np.random.Generator, kills: int, table: Path) -> list:
    """SIGKILL and SIGINT at seeded moments of `proxies` on a copy of `table` (a tiny-preset
    table); the resumed file's proxies must equal an uninterrupted run's."""
    whole, out = work / "proxies_whole.h5", work / "proxies_killed.h5"
    shutil.copy(table, whole)
    shutil.copy(table, out)
    subprocess.run(
        cli("proxies", "--table", whole, "--chunk", "2", "--no-progress", code=PROXIES),
        check=True,
        capture_output=True,
        env=environment(),
    )
    rows = rows_done(whole, "proxies/done")
    faults = []
    for i, moment in enumerate(moments(rng, kills, rows // 2 - 1, 0.3)):
        signum = signal.SIGKILL if i % 2 == 0 else signal.SIGINT
        command = cli("proxies", "--table", out, "--chunk", "2", "--no-progress", code=PROXIES)

        def progress() -> int:
            return rows_done(out, "proxies/done")

        if progress() >= rows:  # finished before the signal: start again
            shutil.copy(table, out)
        moment = Moment(min(progress() + moment.after * 2, rows - 2), moment.delay)
        result = signalled(command, progress, moment, signum)
        faults.append(check_signalled("proxies", signum, result, progress(), _opens(out),
                                      "The same command resumes"))  # fmt: skip
    subprocess.run(cli("proxies", "--table", out, "--no-progress", code=PROXIES), check=True,
                   capture_output=True, env=environment())  # fmt: skip
    same = same_table_values(out, whole, ("metrics/", "proxies/"))
    faults.append(Fault("SIGKILL: proxies resumed", same, detail="proxies differ"))
    return faults


def latency_values(path: Path) -> dict[str, np.ndarray]:
    """The latency arrays of a table file and which rows they hold ({} before any write)."""
    from nasbench_lite.table.storage import read_arrays

    if not path.exists():
        return {}
    arrays = read_arrays(path)[0]
    return {n: arrays[n] for n in arrays if n.startswith(("metrics/latency_", "latency/"))}


def latency_kills(work: Path, rng: np.random.Generator, kills: int, table: Path) -> list:
    """SIGKILL and SIGINT at seeded moments of `latency` on a copy of `table` (one row per
    chunk); a latency is a measurement, different in every run, so what must hold is that
    every row measured before a signal keeps its value through the resumed runs and that
    the resumed file has them all."""
    out = work / "latency_killed.h5"
    shutil.copy(table, out)
    with h5py.File(out, "r") as f:
        rows = len(f["cells/row_raw"])
    faults, kept = [], {}
    for i, moment in enumerate(moments(rng, kills, rows - 1, 1.0)):
        signum = signal.SIGKILL if i % 2 == 0 else signal.SIGINT
        command = cli("latency", "--table", out, "--chunk", "1", "--rounds", "2", "--no-progress")

        def progress() -> int:
            return rows_done(out, "latency/done")

        moment = Moment(min(progress() + moment.after, rows - 1), moment.delay)
        result = signalled(command, progress, moment, signum)
        fault = check_signalled("latency", signum, result, progress(), _opens(out),
                                "The same command resumes")  # fmt: skip
        now = latency_values(out)
        lost = [n for n, v in kept.items() if not np.array_equal(now.get(n)[kept_rows(kept)],
                v[kept_rows(kept)], equal_nan=True)]  # fmt: skip
        if lost:
            fault = Fault(fault.kind, False, late=fault.late, detail=f"{lost} changed")
        faults.append(fault)
        kept = now
    subprocess.run(cli("latency", "--table", out, "--rounds", "2", "--no-progress"), check=True,
                   capture_output=True, env=environment())  # fmt: skip
    final = latency_values(out)
    done = final.get("latency/done", np.zeros(0, bool))
    same = all(np.array_equal(final[n][kept_rows(kept)], v[kept_rows(kept)], equal_nan=True)
               for n, v in kept.items())  # fmt: skip
    faults.append(
        Fault(
            "SIGKILL: latency resumed",
            bool(done.all()) and same,
            detail=f"{int(done.sum())} of {rows} rows, earlier rows kept: {same}",
        )
    )
    return faults


def kept_rows(values: dict[str, np.ndarray]) -> np.ndarray:
    """The rows marked measured in `values` (latency_values of a file)."""
    return np.flatnonzero(values.get("latency/done", np.zeros(0, bool)))


# -- a second writer ------------------------------------------------------------------------------


def second_writers(work: Path, reference: Path) -> list[Fault]:
    """While `generate` writes a table (stopped, SIGSTOP, after its first chunk, so that it
    holds the lock however fast the machine): generate, proxies, latency and merge on the same
    file;
    then the holder goes on (SIGCONT) and must finish its table."""
    out = work / "held.h5"
    holder = subprocess.Popen(cli("generate", *GENERATE, "--out", out), env=environment(),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 300
    while not out.exists() and holder.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    holder.send_signal(signal.SIGSTOP)
    others = {
        "generate": cli("generate", *GENERATE, "--out", out),
        "proxies": cli("proxies", "--table", out, "--no-progress", code=PROXIES),
        "latency": cli("latency", "--table", out, "--no-progress"),
        "merge": cli("merge", out, reference),
    }
    faults = []
    for name, command in others.items():
        if holder.poll() is not None:
            break
        started = time.monotonic()
        done = subprocess.run(command, capture_output=True, text=True, env=environment())
        ok = done.returncode == 2 and one_line(done.stderr) and f"pid {holder.pid}" in done.stderr
        faults.append(
            Fault(
                f"second writer: {name}",
                ok,
                detail=f"{done.returncode} "
                f"{done.stderr.strip()[-300:]} ({time.monotonic() - started:.1f} s)",
            )
        )
    holder.send_signal(signal.SIGCONT)
    holder.wait(timeout=300)
    same = holder.returncode == 0 and same_table_values(out, reference)
    faults.append(Fault("second writer: holder's table", same,
                        detail=f"holder exit code {holder.returncode}; its table equals an "
                        f"uninterrupted run's: {same}"))  # fmt: skip
    return faults


# -- a full disk --------------------------------------------------------------------------------


@contextlib.contextmanager
def small_filesystem(where: Path, size: int) -> Iterator[Path | None]:
    """A tmpfs of `size` bytes mounted on `where` (None where mounting is not allowed)."""
    where.mkdir(parents=True, exist_ok=True)
    mounted = os.name == "posix" and hasattr(os, "geteuid") and os.geteuid() == 0 and (
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                       capture_output=True).returncode == 0)  # fmt: skip
    try:
        yield where if mounted else None
    finally:
        if mounted:
            subprocess.run(["umount", str(where)], check=True)


@contextlib.contextmanager
def disk_fills_after(free: int) -> Iterator[None]:
    """Every os.write fails with ENOSPC once `free` bytes have been written (a simulated full
    disk, in this process)."""
    real, written = os.write, [0]

    def write(fd: int, data) -> int:
        if written[0] + len(data) > free:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written[0] += len(data)
        return real(fd, data)

    os.write = write
    try:
        yield
    finally:
        os.write = real


def full_disk_simulated(work: Path, rng: np.random.Generator, count: int, table: Path) -> list:
    """A table replaced, and a comparison kept and reported, on a disk that fills at a
    seeded moment."""
    from nasbench_lite.compare.config import CompareConfig
    from nasbench_lite.compare.run import compare
    from nasbench_lite.errors import WriteFailedError
    from nasbench_lite.table import Table

    faults = []
    source = Table.open(table)
    for _ in range(count):
        target = work / "replaced.h5"
        shutil.copy(table, target)
        digest = sha256(target)
        try:
            with disk_fills_after(int(rng.integers(0, target.stat().st_size))):
                source.write(target)
        except WriteFailedError as err:
            ok = one_line(str(err)) and "is unchanged" in str(err) and sha256(target) == digest
            ok = ok and not Path(f"{target}.tmp").exists()
            faults.append(Fault("full disk (simulated): table", ok, detail=str(err)))
        else:
            faults.append(Fault("full disk (simulated): table", False, detail="no error"))
    config = CompareConfig(table=str(table), strategies=("random_search", "local_search"),
                           seeds=3, budget="30evals", jobs=1, progress=False)  # fmt: skip
    compare(dataclasses.replace(config, out=str(work / "c_whole")))
    # The bytes written through the package's atomic writes: the journal and the results.
    written = [*(work / "c_whole").rglob("*.csv"), work / "c_whole" / "plan.json"]
    size = sum(p.stat().st_size for p in written)
    for _ in range(count):
        out = work / "c_full"
        shutil.rmtree(out, ignore_errors=True)
        run = dataclasses.replace(config, out=str(out))
        try:
            with disk_fills_after(int(rng.integers(0, size))):
                compare(run)
        except WriteFailedError as err:
            leftovers = list(out.rglob("*.tmp"))
            resumed = compare(dataclasses.replace(run, resume=True))
            same = (out / "results.csv").read_bytes() == (work / "c_whole/results.csv").read_bytes()
            ok = one_line(str(err)) and not leftovers and same and resumed.report is not None
            faults.append(Fault("full disk (simulated): compare", ok, detail=str(err)))
        else:  # the disk filled after the last write: nothing to survive
            faults.append(Fault("full disk (simulated): compare", True, True))
    return faults


def full_disk_tmpfs(work: Path, reference: Path, table: Path) -> list[Fault]:
    """generate, compare and proxies writing into a small tmpfs (where mounting is allowed)."""
    faults = []
    with small_filesystem(work / "small", reference.stat().st_size * 3 // 2) as small:
        if small is None:
            return []
        out = small / "g.h5"
        done = subprocess.run(cli("generate", *GENERATE, "--out", out), capture_output=True,
                              text=True, env=environment())  # fmt: skip
        kept = rows_done(out)
        ok = done.returncode == 2 and one_line(done.stderr) and "resumes" in done.stderr
        ok = ok and 0 < kept < 8 and _opens(out) and not Path(f"{out}.tmp").exists()
        moved = work / "g_moved.h5"
        shutil.copy(out, moved)
        subprocess.run(cli("generate", *GENERATE, "--out", moved), check=True,
                       capture_output=True, env=environment())  # fmt: skip
        faults.append(
            Fault(
                "full disk (tmpfs): generate",
                ok and same_table_values(moved, reference),
                detail=f"{done.returncode} {done.stderr.strip()[-300:]}",
            )
        )
    with small_filesystem(work / "small", table.stat().st_size + 8192) as small:
        shutil.copy(table, small / "p.h5")
        digest = sha256(small / "p.h5")
        done = subprocess.run(cli("proxies", "--table", small / "p.h5", "--chunk", "2",
                                  "--no-progress", code=PROXIES), capture_output=True,
                              text=True, env=environment())  # fmt: skip
        ok = done.returncode == 2 and one_line(done.stderr) and "unchanged" in done.stderr
        ok = ok and sha256(small / "p.h5") == digest and not Path(f"{small}/p.h5.tmp").exists()
        faults.append(Fault("full disk (tmpfs): proxies", ok, detail=done.stderr[-300:]))
    return faults


# -- the campaign ---------------------------------------------------------------------------------


def counts(faults: list[Fault]) -> list[tuple[str, int, int, int, int, int]]:
    """(kind, injected, survived, of which harmless, landed late, failed) per kind."""
    kinds = list(dict.fromkeys(f.kind for f in faults))
    rows = []
    for kind in kinds:
        some = [f for f in faults if f.kind == kind]
        rows.append((kind, len(some), sum(f.survived for f in some),
                     sum(f.harmless for f in some), sum(f.late for f in some),
                     sum(not f.survived for f in some)))  # fmt: skip
    return rows


def markdown(faults: list[Fault]) -> str:
    lines = ["| fault | injected | survived | of which harmless | signal after the end | "
             "failed |", "|---|--:|--:|--:|--:|--:|"]  # fmt: skip
    rows = counts(faults)
    lines += [f"| {k} | {n} | {s} | {h} | {late} | {f} |" for k, n, s, h, late, f in rows]
    total = [sum(r[i] for r in rows) for i in range(1, 6)]
    lines.append("| **all** | " + " | ".join(f"**{t}**" for t in total) + " |")
    return "\n".join(lines)


def make_tables(work: Path) -> tuple[Path, Path]:
    """(a tiny-preset table generated here, 8 classes x 1 seed; a synthetic 300-class table)."""
    from nasbench_lite.table.synthetic import synthetic_table

    reference = work / "reference.h5"
    subprocess.run(cli("generate", *GENERATE, "--out", reference), check=True,
                   capture_output=True, env=environment())  # fmt: skip
    synthetic = work / "synthetic.h5"
    synthetic_table(synthetic, rows=300, seeds=2, epochs=4)
    return reference, synthetic


def campaign(work: Path, seed: int, quick: bool = False) -> list[Fault]:
    """Every kind of fault, seeded; `quick`: fewer of each."""
    rng = np.random.default_rng(seed)
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        # Started in the background by a shell: the commands would inherit an ignored Ctrl-C.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    reference, synthetic = make_tables(work)
    scratch = work / "scratch"
    scratch.mkdir(exist_ok=True)
    faults = bit_flips(reference, scratch, rng, 4 if quick else 16)
    faults += bit_flips(synthetic, scratch, rng, 2 if quick else 8)
    faults += truncations(reference, scratch) + truncations(synthetic, scratch)
    faults += generate_kills(work, rng, 2 if quick else 4, reference)
    faults += compare_kills(work, rng, 2 if quick else 4, synthetic)
    faults += proxies_kills(work, rng, 2 if quick else 3, reference)
    faults += latency_kills(work, rng, 2 if quick else 3, reference)
    faults += second_writers(work, reference)
    faults += full_disk_simulated(work, rng, 2 if quick else 5, synthetic)
    faults += full_disk_tmpfs(work, reference, reference)
    return faults


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="fewer faults of each kind")
    parser.add_argument("--out", default=None, help="also write the table here (markdown)")
    args = parser.parse_args()
    from nasbench_lite.devices import use_cpu_cores

    use_cpu_cores(2)  # as the tests: the subprocesses inherit the devices and the compiled code
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as work:
        faults = campaign(Path(work), args.seed, args.quick)
    table = markdown(faults)
    print(table)
    for fault in faults:
        if not fault.survived:
            print(f"FAILED {fault.kind}: {fault.detail}")
    print(f"{len(faults)} faults in {time.perf_counter() - started:.0f} s (seed {args.seed})")
    if args.out:
        Path(args.out).write_text(table + "\n")
    return int(any(not f.survived for f in faults))


if __name__ == "__main__":
    sys.exit(main())
