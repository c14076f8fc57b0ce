"""NB-201-style network (Dong & Yang, ICLR 2020) whose cell is chosen by data, in Flax linen.

Every edge holds all of its candidate ops and the cell's op ids select one output with
``jnp.select``, so a single compiled program trains a batch of *different* cells under
``jax.vmap``. Selection (not multiplication by a 0/1 mask) keeps the chosen output bit-exact
and stops a NaN in an unused branch from leaking into the cell.

The ops make the canonical-identity rules of ``nasbench_lite.spaces`` hold exactly:

- ``none`` returns zeros; ``skip_connect`` returns its input unchanged;
- ``nor_conv_kxk`` is ReLU -> bias-free convolution -> non-affine batch norm, so an all-zero
  input gives an all-zero output (ReLU(0)=0, conv(0)=0, (0-0)/sqrt(0+eps)=0);
- ``avg_pool_3x3`` is a parameter-free, linear 3-tap (3x3 for images) average with
  ``count_include_pad=False`` (the divisor depends on position only), so pool(0)=0 and
  pool(a+b)=pool(a)+pool(b);
- a node is the plain sum of its incoming edges.

Linen rather than NNX: parameters are plain pytrees, which ``vmap``/``lax.scan`` and optax
take as they are, with no split/merge of stateful objects inside the compiled program.

Inputs are channels-last: (batch, length, channels) for 1-D data, (batch, H, W, channels)
for images. The cell is a (6,) int array of op ids in the edge order of ``EDGES``.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

# Edge order shared with the space: (source, target) of edge e.
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NONE, SKIP, CONV1, CONV3, POOL = range(5)

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


def avg_pool3(x: jnp.ndarray) -> jnp.ndarray:
    """3-wide average over every spatial axis, stride 1, padding excluded from the count.

    A sum of shifted views (not ``reduce_window``), which XLA runs fast under ``vmap`` on
    CPU. The divisor (taps inside the input) depends on position only: the op is linear.
    """
    return avg_pool(x, 3, 1)


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
        return conv_same(x, kernel, self.stride)


class _OpKernel(nn.Module):
    """Scope ``<op name>/conv/kernel``, the parameter path a plain ReLUConvNorm would use."""

    shape: tuple[int, ...]

    @nn.compact
    def __call__(self) -> jnp.ndarray:
        return Kernel(self.shape, name="conv")()


class ReLUConvNorm(nn.Module):
    """ReLU -> bias-free conv (kernel ``kernel`` on every spatial axis) -> non-affine norm."""

    channels: int
    kernel: int
    stride: int = 1
    conv_type: Callable[..., nn.Module] = Conv  # (features, window, stride, name=...)

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
        window = (self.kernel,) * (x.ndim - 2)
        x = self.conv_type(self.channels, window, self.stride, name="conv")(nn.relu(x))
        return batch_norm(train, name="norm")(x)


class Edge(nn.Module):
    """All five candidate ops of one edge; ``op`` (a traced int) selects the output.

    ``branch=True`` runs only the chosen op (``lax.switch``): when the op id is the same for
    the whole computation (one cell per program, or several seeds of one cell under
    ``vmap``) the unchosen ops cost nothing. Under a ``vmap`` over *cells* the switch turns
    into a select over all five branches, so the batched-over-cells path uses
    ``branch=False``: both convs then share one ReLU -> conv -> norm pass, the 1x1 kernel
    embedded as the centre tap of a 3-wide kernel (zero taps add exact zeros), at half
    the cost of running both convs. Parameters live at ``nor_conv_1x1/conv/kernel`` and
    ``nor_conv_3x3/conv/kernel``, as in a plain network, so the same key initialises the
    same weights in both modes.
    """

    channels: int
    branch: bool = True

    @nn.compact
    def __call__(self, x: jnp.ndarray, op: jnp.ndarray, train: bool) -> jnp.ndarray:
        spatial = x.ndim - 2
        io = (x.shape[-1], self.channels)
        k1 = _OpKernel((1,) * spatial + io, name="nor_conv_1x1")()
        k3 = _OpKernel((3,) * spatial + io, name="nor_conv_3x3")()
        norm = batch_norm(train, name="norm")
        is_conv = (op == CONV1) | (op == CONV3)
        if self.branch:
            # Branch outputs before the norm; only a conv's output is normalised (the norm
            # of another op's output is computed but never selected, and its running
            # statistics are never read, since an edge's op is fixed for a cell).
            branches = [
                lambda x, k1, k3: jnp.zeros_like(x),
                lambda x, k1, k3: x,
                lambda x, k1, k3: conv_same(nn.relu(x), k1),
                lambda x, k1, k3: conv_same(nn.relu(x), k3),
                lambda x, k1, k3: avg_pool3(x),
            ]
            raw = jax.lax.switch(jnp.clip(op, 0, POOL), branches, x, k1, k3)
            return jnp.where(is_conv, norm(raw), raw)
        centred = jnp.pad(k1, [(1, 1)] * spatial + [(0, 0), (0, 0)])
        kernel = jnp.where(op == CONV3, k3, centred)
        conv = norm(conv_same(nn.relu(x), kernel))
        choices = [op == SKIP, is_conv, op == POOL]
        return jnp.select(choices, [x, conv, avg_pool3(x)], jnp.zeros_like(x))


class MaskedCell(nn.Module):
    """The NB-201 cell: node j = sum over i<j of edge(i, j)(node i); node 3 is the output."""

    channels: int
    branch: bool = True  # see Edge

    @nn.compact
    def __call__(self, x: jnp.ndarray, cell: jnp.ndarray, train: bool) -> jnp.ndarray:
        nodes = [x]
        for target in (1, 2, 3):
            total = jnp.zeros_like(x)
            for e, (source, dest) in enumerate(EDGES):
                if dest == target:
                    total = total + Edge(self.channels, self.branch, name=f"edge_{e}")(
                        nodes[source], cell[e], train
                    )
            nodes.append(total)
        return nodes[3]


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
    channels between stages. ``cell_type`` builds a cell (``cell_type(width, name=...)``),
    ``conv_type`` a bias-free conv and ``pool`` the shortcut's average pool, so the
    reference network can swap in plain Flax layers under the same parameter names.
    """

    channels: int
    cells_per_stage: int
    stages: int
    num_classes: int
    reduction: str = "residual"
    cell_type: Callable[..., nn.Module] = MaskedCell
    conv_type: Callable[..., nn.Module] = Conv
    pool: Callable[..., jnp.ndarray] = avg_pool

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
        x = nn.relu(batch_norm(train, name="head_norm")(x))
        x = x.mean(axis=tuple(range(1, 1 + spatial)))
        return nn.Dense(self.num_classes, name="classifier")(x)
