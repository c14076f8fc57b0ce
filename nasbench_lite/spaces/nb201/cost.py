"""Analytical cost of one NB-201 cell (numpy only; the network skeleton's is in
``nasbench_lite.train.cost``).

Counted: the weights of every convolution (batch norm is non-affine and has none); FLOPs
are 2 x multiply-adds for ONE example's forward pass, the convention of NB-201's cost
tables; ReLU, norm, pooling and additions are left out. A conv edge whose input node is
identically zero is not built by a plain implementation and is not counted; a conv edge
whose output is never used is.
"""

from __future__ import annotations

import math

from nasbench_lite.spaces.nb201.cells import EDGES, NUM_NODES, OPS

CONV_KERNEL = {OPS.index("nor_conv_1x1"): 1, OPS.index("nor_conv_3x3"): 3}  # op id -> width


def live_inputs(cell) -> list[bool]:
    """For each edge, whether its source node can be non-zero (ignoring edges' weights)."""
    live = [True] + [False] * (NUM_NODES - 1)
    for e, (source, target) in enumerate(EDGES):
        if int(cell[e]) != 0 and live[source]:
            live[target] = True
    return [live[source] for source, _ in EDGES]


def cell_cost(cell, channels: int, spatial: tuple[int, ...]) -> tuple[int, int]:
    """(params, forward FLOPs per example) of one cell (6 op ids) of ``channels`` channels
    at spatial size ``spatial`` (e.g. (40,) or (8, 8)): its live conv edges."""
    params = flops = 0
    for op, live in zip(cell, live_inputs(cell), strict=True):
        if int(op) in CONV_KERNEL and live:
            weights = CONV_KERNEL[int(op)] ** len(spatial) * channels * channels
            params += weights
            flops += 2 * weights * math.prod(spatial)
    return params, flops
