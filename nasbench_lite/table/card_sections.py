"""Sections of a table's dataset card (`table.card`) that read one attribute each: how
batch time was measured, the training-time calibration and the preset still owed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
