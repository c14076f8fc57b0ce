"""The Ray executor on a local two-CPU cluster gives the same table as the local executor."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from nasbench_lite.generate.run import GenerateConfig, generate
from nasbench_lite.table.storage import CURVE_METRICS, read_arrays

ray = pytest.importorskip("ray")

# The same compiled program as tests/test_generate.py (tiny preset, 2 classes x 2 seeds).
TINY = GenerateConfig(preset="tiny", cells=8, seeds=2, chunk=2)


# subprocess/Ray start processes with fork + exec, which is safe; JAX warns about any fork.
@pytest.mark.filterwarnings("ignore:os.fork:RuntimeWarning")
@pytest.mark.slow
def test_ray_executor_matches_local(tmp_path):
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        config = dataclasses.replace(TINY, executor="ray")
        generate(tmp_path / "ray.h5", config, progress=False)
        assert ray.is_initialized()  # the executor leaves a cluster it did not start running
    finally:
        ray.shutdown()
    generate(tmp_path / "local.h5", TINY, progress=False)
    by_ray, attrs = read_arrays(tmp_path / "ray.h5")
    local, _ = read_arrays(tmp_path / "local.h5")
    assert by_ray["status/done"].all() and attrs["hardware"]["executor"] == "ray"
    # Chunks finish in any order under Ray; each row still records the chunk that trained it.
    assert sorted(by_ray["status/chunk"].tolist()) == sorted(local["status/chunk"].tolist())
    assert by_ray["chunks/pairs"].sum() == 8 * 2
    # Same program, same inputs, same machine: bit-identical results in another process.
    for name in [f"metrics/{m}" for m in (*CURVE_METRICS, "params", "flops")] + [
        "status/diverged", "cells/row_raw", "cells/raw_to_row",
    ]:  # fmt: skip
        np.testing.assert_array_equal(by_ray[name], local[name], err_msg=name)
    assert np.isfinite(by_ray["metrics/test_acc"]).all()
