"""Analytical parameter and FLOP counts of the NB-201-style network (numpy only).

Counted: the weights of every convolution and of the classifier (batch norm is non-affine
and has none). FLOPs are 2 x multiply-adds of the convolutions and the classifier for ONE
example's forward pass, the convention of NB-201's cost tables; ReLU, norm, pooling and
additions are left out. A conv edge whose input node is identically zero is not built by a
plain implementation and is not counted; a conv edge whose output is never used is.
The tests check these formulas against the layers the reference network actually builds.
"""

from __future__ import annotations

import math

EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
CONV_KERNEL = {2: 1, 3: 3}  # op id -> kernel width of nor_conv_1x1 / nor_conv_3x3


def live_inputs(cell) -> list[bool]:
    """For each edge, whether its source node can be non-zero (ignoring edges' weights)."""
    live = [True, False, False, False]
    for e, (source, target) in enumerate(EDGES):
        if int(cell[e]) != 0 and live[source]:
            live[target] = True
    return [live[source] for source, _ in EDGES]


def _halve(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(-(-n // 2) for n in shape)  # stride 2 with SAME padding


def network_cost(config, cell, input_shape: tuple[int, ...], num_classes: int) -> tuple[int, int]:
    """(params, forward FLOPs per example) of the network for ``cell`` (6 op ids).

    input_shape: one example's shape without the batch axis, channels last, e.g. (40, 1).
    """
    *spatial, in_channels = input_shape
    spatial = tuple(spatial)
    taps3 = 3 ** len(spatial)
    params = flops = 0

    def conv(taps: int, c_in: int, c_out: int, positions: tuple[int, ...]) -> None:
        nonlocal params, flops
        params += taps * c_in * c_out
        flops += 2 * taps * c_in * c_out * math.prod(positions)

    conv(taps3, in_channels, config.channels, spatial)  # stem
    live = live_inputs(cell)
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
            for e in range(len(EDGES)):
                op = int(cell[e])
                if op in CONV_KERNEL and live[e]:
                    conv(CONV_KERNEL[op] ** len(spatial), width, width, spatial)
    params += width * num_classes + num_classes  # classifier weights and bias
    flops += 2 * width * num_classes
    return params, flops
