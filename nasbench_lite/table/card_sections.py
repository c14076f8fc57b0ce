"""Sections of a table's dataset card (`table.card`) that read one attribute each: how
batch time was measured, the training-time calibration and the preset still owed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.table.reader import Table
from nasbench_lite.train.config import PRESETS, TrainConfig


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def time_measure(st: dict[str, Any]) -> str:
    """What a batch's time apportioned to its pairs is: CPU time where the file has it."""
    if st["chunk_time_is_cpu"]:
        return ("The process CPU time of each batch (all threads, `/chunks/cpu_seconds`: "
                "another process on the same cores stretches a batch's wall time, "
                "`/chunks/seconds`, its CPU time much less)")  # fmt: skip
    return "The wall time of each batch (`/chunks/seconds`; this file predates CPU time)"


def batch_speeds(table: Table) -> np.ndarray:
    """Per finished batch with done rows, its measured seconds (CPU where the file has them
    for every batch, else wall) per training FLOP of the pairs it ran: how fast the machine
    ran it. A last, short batch is padded with repeats of its rows; they count as work."""
    arrays = table.arrays
    seconds = np.asarray(arrays.get("chunks/cpu_seconds", []), np.float64)
    if not (len(seconds) and np.isfinite(seconds).all()):  # older or merged files: wall
        seconds = np.asarray(arrays.get("chunks/seconds", []), np.float64)
    if not len(seconds) or "status/chunk" not in arrays:
        return np.empty(0)
    chunk = np.asarray(arrays["status/chunk"])
    flops = np.asarray(table.metric("flops"), np.float64)
    rows = np.asarray(table.done, bool) & (chunk >= 0) & (chunk < len(seconds))
    work = np.bincount(chunk[rows], flops[rows], minlength=len(seconds))
    pairs = np.asarray(arrays.get("chunks/pairs", np.zeros(len(seconds))), np.float64)
    if pairs.shape == seconds.shape and (pairs > 0).any():
        work = work * (pairs.max() / np.where(pairs > 0, pairs, pairs.max()))  # the padding
    speeds = seconds / np.where(work > 0, work, np.nan)
    return speeds[np.isfinite(speeds) & (speeds > 0)]


def batch_speed_section(table: Table) -> list[str]:
    """How much the batches' speed varied: the unit the simulated clock runs on."""
    speeds = batch_speeds(table)
    if len(speeds) < 10:
        return []
    p10, p50, p90 = np.percentile(speeds, [10, 50, 90])
    return [
        f"Batch speed: a batch's measured seconds per training FLOP varied over its "
        f"{len(speeds):,} batches by {p90 / p10:.2f}x from the 10th to the 90th percentile "
        f"({speeds.max() / speeds.min():.1f}x from the fastest to the slowest). Part of it is "
        "real (a batch of small cells pays more per-op overhead per FLOP), part is the "
        "machine: its load, and another CPU where a generation was resumed on another "
        "machine (the hardware row lists each). Two classes' `train_seconds` compare to "
        "about that factor when their batches ran under different conditions.", "",
    ]  # fmt: skip


def calibration_section(calibration: dict | None) -> list[str]:
    """The calibration paragraph: table train_seconds against the same cells trained alone."""
    if not calibration:
        return [
            "Calibration: not measured for this file (`python benchmarks/calibrate_seconds.py "
            "FILE --write` trains a sample of its classes alone and stores the comparison).", "",
        ]  # fmt: skip
    c = calibration
    return [
        f"Calibration: {c['classes']} classes sampled from the done rows (seed "
        f"{c['sample_seed']}) were trained alone, one at a time, seed 0, on one device "
        f"(`{c['command']}`, {c['created']}). Against those solo runs the table's per-pair "
        f"`train_seconds` have Spearman rank correlation **{c['spearman_cpu']:.3f}** with the "
        f"solo process CPU time (median ratio table/solo {c['median_ratio_cpu']:.3f}) and "
        f"{c['spearman_wall']:.3f} with the solo wall time (median ratio "
        f"{c['median_ratio_wall']:.3f}).", "",
    ]  # fmt: skip


def still_owed_section(table: Table) -> list[str]:
    """A section naming the gpu-preset table when this table used another preset."""
    a = table.attrs
    if a["preset"] == "gpu":
        return []
    name = f"{a['space']}_{a['dataset']}_gpu.h5"
    device = a["hardware"].get("device_platform")
    device = f"{device.upper()} " if isinstance(device, str) and device else ""
    if (Path(table.source).parent / name).is_file():
        status = f"exists next to this file (`{name}`) and has its own card"
    else:
        status = "has not been generated yet"
    gpu = PRESETS["gpu"].to_dict()
    differs = [
        f"{k} {_json(v)} (gpu: {_json(gpu[k])})"
        for k, v in TrainConfig.from_dict(a["config"]).to_dict().items()
        if gpu[k] != v
    ]
    return [
        "", "## Still owed", "",
        f"The gpu-preset table (`data/{name}`, preset `gpu`, sized for one H200-class "
        f"GPU) {status}; this card describes the {device}`{a['preset']}` preset table. Its "
        f"training configuration differs from `gpu` in: "
        f"{'; '.join(differs) or 'nothing but the preset name'}.",
    ]  # fmt: skip
