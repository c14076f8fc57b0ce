"""The strategy registry: the `nasbench_lite.strategies` entry points and strategy families."""

from __future__ import annotations

import re
from typing import Any

from nasbench_lite import plugins
from nasbench_lite.errors import InputError
from nasbench_lite.extras import MissingExtra

GROUP = plugins.STRATEGIES

FAMILIES = plugins.STRATEGY_FAMILIES  # "family:argument" names (get_strategy)

DISTRIBUTION = "nasbench-lite"  # the distribution that registers our own strategies


def available_strategies() -> list[str]:
    """Sorted names registered under the entry-point group ``nasbench_lite.strategies``."""
    return sorted(plugins.entry_points(GROUP))


def from_other_packages(names: list[str]) -> dict[str, str]:
    """Of the registered `names`, those whose entry point comes from a distribution other
    than nasbench-lite: name -> "distribution version" (names not registered are left out)."""
    entries = plugins.entry_points(GROUP)
    found = {}
    for name in names:
        dist = getattr(entries.get(name), "dist", None)
        if dist is None:
            continue
        dist_name = dist.metadata["Name"] or "unknown"
        if _normalised(dist_name) != _normalised(DISTRIBUTION):
            found[name] = f"{dist_name} {dist.version}"
    return found


def _normalised(dist_name: str) -> str:
    return re.sub(r"[-_.]+", "-", dist_name).lower()


def get_strategy(name_or_class: str | type) -> type:
    """The strategy class registered as `name_or_class`, or the class itself if one is given.

    Raises ValueError for an unknown name (listing the registered ones) or an entry point that
    fails to import, TypeError for something that is not a strategy class.
    """
    if isinstance(name_or_class, type):
        return _checked(name_or_class, name_or_class.__name__)
    if not isinstance(name_or_class, str):
        raise TypeError(
            f"strategy must be a registered name or a strategy class, "
            f"got {type(name_or_class).__name__} {name_or_class!r}"
        )
    entries = plugins.entry_points(GROUP)
    if name_or_class.endswith("]") and "[" in name_or_class and name_or_class not in entries:
        return _with_params(name_or_class)
    if ":" in name_or_class and name_or_class not in entries:
        return _from_family(name_or_class)
    if name_or_class not in entries:
        raise InputError(
            f"unknown strategy {name_or_class!r}; available: {', '.join(sorted(entries))}"
        )
    entry = entries[name_or_class]
    try:
        cls = plugins.load(entry, "strategy")
    except MissingExtra as err:  # fails to load like any other (a default comparison skips it)
        raise InputError(
            f"strategy {name_or_class!r} is registered as {entry.value!r} but failed to load: "
            f"MissingExtra: {err}"
        ) from err
    return _checked(cls, f"{name_or_class!r} ({entry.value})")


def _with_params(name: str) -> type:
    """The class of "strategy[key=value, ...]": a subclass of the strategy's whose
    constructor defaults to those values (Python literals), named by the whole string, so
    one comparison can hold a strategy at several settings (the report's label)."""
    import ast
    import inspect

    base_name, _, rest = name.partition("[")
    base = get_strategy(base_name.strip())
    params: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in rest[:-1].split(","))):
        key, eq, value = item.partition("=")
        try:
            params[key.strip()] = ast.literal_eval(value.strip()) if eq else None
        except (ValueError, SyntaxError):
            params[key.strip()] = value.strip() if eq else None  # a bare word: a string
        if not eq or not key.strip().isidentifier():
            raise InputError(f"strategy {name!r}: parameters go as [key=value, ...], not {item!r}")
    accepted = inspect.signature(base.__init__).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    unknown = [key for key in params if key not in accepted or key in ("self", "space")]
    if unknown and not takes_any:
        names = [k for k in accepted if k not in ("self", "space")]
        raise InputError(
            f"strategy {name!r}: {base_name} takes no {unknown}; its parameters: {names}"
        )

    def __init__(self: Any, space: Any, **given: Any) -> None:
        base.__init__(self, space, **{**params, **given})

    return _checked(type(base.__name__, (base,), {"__init__": __init__, "name": name,
                                                 "__doc__": base.__doc__}), repr(name))  # fmt: skip


def _from_family(name: str) -> type:
    """The class of "family:argument", built by the family's registered function."""
    family, _, argument = name.partition(":")
    found = plugins.entry_points(FAMILIES)
    if family not in found:
        raise InputError(
            f"unknown strategy {name!r}: no strategy family {family!r}; families: "
            f"{', '.join(sorted(found)) or 'none registered'}"
        )
    entry = found[family]
    make = plugins.load(entry, "strategy family")
    try:
        cls = make(argument)
    except (InputError, MissingExtra):
        raise
    except Exception as err:  # any failure of a plugin, reported by name
        raise InputError(
            f"strategy {name!r} of family {family!r} ({entry.value}) failed to load: "
            f"{type(err).__name__}: {err}"
        ) from err
    return _checked(cls, f"{name!r} ({entry.value})")


def make_strategy(strategy: str | type | Any, space: Any, **params: Any) -> Any:
    """A strategy instance for `space`: built from a registered name or a class with `params`,
    or an instance returned as it is (it already holds its parameters, so `params` must be
    empty)."""
    if isinstance(strategy, (str, type)):
        return get_strategy(strategy)(space, **params)
    if missing := _lacks(strategy):
        raise TypeError(f"{strategy!r} is not a strategy: lacks {', '.join(missing)}")
    if params:
        raise InputError(
            f"parameters {sorted(params)} given with an already built {type(strategy).__name__}; "
            "pass the class or its registered name instead"
        )
    return strategy


def _lacks(obj: Any) -> list[str]:
    missing = [m for m in ("init", "ask", "tell") if not callable(getattr(obj, m, None))]
    if not isinstance(getattr(obj, "name", None), str):
        missing.append("name (a str attribute)")
    return missing


def _checked(cls: Any, origin: str) -> type:
    if not isinstance(cls, type):
        raise TypeError(f"strategy {origin} is {cls!r}, not a class")
    if missing := _lacks(cls):
        raise TypeError(f"strategy {origin} is not a strategy class: lacks {', '.join(missing)}")
    return cls
