"""The batched, masked trainer against the plain reference network, cell by cell."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from nasbench_lite.datasets import load_dataset
from nasbench_lite.train.config import CURVES, PRESETS, TrainConfig, get_preset, splits
from nasbench_lite.train.cost import network_cost
from nasbench_lite.train.reference import reference_network
from nasbench_lite.train.trainer import make_train, pair_keys, train_cells, train_one

TINY = get_preset("tiny")
TINY_POOL = dataclasses.replace(TINY, reduction="pool")
# Six different cells: all-conv, pool/skip only, a zero cell, mixed; two share a seed.
CELLS = np.array(
    [
        [3, 3, 3, 3, 3, 3],
        [1, 4, 1, 4, 1, 4],
        [0, 0, 0, 0, 0, 0],
        [2, 3, 4, 1, 0, 3],
        [3, 0, 2, 4, 3, 1],
        [3, 3, 3, 3, 3, 3],
    ]
)
SEEDS = np.array([0, 0, 1, 2, 0, 1])


@pytest.fixture(scope="module")
def data():
    return load_dataset("mnist1d")


@pytest.fixture(scope="module")
def batch(data):
    return train_cells(TINY, CELLS, SEEDS, data)


def train_reference(config: TrainConfig, cell, seed: int, data) -> np.ndarray:
    """(epochs, 6) metrics of ``cell`` trained alone by the plain, unmasked network."""
    net = reference_network(cell, config, 10)
    train = jax.jit(make_train(config, data.num_classes, network=net))
    key = pair_keys(np.array([seed]))[0]
    return np.asarray(train(key, np.asarray(cell), 1.0, *splits(data, config)))


def metrics_of(result, i: int) -> np.ndarray:
    return np.stack([result.metrics[name][i] for name in CURVES], axis=1)


@pytest.mark.slow
@pytest.mark.parametrize("i", [0, 3, 4])
def test_batched_cell_matches_reference_trained_alone(batch, data, i):
    ref = train_reference(TINY, CELLS[i], int(SEEDS[i]), data)
    got = metrics_of(batch, i)
    losses, accs = [0, 2, 4], [1, 3, 5]
    np.testing.assert_allclose(got[:, losses], ref[:, losses], rtol=1e-3, atol=1e-4)
    # Float-rounding noise (summation order) can move an example whose top two logits are
    # nearly tied: allow at most 3 of the 256 examples to flip.
    assert np.abs(got[:, accs] - ref[:, accs]).max() <= 3 / 256 + 1e-6


@pytest.mark.slow
def test_pool_reduction_matches_reference(data):
    """The "pool" reduction, batched among other cells, against the plain network."""
    result = train_cells(TINY_POOL, CELLS[[3, 1]], SEEDS[[3, 1]], data)
    for i, row in enumerate((3, 1)):
        ref = train_reference(TINY_POOL, CELLS[row], int(SEEDS[row]), data)
        got = metrics_of(result, i)
        np.testing.assert_allclose(got[:, [0, 2, 4]], ref[:, [0, 2, 4]], rtol=1e-3, atol=1e-4)
        assert np.abs(got[:, [1, 3, 5]] - ref[:, [1, 3, 5]]).max() <= 3 / 256 + 1e-6
    # Fewer parameters than the residual skeleton: no stride-2 conv pair.
    residual = train_cells(TINY, CELLS[[3]], SEEDS[[3]], data)
    assert result.params[0] < residual.params[0]


def test_result_shapes_and_ranges(batch):
    n, epochs = CELLS.shape[0], TINY.epochs
    for name in CURVES:
        assert batch.metrics[name].shape == (n, epochs)
        assert batch.metrics[name].dtype == np.float32
    for name in ("train_acc", "valid_acc", "test_acc"):
        assert ((batch.metrics[name] >= 0) & (batch.metrics[name] <= 1)).all()
    assert not batch.diverged.any()
    assert batch.seconds > 0 and batch.train_seconds.shape == (n,)
    np.testing.assert_allclose(batch.train_seconds.sum(), batch.cpu_seconds)
    # Same cell and seed inside one batch: identical rows. Same cell, other seed: not.
    np.testing.assert_array_equal(metrics_of(batch, 0), metrics_of(batch, 0))
    assert not np.array_equal(metrics_of(batch, 0), metrics_of(batch, 5))


def test_same_seeds_identical_and_cell_alone_equals_cell_in_batch(batch, data):
    again = train_cells(TINY, CELLS, SEEDS, data)
    for name in CURVES:
        np.testing.assert_array_equal(again.metrics[name], batch.metrics[name])
    alone = train_cells(TINY, CELLS[3:4], SEEDS[3:4], data)
    np.testing.assert_allclose(metrics_of(alone, 0), metrics_of(batch, 3), rtol=1e-4, atol=1e-5)


def test_test_split_once_after_the_last_epoch(batch, data):
    config = dataclasses.replace(TINY, test_every_epoch=False)
    once = train_cells(config, CELLS, SEEDS, data)
    np.testing.assert_array_equal(once.diverged, batch.diverged)
    for name in CURVES:
        if name.startswith("test"):
            assert np.isnan(once.metrics[name][:, :-1]).all()
            got, want = once.metrics[name][:, -1], batch.metrics[name][:, -1]
        else:
            got, want = once.metrics[name], batch.metrics[name]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_different_seeds_differ(batch, data):
    other = train_cells(TINY, CELLS, SEEDS + 10, data)
    for i in range(len(CELLS)):
        if i == 2:
            continue  # the zero cell's curve can coincide across seeds
        assert not np.array_equal(metrics_of(other, i), metrics_of(batch, i))


def test_divergence_is_flagged_and_isolated(batch, data):
    scale = np.ones(len(CELLS), np.float32)
    scale[4] = 1e9  # explodes this pair only
    result = train_cells(TINY, CELLS, SEEDS, data, lr_scale=scale)
    assert result.diverged.tolist() == [False, False, False, False, True, False]
    assert np.isnan(result.metrics["valid_acc"][4]).any()
    assert np.isnan(result.metrics["valid_acc"][4, -1])
    for i in (0, 1, 2, 3, 5):
        np.testing.assert_array_equal(metrics_of(result, i), metrics_of(batch, i))


def count_reference(config: TrainConfig, cell, input_shape, num_classes=10):
    """(params, FLOPs) counted from the layers the reference network actually runs."""
    import flax.linen as nn

    net = reference_network(cell, config, 10)
    x = np.zeros((1, *input_shape), np.float32)
    variables = net.init(jax.random.PRNGKey(0), x, None, False)
    params = sum(v.size for v in jax.tree_util.tree_leaves(variables["params"]))
    flops = 0

    inside = set()  # a conv subclass calling nn.Conv.__call__ is one layer, counted once

    def count(next_fun, args, kwargs, context):
        nonlocal flops
        key = id(context.module)
        if key in inside:
            return next_fun(*args, **kwargs)
        inside.add(key)
        try:
            out = next_fun(*args, **kwargs)
        finally:
            inside.discard(key)
        if isinstance(context.module, nn.Conv) and context.method_name == "__call__":
            kernel = context.module.variables["params"]["kernel"]
            flops += 2 * kernel.size * int(np.prod(out.shape[1:-1]))
        if isinstance(context.module, nn.Dense) and context.method_name == "__call__":
            flops += 2 * context.module.variables["params"]["kernel"].size
        return out

    with nn.intercept_methods(count):
        net.apply(variables, x, None, False)
    return params, flops


@pytest.mark.slow
@pytest.mark.parametrize(
    "preset", ["tiny", "cpu", "gpu", "tiny-pool", "gpu-residual", "cpu-residual"]
)
def test_cost_matches_direct_count(preset):
    name, _, reduction = preset.partition("-")
    config = get_preset(name)
    if reduction:
        config = dataclasses.replace(config, reduction=reduction)
    rng = np.random.default_rng(0)
    cells = np.concatenate([CELLS, rng.integers(0, 5, size=(14, 6))])
    for shape in [(40, 1), (8, 8, 1)]:
        for cell in cells:
            assert network_cost(config, cell, shape, 10) == count_reference(config, cell, shape)


@pytest.mark.slow
def test_sharded_over_two_host_devices_matches_one_device(batch):
    # The suite runs with two CPU devices (conftest); train the same pairs on one.
    if len(jax.local_devices()) != 2:
        pytest.skip("XLA_FLAGS set another CPU device count")
    code = (
        "import json, numpy as np, jax\n"
        "from nasbench_lite.datasets import load_dataset\n"
        "from nasbench_lite.train.trainer import train_cells, get_preset\n"
        "assert len(jax.local_devices()) == 1\n"
        f"cells = np.array({CELLS[:3].tolist()}); seeds = np.array({SEEDS[:3].tolist()})\n"
        "r = train_cells(get_preset('tiny'), cells, seeds, load_dataset('mnist1d'))\n"
        "print(json.dumps(r.metrics['valid_loss'].tolist()))\n"
    )
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=1")
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    single = np.array(json.loads(out.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(single, batch.metrics["valid_loss"][:3], rtol=1e-4, atol=1e-5)


def test_train_one_is_a_one_liner():
    final = train_one(
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|",
        seed=0,
        preset="tiny",
    )
    assert set(CURVES) <= set(final) and final["params"] > 0 and final["flops"] > 0
    assert 0 <= final["test_acc"] <= 1 and final["diverged"] is False


def test_bad_input_errors(data):
    with pytest.raises(ValueError, match=r"shape \(n, 6\)"):
        train_cells(TINY, np.zeros((2, 5), int), [0, 1], data)
    with pytest.raises(ValueError, match="op ids in 0..4"):
        train_cells(TINY, np.full((1, 6), 7), [0], data)
    with pytest.raises(ValueError, match="2 cells but 1 seeds"):
        train_cells(TINY, np.zeros((2, 6), int), [0], data)
    with pytest.raises(ValueError, match="at least one"):
        train_cells(TINY, np.zeros((0, 6), int), [], data)
    with pytest.raises(ValueError, match="batch_size 512 exceeds the 256"):
        train_cells(dataclasses.replace(TINY, batch_size=512), np.zeros((1, 6), int), [0], data)
    with pytest.raises(ValueError, match="unknown trainer preset 'huge'"):
        get_preset("huge")
    with pytest.raises(ValueError, match="reduction must be 'residual' or 'pool', got 'max'"):
        dataclasses.replace(TINY, reduction="max")
    with pytest.raises(ValueError, match="TrainConfig.epochs must be a positive int, got 0"):
        dataclasses.replace(TINY, epochs=0)
    with pytest.raises(ValueError, match="unknown TrainConfig field"):
        TrainConfig.from_dict({"channels": 4, "colour": "red"})


def test_config_round_trip():
    for config in PRESETS.values():
        assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


@pytest.mark.slow
def test_layouts_agree_and_pair_order_does_not_matter(data):
    """The grouped layout (each device loops over its cells, only chosen ops run) and the
    vmap layout (every op on every edge) train the same networks from the same keys; so
    does the grouped layout with the pairs shuffled (other groups, other devices)."""
    cells = np.repeat(CELLS[:5], 2, axis=0)
    seeds = np.tile([0, 1], 5)
    grouped = train_cells(TINY, cells, seeds, data)
    vmapped = train_cells(TINY, cells, seeds, data, layout="vmap")
    order = np.random.default_rng(0).permutation(len(cells))
    shuffled = train_cells(TINY, cells[order], seeds[order], data)
    for name in ("train_loss", "valid_loss", "test_loss"):
        np.testing.assert_allclose(grouped.metrics[name], vmapped.metrics[name], rtol=1e-3)
        np.testing.assert_allclose(
            shuffled.metrics[name], grouped.metrics[name][order], rtol=1e-4, atol=1e-6
        )
    for result in (grouped, vmapped, shuffled):
        np.testing.assert_allclose(result.train_seconds.sum(), result.cpu_seconds)
    with pytest.raises(ValueError, match="unknown trainer layout 'rows'"):
        train_cells(TINY, cells, seeds, data, layout="rows")
    with pytest.raises(ValueError, match=r"lr_scale must have shape \(10,\)"):
        train_cells(TINY, cells, seeds, data, lr_scale=[1.0])


def test_the_default_layout_is_grouped_on_a_cpu_and_vmap_on_an_accelerator(data, monkeypatch):
    """train_cells without a layout compiles the grouped program on a CPU and the vmap one
    on a GPU or TPU (measured on an H200: 6.9x more pairs a second, docs/throughput.md)."""
    import jax

    from nasbench_lite.train import trainer
    from nasbench_lite.train.layout import default_layout

    assert default_layout("cpu") == "grouped"
    assert default_layout("gpu") == default_layout("tpu") == "vmap"
    seen = []

    def compiled(config, num_classes, devices, layout, *rest):
        seen.append(layout)
        raise RuntimeError("stop before compiling")

    monkeypatch.setattr(trainer, "_compiled", compiled)
    for backend in ("cpu", "gpu", "tpu"):
        monkeypatch.setattr(jax, "default_backend", lambda b=backend: b)
        for layout in (None, "grouped", "vmap"):
            with pytest.raises(RuntimeError, match="stop before compiling"):
                train_cells(TINY, CELLS[:2], [0, 1], data, layout=layout)
    assert seen == ["grouped", "grouped", "vmap"] + ["vmap", "grouped", "vmap"] * 2


def test_balance_spreads_cost_over_devices():
    from nasbench_lite.train.layout import balance_groups

    costs = np.array([9.0, 1, 1, 1, 8, 1, 1, 2])
    slots = balance_groups(costs, 2)
    assert sorted(slots.tolist()) == list(range(8))  # every group once, 4 per device
    loads = [costs[slots[:4]].sum(), costs[slots[4:]].sum()]
    assert abs(loads[0] - loads[1]) <= 2
    padded = balance_groups(np.array([5.0, 3, 1]), 2)  # 3 groups on 2 devices: one pad slot
    assert len(padded) == 4 and sorted(set(padded.tolist())) == [0, 1, 2]
    assert np.bincount(padded).tolist() == [1, 1, 2]  # the cheapest group pads
