"""NB-201 cells as configurations: one categorical choice per edge, for hyperparameter tools.

An edge is named by NB-201's own key for it, "j<-i" (the edge from node i into node j, as in
the `edges` dict of NB-201's search cells), and its value is the op name. The six names, in
the space's edge order (the order of the cell array and of the string format):
"1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2". Numpy only; ConfigSpace is imported by
`configspace` alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.spaces.nb201.cells import EDGES, OPS, PLACE, cells_of

EDGE_NAMES: tuple[str, ...] = tuple(f"{j}<-{i}" for i, j in EDGES)
_OP_ID = {op: i for i, op in enumerate(OPS)}


def config_to_raw(config: Any) -> int:
    """Raw index of a configuration: a mapping (dict, ConfigSpace Configuration) from each of
    the six edge names to an op name. Raises InputError naming an unknown edge, a missing
    edge or an unknown op."""
    if not isinstance(config, Mapping):
        raise InputError(
            f"configuration {config!r} is a {type(config).__name__}, expected a mapping of "
            f"edge name -> op name with edges {', '.join(EDGE_NAMES)}"
        )
    unknown = [name for name in config if name not in EDGE_NAMES]
    if unknown:
        raise InputError(
            f"configuration has unknown edge {unknown[0]!r}; the edges are {', '.join(EDGE_NAMES)}"
        )
    missing = [name for name in EDGE_NAMES if name not in config]
    if missing:
        raise InputError(
            f"configuration is missing edge {', '.join(repr(m) for m in missing)}; "
            f"every one of {', '.join(EDGE_NAMES)} needs an op"
        )
    cell = np.empty(len(EDGE_NAMES), dtype=np.int64)
    for position, name in enumerate(EDGE_NAMES):
        op = config[name]
        if not isinstance(op, str) or op not in _OP_ID:
            raise InputError(
                f"configuration has unknown op {op!r} on edge {name!r}; ops: {', '.join(OPS)}"
            )
        cell[position] = _OP_ID[op]
    return int(cell @ PLACE)


def raw_to_config(raw: int) -> dict[str, str]:
    """The configuration of one raw index: {edge name: op name} in edge order."""
    cell = cells_of(raw)
    return {name: OPS[op] for name, op in zip(EDGE_NAMES, cell.tolist(), strict=True)}


def configspace(seed: int | None = None):
    """A `ConfigSpace.ConfigurationSpace` named "nb201" with one categorical hyperparameter
    per edge (`EDGE_NAMES`, choices `OPS` in op-id order; default "none"), seeded with
    `seed` for its own sampling. Raises MissingExtra without the `adapters` extra."""
    from nasbench_lite.extras import require

    require("adapters", "the ConfigSpace adapter", modules=("ConfigSpace",))
    import ConfigSpace

    hyperparameters = [
        ConfigSpace.CategoricalHyperparameter(name, choices=list(OPS)) for name in EDGE_NAMES
    ]
    return ConfigSpace.ConfigurationSpace(name="nb201", seed=seed, space=hyperparameters)
