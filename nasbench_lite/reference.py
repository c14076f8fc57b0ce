"""Plain single-cell NB-201 network: Python branches on a concrete cell, nothing masked.

Written independently of ``model.MaskedCell`` and used two ways: the tests train a cell
with it alone and check the batched, masked trainer gives the same numbers; the throughput
benchmark uses it as the one-cell-at-a-time baseline (it computes only the active ops).
Module names match the masked model's, so the same seed initialises the same weights.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp

from nasbench_lite.model import EDGES, Network, ReLUConvNorm

OP_NAMES = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")


def flax_conv(
    features: int, window: tuple[int, ...], stride: int = 1, name: str | None = None
) -> nn.Conv:
    """A real ``flax.linen.Conv`` with the masked model's conv signature and param names."""
    return nn.Conv(features, window, strides=stride, padding="SAME", use_bias=False, name=name)


def flax_pool(x: jnp.ndarray, width: int, stride: int) -> jnp.ndarray:
    """``flax.linen.avg_pool`` with SAME padding left out of the count."""
    d = x.ndim - 2
    return nn.avg_pool(
        x, (width,) * d, strides=(stride,) * d, padding="SAME", count_include_pad=False
    )


class ReferenceCell(nn.Module):
    """Builds only the active ops of ``ops`` (a tuple of 6 op names or ids)."""

    channels: int
    ops: tuple

    @nn.compact
    def __call__(self, x: jnp.ndarray, cell: object, train: bool) -> jnp.ndarray:
        del cell  # the ops are fixed at construction; the traced cell is not used
        nodes = [x, None, None, None]  # None: a node that is exactly zero
        for e, (source, target) in enumerate(EDGES):
            op = self.ops[e] if isinstance(self.ops[e], str) else OP_NAMES[self.ops[e]]
            inp = nodes[source]
            if op == "none" or inp is None:
                continue
            if op == "skip_connect":
                out = inp
            elif op == "avg_pool_3x3":
                out = flax_pool(inp, 3, 1)
            else:
                out = _ConvEdge(self.channels, op, name=f"edge_{e}")(inp, train)
            nodes[target] = out if nodes[target] is None else nodes[target] + out
        return jnp.zeros_like(x) if nodes[3] is None else nodes[3]


class _ConvEdge(nn.Module):
    """One conv edge, nested as ``edge_e/<op name>`` like the masked model's parameters."""

    channels: int
    op: str

    @nn.compact
    def __call__(self, x: jnp.ndarray, train: bool) -> jnp.ndarray:
        kernel = 1 if self.op == "nor_conv_1x1" else 3
        return ReLUConvNorm(self.channels, kernel, conv_type=flax_conv, name=self.op)(x, train)


def reference_network(ops, config, num_classes: int) -> Network:
    """The network of ``config`` (a ``TrainConfig``) with a plain cell fixed to ``ops``."""

    fixed = tuple(int(o) for o in ops)

    def cell_type(width: int, name: str) -> ReferenceCell:
        return ReferenceCell(width, fixed, name=name)

    return Network(
        config.channels,
        config.cells_per_stage,
        config.stages,
        num_classes,
        reduction=config.reduction,
        cell_type=cell_type,
        conv_type=flax_conv,
        pool=flax_pool,
    )
