"""The NB-201 cell as a network: the masked cell trained in batches, a plain reference
cell, and the cell's analytical cost (Dong & Yang, NAS-Bench-201, ICLR 2020).

The network skeleton around the cell (stem, reductions, head) is the space-independent
``nasbench_lite.spaces.network.Network``; a space hands it the cell through ``Space.network_cell``.
Importing this module imports Flax and JAX; ``NB201Space`` imports it only when a network
is asked for, so the space itself stays numpy-only.

The ops make the canonical-identity rules of the space (docs/space.md) hold exactly:

- ``none`` returns zeros; ``skip_connect`` returns its input unchanged;
- ``nor_conv_kxk`` is ReLU -> bias-free convolution -> non-affine batch norm, so an all-zero
  input gives an all-zero output (ReLU(0)=0, conv(0)=0, (0-0)/sqrt(0+eps)=0);
- ``avg_pool_3x3`` is a parameter-free, linear 3-tap (3x3 for images) average with
  ``count_include_pad=False`` (the divisor depends on position only), so pool(0)=0 and
  pool(a+b)=pool(a)+pool(b);
- a node is the plain sum of its incoming edges.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from nasbench_lite.spaces.nb201.cells import EDGES, NUM_NODES, OPS
from nasbench_lite.spaces.network import (
    Kernel,
    ReLUConvNorm,
    avg_pool,
    batch_norm,
    conv_same,
    flax_conv,
    flax_pool,
    mark_output,
    mark_relu_input,
)

NONE, SKIP, CONV1, CONV3, POOL = range(len(OPS))


def avg_pool3(x: jnp.ndarray) -> jnp.ndarray:
    """3-wide average over every spatial axis, stride 1, padding excluded from the count.

    A sum of shifted views (not ``reduce_window``), which XLA runs fast under ``vmap`` on
    CPU. The divisor (taps inside the input) depends on position only: the op is linear.
    """
    return avg_pool(x, 3, 1)


class _OpKernel(nn.Module):
    """Scope ``<op name>/conv/kernel``, the parameter path a plain ReLUConvNorm would use."""

    shape: tuple[int, ...]

    @nn.compact
    def __call__(self) -> jnp.ndarray:
        return Kernel(self.shape, name="conv")()


def edge_kernels(x: jnp.ndarray, channels: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The 1x1 and 3x3 kernels of one edge, ``(*window, in, channels)``, created in the calling
    module at ``nor_conv_1x1/conv/kernel`` and ``nor_conv_3x3/conv/kernel``. Call it inside
    a compact ``__call__`` (``Edge`` and the supernet's mixed edge share these parameters)."""
    spatial = x.ndim - 2
    io = (x.shape[-1], channels)
    k1 = _OpKernel((1,) * spatial + io, name="nor_conv_1x1")()
    k3 = _OpKernel((3,) * spatial + io, name="nor_conv_3x3")()
    return k1, k3


# The five ops of an edge, in OPS order, as functions of (x, k1, k3), before the conv's norm:
# only a conv's output is then normalised (see Edge).
BRANCHES = (
    lambda x, k1, k3: jnp.zeros_like(x),
    lambda x, k1, k3: x,
    lambda x, k1, k3: conv_same(nn.relu(x), k1),
    lambda x, k1, k3: conv_same(nn.relu(x), k3),
    lambda x, k1, k3: avg_pool3(x),
)


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
        k1, k3 = edge_kernels(x, self.channels)
        norm = batch_norm(train, name="norm")
        is_conv = (op == CONV1) | (op == CONV3)
        # Kernel taps of the conv a plain cell builds here: none for another op, or when
        # the input node is identically zero (the ops keep a dead node exactly zero). The
        # zero-cost proxies read it; training never asks for "intermediates".
        taps = jnp.where(op == CONV3, 3**spatial, 1) * (is_conv & jnp.any(x != 0))
        self.sow("intermediates", "taps", taps)
        mark_relu_input(self, x, taps > 0)
        fan_in = taps * x.shape[-1]
        if self.branch:
            # Branch outputs before the norm; only a conv's output is normalised (the norm
            # of another op's output is computed but never selected, and its running
            # statistics are never read, since an edge's op is fixed for a cell).
            raw = mark_output(self, jax.lax.switch(jnp.clip(op, 0, POOL), BRANCHES, x, k1, k3),
                              fan_in)  # fmt: skip
            return jnp.where(is_conv, norm(raw), raw)
        centred = jnp.pad(k1, [(1, 1)] * spatial + [(0, 0), (0, 0)])
        kernel = jnp.where(op == CONV3, k3, centred)
        conv = norm(mark_output(self, conv_same(nn.relu(x), kernel), fan_in))
        choices = [op == SKIP, is_conv, op == POOL]
        return jnp.select(choices, [x, conv, avg_pool3(x)], jnp.zeros_like(x))


class MaskedCell(nn.Module):
    """The NB-201 cell: node j = sum over i<j of edge(i, j)(node i); node 3 is the output.

    The cell is a (6,) int array of op ids in the edge order of ``EDGES``, a traced value:
    one compiled program trains a batch of different cells.
    """

    channels: int
    branch: bool = True  # see Edge

    @nn.compact
    def __call__(self, x: jnp.ndarray, cell: jnp.ndarray, train: bool) -> jnp.ndarray:
        return wire_cell(
            x, lambda e, h: Edge(self.channels, self.branch, name=f"edge_{e}")(h, cell[e], train)
        )


def wire_cell(x: jnp.ndarray, apply_edge) -> jnp.ndarray:
    """The NB-201 DAG: node j = sum over i<j of ``apply_edge(e, node i)`` for the edges e of
    ``EDGES`` into j; returns the output node. Shared by every form of the cell (masked,
    mixed, hard), so they wire their edges, and name their parameters, the same way."""
    nodes = [x]
    for target in range(1, NUM_NODES):
        total = jnp.zeros_like(x)
        for e, (source, dest) in enumerate(EDGES):
            if dest == target:
                total = total + apply_edge(e, nodes[source])
        nodes.append(total)
    return nodes[-1]


class ReferenceCell(nn.Module):
    """A plain cell that builds only the active ops of ``ops`` (6 op ids), with Python
    branches on the concrete ops and real ``flax.linen.Conv`` / ``avg_pool`` layers.

    Written independently of ``MaskedCell``: the tests train a cell with it and check the
    batched, masked trainer gives the same numbers. Module names match the masked cell's,
    so the same seed initialises the same weights.
    """

    channels: int
    ops: tuple[int, ...]

    @nn.compact
    def __call__(self, x: jnp.ndarray, cell: object, train: bool) -> jnp.ndarray:
        del cell  # the ops are fixed at construction; the traced cell is not used
        nodes = [x] + [None] * (NUM_NODES - 1)  # None: a node that is exactly zero
        for e, (source, target) in enumerate(EDGES):
            op, inp = OPS[self.ops[e]], nodes[source]
            if op == "none" or inp is None:
                continue
            if op == "skip_connect":
                out = inp
            elif op == "avg_pool_3x3":
                out = flax_pool(inp, 3, 1)
            else:
                out = _ConvEdge(self.channels, op, flax_conv, name=f"edge_{e}")(inp, train)
            nodes[target] = out if nodes[target] is None else nodes[target] + out
        return jnp.zeros_like(x) if nodes[-1] is None else nodes[-1]


class _ConvEdge(nn.Module):
    """One conv edge, nested as ``edge_e/<op name>`` like the masked model's parameters."""

    channels: int
    op: str
    conv_type: object

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
        kernel = 1 if self.op == "nor_conv_1x1" else 3
        conv = ReLUConvNorm(self.channels, kernel, conv_type=self.conv_type, name=self.op)
        return conv(x, train)
