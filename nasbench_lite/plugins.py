"""Plug-in points: the one resolver of "module:attribute" strings and the entry-point groups
through which another package adds a strategy, a space, a backend or a dataset.

A group maps names to "module:attribute" values (importlib.metadata, as pytest and Flake8 find
their plug-ins). Our own spaces, backends and datasets are registered in code; a plug-in
whose name clashes with one of them is left out with a warning naming its distribution.
Nothing is cached: a package put on sys.path at run time shows up on the next call.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from nasbench_lite.errors import InputError
from nasbench_lite.extras import MissingExtra

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

log = logging.getLogger(__name__)

# What each group registers (docs/design.md#plug-ins).
STRATEGIES = "nasbench_lite.strategies"  # name -> strategy class
STRATEGY_FAMILIES = "nasbench_lite.strategy_families"  # family -> function(argument) -> class
SPACES = "nasbench_lite.spaces"  # name -> zero-argument Space factory (or class)
BACKENDS = "nasbench_lite.backends"  # name -> nasbench_lite.backends.BackendEntry
DATASETS = "nasbench_lite.datasets"  # name -> loader(data_dir) -> nasbench_lite.datasets.Dataset

_warned: set[tuple[str, str, str]] = set()  # (group, name, value): clashes logged once


class _Unresolved(Exception):
    """Why a module or attribute could not be found (joined into an InputError's message)."""


def resolve(target: str) -> Any:
    """The object that `target`, "module:attribute" (the attribute may be dotted), names.

    Raises InputError naming `target` when it is not of that form, its module cannot be
    imported, or the module lacks the attribute; `MissingExtra` (a missing optional
    dependency) passes through as it is. Other errors raised by the module's own code pass
    through too, with their traceback.
    """
    module, sep, attr = target.partition(":") if isinstance(target, str) else ("", "", "")
    if not (sep and module.strip() and attr.strip()):
        raise InputError(f"{target!r} is not a 'module:attribute' string")
    try:
        return _lookup(module.strip(), attr.strip())
    except _Unresolved as err:
        raise InputError(f"cannot resolve {target!r}: {err}") from err.__cause__


def _lookup(module_name: str, attr: str | None) -> Any:
    """The module, or its (dotted) attribute `attr`; an entry point without one names the
    module itself."""
    try:
        obj = importlib.import_module(module_name)
    except MissingExtra:
        raise
    except ImportError as err:
        raise _Unresolved(
            f"cannot import module {module_name!r} ({type(err).__name__}: {err})"
        ) from err
    for part in attr.split(".") if attr else ():
        if not hasattr(obj, part):
            raise _Unresolved(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return obj


def entry_points(group: str) -> dict[str, EntryPoint]:
    """The entry points registered under `group`, by name (the first one of a name wins, in
    sys.path order). Not cached."""
    import importlib.metadata

    found: dict[str, EntryPoint] = {}
    for entry in importlib.metadata.entry_points(group=group):
        found.setdefault(entry.name, entry)
    return found


def entry_points_beside(group: str, builtins: Collection[str], kind: str) -> dict[str, EntryPoint]:
    """The entry points of `group` beside the `builtins` names, sorted by name. A plug-in that
    takes a built-in name is left out: the built-in wins, with a warning (once per process)
    naming the plug-in's distribution. kind: what the group registers, e.g. "space"."""
    found = {}
    for name, entry in sorted(entry_points(group).items()):
        if name not in builtins:
            found[name] = entry
        elif (group, name, entry.value) not in _warned:
            _warned.add((group, name, entry.value))
            log.warning(
                "ignoring the %s plug-in %r (%s) of %s: a %s of that name is built in",
                kind,
                name,
                entry.value,
                distribution(entry),
                kind,
            )
    return found


def load(entry: EntryPoint, kind: str) -> Any:
    """The object a plug-in's entry point names. A plug-in is someone else's code: any error
    while importing it becomes an InputError naming the plug-in, its value and distribution
    (`MissingExtra` passes through, as in `resolve`). kind: what it registers, e.g. "space"."""
    try:
        return _lookup(entry.module, entry.attr)
    except MissingExtra:
        raise
    except Exception as err:  # anything a plug-in's module raises, reported by name
        unresolved = isinstance(err, _Unresolved)
        detail = str(err) if unresolved else f"{type(err).__name__}: {err}"
        raise InputError(
            f"{kind} {entry.name!r} is registered as {entry.value!r} but failed to load: "
            f"{detail}; registered by {distribution(entry)}"
        ) from (err.__cause__ if unresolved else err)


def distribution(entry: EntryPoint) -> str:
    """The "name version" of the distribution that registers `entry`."""
    dist = getattr(entry, "dist", None)
    if dist is None:
        return "an unknown distribution"
    return f"{dist.metadata['Name'] or 'unknown'} {dist.version}"
