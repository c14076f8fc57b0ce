"""Search spaces: a small protocol and a registry of spaces by name.

Callers (trainer, table, surrogate, strategies) use only the `Space` protocol and
`get_space(name)`, so a second space (e.g. an NB-101-style node-labelled DAG) is added by
writing one module and registering it here, or from another package through the entry-point
group ``nasbench_lite.spaces`` (`nasbench_lite.plugins`); no caller changes. Numpy only:
importing this package never imports JAX.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from nasbench_lite import plugins
from nasbench_lite.errors import InputError

__all__ = ["Space", "as_space", "available_spaces", "get_space", "register_space"]


@runtime_checkable
class Space(Protocol):
    """What every search space provides. Cells are fixed-shape int arrays; each cell also
    has a raw index 0..num_cells-1, and cells computing the same function share a class id
    0..num_unique-1. "cell" arguments accept a raw index, a cell array or the space's
    string form. Random methods take an explicit `np.random.Generator`.
    """

    name: str
    num_cells: int
    ops: tuple[str, ...]  # op names, in op-id order
    num_ops: int
    num_edges: int  # length of a cell array

    @property
    def num_unique(self) -> int: ...
    @property
    def canonical_ids(self) -> np.ndarray: ...  # (num_cells,) int64
    @property
    def representatives(self) -> np.ndarray: ...  # (num_unique,) int64 raw indices

    def cell(self, raw: Any) -> np.ndarray: ...
    def cells(self, raws: Any) -> np.ndarray: ...
    def index(self, cell: Any) -> int: ...
    def indices(self, cells: Any) -> np.ndarray: ...
    def parse(self, text: str) -> np.ndarray: ...
    def format(self, cell_or_raw: Any) -> str: ...
    def to_raw(self, value: Any) -> int: ...
    def canonical(self, raw: Any) -> int: ...
    def class_members(self, class_id: Any) -> np.ndarray: ...
    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray: ...
    def sample_classes(
        self, rng: np.random.Generator, n: int, replace: bool = False
    ) -> np.ndarray: ...
    def mutate(self, rng: np.random.Generator, raw: Any) -> int: ...
    def neighbours(self, raw: Any) -> np.ndarray: ...
    def onehot(self, raws: Any) -> np.ndarray: ...
    def path_encoding(self, raws: Any) -> np.ndarray: ...
    def summary(self) -> dict[str, Any]: ...

    # The network of a cell; these import Flax (the rest of the protocol is numpy only).
    def network_cell(self, channels: int, *, branch: bool = True, name: str | None = None):
        """The Flax module of one cell of ``channels`` channels: ``module(x, cell, train)``
        with the cell a traced (num_edges,) int array (op choice as data). ``branch``:
        run only each edge's chosen op (see ``spaces.nb201.network.Edge``)."""

    def reference_cell(self, cell: Any, channels: int, *, name: str | None = None):
        """A plain Flax module of one fixed cell (only its active ops), parameter names as
        in ``network_cell``: the tests' independent check of the masked cell."""

    def cell_cost(self, cell: Any, channels: int, spatial: tuple[int, ...]) -> tuple[int, int]:
        """(params, forward FLOPs per example) of one cell at that width and spatial size."""


# name -> "module:factory" (imported on first use) or a zero-argument callable.
_FACTORIES: dict[str, str | Callable[[], Space]] = {
    "nb201": "nasbench_lite.spaces.nb201:NB201Space",
}
# One instance per name, so the class tables a space caches are computed once per process.
_INSTANCES: dict[str, Space] = {}


def available_spaces() -> list[str]:
    """Space names: those registered in code, sorted, then the plug-ins' (entry-point group
    ``nasbench_lite.spaces``), sorted."""
    return [*sorted(_FACTORIES), *_plugins()]


def _plugins() -> dict[str, Any]:
    return plugins.entry_points_beside(plugins.SPACES, _FACTORIES, "space")


def register_space(name: str, factory: str | Callable[[], Space]) -> None:
    """Register a space under `name`: a "module:attribute" path or a zero-argument factory.
    A plug-in of the same name is then ignored (code-registered spaces win)."""
    if not isinstance(name, str) or not name:
        raise InputError(f"space name {name!r} is not a non-empty string")
    if name in _FACTORIES:
        raise InputError(f"space {name!r} is already registered")
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def as_space(space: Space | str) -> Space:
    """`space` itself, or the registered space of that name."""
    return get_space(space) if isinstance(space, str) else space


def get_space(name: str = "nb201") -> Space:
    """The space registered as `name`, in code or by a plug-in (the same object on every call).

    Raises InputError for an unknown name (listing the available ones), a plug-in that fails
    to load, or one whose space is not named `name` (a table records the space's own name
    and is reopened by it).
    """
    if isinstance(name, str) and name in _INSTANCES:
        return _INSTANCES[name]
    if isinstance(name, str) and name in _FACTORIES:
        factory = _FACTORIES[name]
        space = (plugins.resolve(factory) if isinstance(factory, str) else factory)()
    else:
        found = _plugins() if isinstance(name, str) else {}
        if name not in found:
            raise InputError(
                f"unknown space {name!r}; available spaces: "
                f"{', '.join([*sorted(_FACTORIES), *found])}"
            )
        space = plugins.load(found[name], "space")()
        if getattr(space, "name", None) != name:
            raise InputError(
                f"space plug-in {name!r} ({found[name].value}) built a space named "
                f"{getattr(space, 'name', None)!r}; a space must carry the name it is "
                "registered by"
            )
    _INSTANCES[name] = space
    return space
