"""One XLA CPU device per core: set before JAX starts, never over the user's choice."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from nasbench_lite.devices import FLAG, cpu_cores, use_cpu_cores

PROBE = (
    "import os, sys\n"
    "from nasbench_lite.devices import use_cpu_cores\n"
    "count = use_cpu_cores({arg})\n"
    "import jax\n"
    "again = use_cpu_cores()\n"  # too late now: must change nothing
    "print(count, jax.local_device_count(), again, os.environ.get('XLA_FLAGS', ''))\n"
)


def probe(arg: str = "", xla_flags: str | None = None) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    if xla_flags is not None:
        env["XLA_FLAGS"] = xla_flags
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(arg=arg)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.split(maxsplit=3)


def test_one_device_per_core_before_jax_starts():
    count, devices, again, flags = probe()
    assert int(count) == int(devices) == cpu_cores()
    assert again == "None" and flags.strip() == f"{FLAG}={cpu_cores()}"


def test_explicit_count_and_other_flags_kept(monkeypatch):
    # In this process JAX may already run: pretend it has not started, restore afterwards.
    monkeypatch.delitem(sys.modules, "jax", raising=False)
    monkeypatch.setenv("XLA_FLAGS", "--xla_some_other_flag=1")
    assert use_cpu_cores(3) == 3
    assert os.environ["XLA_FLAGS"] == f"--xla_some_other_flag=1 {FLAG}=3"


def test_the_users_setting_wins():
    count, devices, _, flags = probe("", xla_flags=f"{FLAG}=1")
    assert count == "None" and int(devices) == 1 and flags.strip() == f"{FLAG}=1"


def test_bad_count(monkeypatch):
    monkeypatch.delitem(sys.modules, "jax", raising=False)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    with pytest.raises(ValueError, match="count must be at least 1, got 0"):
        use_cpu_cores(0)
    assert "XLA_FLAGS" not in os.environ
