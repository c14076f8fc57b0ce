"""NB-201-style network skeleton (Dong & Yang, ICLR 2020) around a space's cell, in Flax linen.

Stem -> stages of cells with reduction blocks between them -> head. The cell comes from
the search space (``Space.network_cell``: for NB-201, ``nasbench_lite.spaces.nb201.network``),
so this module knows nothing of any space's ops. It provides the building blocks the
spaces' cells share: non-affine batch norm, SAME convolution as one matmul over gathered
taps, average pooling from shifted views, and ReLU -> conv -> norm.

Linen rather than NNX: parameters are plain pytrees, which ``vmap``/``lax.scan`` and optax
take as they are, with no split/merge of stateful objects inside the compiled program.

Inputs are channels-last: (batch, length, channels) for 1-D data, (batch, H, W, channels)
for images.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax.numpy as jnp
import numpy as np

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
    """Non-affine batch norm: no scale, no bias, so a zero input stays exactly zero."""
    return nn.BatchNorm(
        use_running_average=not train,
        use_bias=False,
        use_scale=False,
        momentum=BN_MOMENTUM,
        epsilon=BN_EPSILON,
        name=name,
    )


def mark_relu_input(module: nn.Module, x: jnp.ndarray, active=True) -> None:
    """Record a ReLU's input for the zero-cost proxies (nwot reads its binary code).

    ``sow`` into "intermediates" is a no-op unless that collection is mutable, so training
    pays nothing. ``active``: whether a plain network builds this ReLU (a traced bool; the
    masked cell computes every op, the plain one only the cell's own).
    """
    module.sow("intermediates", "relu_input", x)
    module.sow("intermediates", "relu_active", jnp.asarray(active, bool))


def mark_output(module: nn.Module, y: jnp.ndarray, fan_in) -> jnp.ndarray:
    """A convolution's (or the classifier's) output, marked for the Fisher proxy: the output,
    a zero "perturbations" entry ``out`` whose gradient is the gradient w.r.t. ``y``, and
    the layer's fan-in (weights per output channel; 0 for a layer a plain network would not
    build). Both are no-ops unless the proxies pass "perturbations" to ``apply`` and ask
    for "intermediates".
    """
    module.sow("intermediates", "output", y)
    module.sow("intermediates", "fan_in", jnp.asarray(fan_in, jnp.float32))
    return module.perturb("out", y)


def _shifted(x: jnp.ndarray, width: int, stride: int) -> list[jnp.ndarray]:
    """The ``width**d`` shifted views of ``x`` that a SAME-padded window reads, tap-major.

    x: (batch, *spatial, channels). Each view has shape (batch, *out, channels) where
    out = ceil(spatial / stride); taps are ordered row-major like a conv kernel's axes.
    """
    spatial = x.shape[1:-1]
    out = tuple(-(-n // stride) for n in spatial)
    pads = [max((o - 1) * stride + width - n, 0) for o, n in zip(out, spatial, strict=True)]
    padded = jnp.pad(x, [(0, 0)] + [(p // 2, p - p // 2) for p in pads] + [(0, 0)])
    views = []
    for taps in np.ndindex(*(width,) * len(spatial)):
        index = tuple(
            slice(t, t + (o - 1) * stride + 1, stride) for t, o in zip(taps, out, strict=True)
        )
        views.append(padded[(slice(None), *index)])
    return views


def avg_pool(x: jnp.ndarray, width: int, stride: int) -> jnp.ndarray:
    """SAME average pool with padding excluded from the count, from shifted views."""
    counts = sum(_shifted(jnp.ones((1, *x.shape[1:-1], 1), x.dtype), width, stride))
    return sum(_shifted(x, width, stride)) / counts


def conv_same(x: jnp.ndarray, kernel: jnp.ndarray, stride: int = 1) -> jnp.ndarray:
    """SAME cross-correlation of x (batch, *spatial, in) with kernel (*window, in, out).

    Written as one matmul over gathered taps (im2col): under ``vmap`` over cells a grouped
    convolution is slow on XLA:CPU, while this becomes a batched matmul.
    """
    views = _shifted(x, kernel.shape[0], stride)
    patches = views[0] if len(views) == 1 else jnp.concatenate(views, axis=-1)
    return patches @ kernel.reshape(-1, kernel.shape[-1])


class Kernel(nn.Module):
    """A conv kernel parameter named "kernel", initialised like ``flax.linen.Conv``'s."""

    shape: tuple[int, ...]

    @nn.compact
    def __call__(self) -> jnp.ndarray:
        return self.param("kernel", nn.initializers.lecun_normal(), self.shape)


class Conv(nn.Module):
    """Bias-free SAME convolution (``conv_same``) with a ``flax.linen.Conv``-style kernel."""

    features: int
    window: tuple[int, ...]  # kernel extent per spatial axis, e.g. (3,) or (3, 3)
    stride: int = 1

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        shape = (*self.window, x.shape[-1], self.features)
        kernel = self.param("kernel", nn.initializers.lecun_normal(), shape, x.dtype)
        return mark_output(self, conv_same(x, kernel, self.stride), np.prod(shape[:-1]))


class ReLUConvNorm(nn.Module):
    """ReLU -> bias-free conv (kernel ``kernel`` on every spatial axis) -> non-affine norm."""

    channels: int
    kernel: int
    stride: int = 1
    conv_type: Callable[..., nn.Module] = Conv  # (features, window, stride, name=...)

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
        window = (self.kernel,) * (x.ndim - 2)
        mark_relu_input(self, x)
        x = self.conv_type(self.channels, window, self.stride, name="conv")(nn.relu(x))
        return batch_norm(train, name="norm")(x)


class Reduction(nn.Module):
    """NB-201's residual reduction block: stride-2 conv pair plus pooled 1x1 shortcut."""

    channels: int
    conv_type: Callable[..., nn.Module] = Conv
    pool: Callable[..., jnp.ndarray] = avg_pool

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
        conv = self.conv_type
        y = ReLUConvNorm(self.channels, 3, stride=2, conv_type=conv, name="conv_a")(x, train)
        y = ReLUConvNorm(self.channels, 3, conv_type=conv, name="conv_b")(y, train)
        shortcut = conv(self.channels, (1,) * (x.ndim - 2), name="shortcut")(self.pool(x, 2, 2))
        return y + shortcut


class PoolReduction(nn.Module):
    """The residual block's shortcut alone: 2-wide stride-2 average pool, then a 1x1 conv.

    Halves the resolution and doubles the channels with no spatial convolution, so the
    network's only spatial processing outside the cells is the stem.
    """

    channels: int
    conv_type: Callable[..., nn.Module] = Conv
    pool: Callable[..., jnp.ndarray] = avg_pool

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
        del train  # no batch norm
        return self.conv_type(self.channels, (1,) * (x.ndim - 2), name="shortcut")(
            self.pool(x, 2, 2)
        )


REDUCTIONS = {"residual": Reduction, "pool": PoolReduction}


class Network(nn.Module):
    """Stem -> (cells, reduction) per stage -> norm/ReLU -> global average pool -> dense.

    Stage s has ``cells_per_stage`` cells of ``channels * 2**s`` channels; a reduction
    block (``reduction``: a key of ``REDUCTIONS``) halves the resolution and doubles the
    channels between stages. ``cell_type`` builds a cell (``cell_type(width, name=...)``,
    called as ``cell(x, cell_ops, train)``; a space's ``network_cell``),
    ``conv_type`` a bias-free conv and ``pool`` the shortcut's average pool, so the
    reference network can swap in plain Flax layers under the same parameter names.
    """

    channels: int
    cells_per_stage: int
    stages: int
    num_classes: int
    cell_type: Callable[..., nn.Module]
    reduction: str = "residual"
    conv_type: Callable[..., nn.Module] = Conv
    pool: Callable[..., jnp.ndarray] = avg_pool

    @classmethod
    def of_config(cls, config, num_classes: int, cell_type, **layers) -> Network:
        """The skeleton a trainer config describes (its channels, cells_per_stage, stages and
        reduction), with `cell_type` and any `layers` (conv_type, pool) given."""
        return cls(config.channels, config.cells_per_stage, config.stages, num_classes,
                   cell_type, reduction=config.reduction, **layers)  # fmt: skip

    @nn.compact
    def __call__(self, x: jnp.ndarray, cell: jnp.ndarray, train: bool) -> jnp.ndarray:
        spatial = x.ndim - 2
        x = self.conv_type(self.channels, (3,) * spatial, name="stem")(x)
        x = batch_norm(train, name="stem_norm")(x)
        for stage in range(self.stages):
            width = self.channels * 2**stage
            if stage > 0:
                block = REDUCTIONS[self.reduction]
                x = block(width, self.conv_type, self.pool, name=f"reduce_{stage}")(x, train)
            for k in range(self.cells_per_stage):
                x = self.cell_type(width, name=f"cell_{stage}_{k}")(x, cell, train)
        x = batch_norm(train, name="head_norm")(x)
        mark_relu_input(self, x)
        x = nn.relu(x)
        self.sow("intermediates", "features", x)  # before pooling: what the zen proxy reads
        x = x.mean(axis=tuple(range(1, 1 + spatial)))
        return mark_output(self, nn.Dense(self.num_classes, name="classifier")(x), x.shape[-1])


# Real Flax layers with the masked model's signatures: the plain reference cells use them.
class _MarkedConv(nn.Conv):
    """``flax.linen.Conv`` with its output marked for the Fisher proxy (``mark_output``)."""

    @nn.compact
    def __call__(self, inputs: jnp.ndarray) -> jnp.ndarray:
        fan_in = int(np.prod(self.kernel_size)) * inputs.shape[-1]
        return mark_output(self, super().__call__(inputs), fan_in)


def flax_conv(
    features: int, window: tuple[int, ...], stride: int = 1, name: str | None = None
) -> nn.Conv:
    """A real ``flax.linen.Conv`` with the masked model's conv signature and param names."""
    return _MarkedConv(features, window, strides=stride, padding="SAME", use_bias=False, name=name)


def flax_pool(x: jnp.ndarray, width: int, stride: int) -> jnp.ndarray:
    """``flax.linen.avg_pool`` with SAME padding left out of the count."""
    d = x.ndim - 2
    return nn.avg_pool(
        x, (width,) * d, strides=(stride,) * d, padding="SAME", count_include_pad=False
    )
