"""Plain single-cell network: the space's reference cell (only its active ops, Python
branches on a concrete cell) in the skeleton, with real ``flax.linen.Conv`` and
``flax.linen.avg_pool`` layers.

Used two ways: the tests train a cell with it alone and check the batched, masked trainer
gives the same numbers; the throughput benchmark uses it as the one-cell-at-a-time
baseline. Module names match the masked model's, so the same seed initialises the same
weights.
"""

from __future__ import annotations

import flax.linen as nn

from nasbench_lite.spaces import as_space
from nasbench_lite.spaces.network import Network, flax_conv, flax_pool


def reference_network(ops, config, num_classes: int, space="nb201") -> Network:
    """The network of ``config`` (a ``TrainConfig``) with the plain cell of ``ops`` (a cell
    of ``space``, a ``Space`` or its name)."""
    space = as_space(space)

    def cell_type(width: int, name: str) -> nn.Module:
        return space.reference_cell(ops, width, name=name)

    return Network.of_config(config, num_classes, cell_type, conv_type=flax_conv, pool=flax_pool)
