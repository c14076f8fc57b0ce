"""Analytical parameter and FLOP counts of the network skeleton plus the space's cells
(numpy only).

Counted: the weights of every convolution and of the classifier (batch norm is non-affine
and has none). FLOPs are 2 x multiply-adds of the convolutions and the classifier for ONE
example's forward pass, the convention of NB-201's cost tables; ReLU, norm, pooling and
additions are left out. The cells are counted by their space (``Space.cell_cost``; for
NB-201 a conv edge whose input node is identically zero is not built by a plain
implementation and is not counted). The tests check these formulas against the layers the
reference network actually builds.
"""

from __future__ import annotations

import math


def _halve(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(-(-n // 2) for n in shape)  # stride 2 with SAME padding


def network_cost(
    config, cell, input_shape: tuple[int, ...], num_classes: int, space="nb201"
) -> tuple[int, int]:
    """(params, forward FLOPs per example) of the network for ``cell`` (the space's op ids).

    input_shape: one example's shape without the batch axis, channels last, e.g. (40, 1).
    space: a ``Space`` or its name; it counts its cells (``Space.cell_cost``).
    """
    from nasbench_lite.spaces import as_space

    space = as_space(space)
    *spatial, in_channels = input_shape
    spatial = tuple(spatial)
    taps3 = 3 ** len(spatial)
    params = flops = 0

    def conv(taps: int, c_in: int, c_out: int, positions: tuple[int, ...]) -> None:
        nonlocal params, flops
        params += taps * c_in * c_out
        flops += 2 * taps * c_in * c_out * math.prod(positions)

    conv(taps3, in_channels, config.channels, spatial)  # stem
    width = config.channels
    for stage in range(config.stages):
        if stage > 0:
            wide, small = config.channels * 2**stage, _halve(spatial)
            if config.reduction == "residual":
                conv(taps3, width, wide, small)  # conv_a, stride 2
                conv(taps3, wide, wide, small)  # conv_b
            conv(1, width, wide, small)  # shortcut (the whole "pool" reduction)
            width, spatial = wide, small
        for _ in range(config.cells_per_stage):
            cell_params, cell_flops = space.cell_cost(cell, width, spatial)
            params, flops = params + cell_params, flops + cell_flops
    params += width * num_classes + num_classes  # classifier weights and bias
    flops += 2 * width * num_classes
    return params, flops
