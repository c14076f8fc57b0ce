"""benchmarks/gpu_run.sh on the CPU: offline wheel install, device report, generation that
stops at its time limit and resumes, and the failures it reports."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from nasbench_lite.table.reader import Table

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "gpu_run.sh"


def write_wheel(directory: Path, name: str, version: str, files: dict[str, str]) -> Path:
    """A minimal pure-Python wheel holding `files` (path -> text)."""
    path = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(path, "w") as wheel:
        for file, text in files.items():
            wheel.writestr(file, text)
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        wheel.writestr(f"{info}/METADATA", metadata)
        wheel.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{info}/RECORD", "")
    return path


def run_script(tmp_path: Path, *args: str, python: str = sys.executable):
    """The script with `python` (default: this interpreter) as its Python, wheels installed
    under tmp_path."""
    env = {
        **os.environ,
        "PYTHON": python,
        "SITE": str(tmp_path / "site"),
        "OUT": str(tmp_path / "returned"),
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        ["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=300
    )


def rows_done(path: Path) -> int:
    return int(Table.open(path).done.sum())


def new_log(logs: Path, seen: set[Path]) -> str:
    (log,) = set(logs.glob("gpu_run_*.log")) - seen
    seen.add(log)
    return log.read_text()


@pytest.mark.slow
def test_generates_until_the_limit_then_resumes(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "nbl_probe", "0.1", {"nbl_probe.py": "X = 1\n"})
    # tqdm is installed already: its wheel must be skipped, or this one would break tqdm.
    write_wheel(wheels, "tqdm", "0.0.1", {"tqdm/__init__.py": "raise ImportError('shadow')\n"})
    out = tmp_path / "t.h5"
    logs, seen = tmp_path / "t.logs", set()
    common = ["--preset", "tiny", "--skip-throughput", "--out", str(out)]

    # A cold compile of the tiny program took 48 s on 2 busy cores; later runs load it.
    first = run_script(tmp_path, *common, "--minutes", "1", "--wheels", str(wheels))
    assert first.returncode == 0, first.stdout + first.stderr
    log = new_log(logs, seen)
    assert log == first.stdout  # everything the script printed is in its log
    assert (tmp_path / "site" / "nbl_probe.py").exists()
    assert not (tmp_path / "site" / "tqdm").exists()
    assert "already installed: tqdm" in log
    assert re.search(r"^\[CpuDevice\(id=0\).*\] cpu$", log, re.MULTILINE)  # jax.devices()
    assert "creating " in log and "time limit reached" in log
    done = rows_done(out)
    table = Table.open(out)
    assert 0 < done < table.num_rows  # a partial table, readable
    assert table.attrs["preset"] == "tiny"
    assert f"rows done: {done} of {table.num_rows}" in log
    assert rows_done(tmp_path / "returned" / "t.h5") == done  # copied to $OUT with its logs
    assert (tmp_path / "returned" / "t.logs").is_dir()

    empty = tmp_path / "empty"
    empty.mkdir()
    second = run_script(tmp_path, *common, "--minutes", "0.15", "--wheels", str(empty))
    assert second.returncode == 0, second.stdout + second.stderr
    log = new_log(logs, seen)
    assert f"no wheels in {empty}" in log
    assert f"resuming {out}: {done} of {table.num_rows} rows done" in log
    assert rows_done(out) >= done


@pytest.mark.slow
def test_stops_at_the_limit_before_any_chunk(tmp_path):
    # A generation that cannot finish a chunk in time, whatever the machine: the interpreter
    # given to the script runs everything as usual except `generate`, which hangs, ignoring
    # SIGINT, until the script's timeout kills it.
    slow = tmp_path / "slow_python"
    slow.write_text(
        "#!/usr/bin/env bash\n"
        'if [[ " $* " == *" generate "* ]]; then trap "" INT; exec sleep 60; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    slow.chmod(0o755)
    out = tmp_path / "t.h5"
    result = run_script(
        tmp_path, "--preset", "tiny", "--dataset", "mnist1d_v2", "--skip-throughput",
        "--minutes", "0.01", "--out", str(out), "--wheels", str(tmp_path / "no_wheels"),
        python=str(slow),
    )  # fmt: skip
    assert result.returncode == 1
    assert "gpu_run: preset tiny, dataset mnist1d_v2, time limit 0.01 min" in result.stdout
    assert f"no wheel directory {tmp_path / 'no_wheels'}" in result.stdout
    assert "--dataset mnist1d_v2 --preset tiny" in result.stdout
    assert "no chunk finished within 0.01 min" in result.stdout
    assert not out.exists()


def test_a_failing_benchmark_fails_the_run(tmp_path):
    out = tmp_path / "t.h5"
    args = ["--preset", "tiny", "--throughput-args", "--no-such-option", "--out", str(out)]
    result = run_script(tmp_path, *args)
    assert result.returncode == 1
    assert "unrecognized arguments: --no-such-option" in result.stdout
    assert "the throughput benchmark failed" in result.stdout
    (saved,) = (tmp_path / "t.logs").glob("throughput_*.txt")
    assert "--no-such-option" in saved.read_text()
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--minutes", "soon"], "--minutes 'soon' is not a number"),
        (["--minutes", "0"], "--minutes 0 is not positive"),
        (["--out", "table.csv"], "does not end in .h5"),
        (["--wheels"], "--wheels needs a value"),
        (["--gpus", "2"], "unknown option '--gpus'"),
    ],
)
def test_bad_options(tmp_path, args, message):
    result = run_script(tmp_path, *args)
    assert result.returncode == 2
    assert message in result.stderr
