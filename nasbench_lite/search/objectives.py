"""Objectives and constraints as named metrics: what a multi-objective search optimises.

An objective is a metric a strategy is told (`Result`: valid_acc, params, flops,
train_seconds, a proxy score, later latency) and a direction, written "valid_acc:max" or
"params:min". A constraint is a metric, a comparison and a bound, written "params<=20000".
Syne Tune's blackboxes and Optuna's ``study.tell(trial, values=[...])`` treat objectives the
same way: names and directions as data, so a new objective needs no new code.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import HIDDEN_PREFIX

DIRECTIONS = ("max", "min")
COMPARISONS = {"<=": operator.le, ">=": operator.ge, "<": operator.lt, ">": operator.gt}
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|<|>)\s*(\S+)\s*$")


# Short names of metrics: "latency" is the latency of one input (`nasbench-lite latency`).
ALIASES = {"latency": "latency_b1"}


class Objective(NamedTuple):
    """One objective: a metric name and whether larger ("max") or smaller ("min") is better."""

    name: str
    direction: str = "max"

    def __str__(self) -> str:
        return f"{self.name}:{self.direction}"

    def loss(self, result: Mapping[str, Any]) -> float:
        """The metric of `result` as a value to minimise (a "max" objective negated); a missing
        or NaN value (a diverged training) is +inf, worse than every measured one."""
        value = result.get(self.name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return math.inf
        value = float(value)
        return -value if self.direction == "max" else value


class Constraint(NamedTuple):
    """A feasibility rule: metric `name` compared (`op`: <=, >=, < or >) with `bound`."""

    name: str
    op: str
    bound: float

    def __str__(self) -> str:
        # Every digit (plan.json compares it; the command line repeats it), shortest form.
        bound = self.bound
        shown = str(int(bound)) if float(bound).is_integer() and abs(bound) < 1e15 else repr(bound)
        return f"{self.name}{self.op}{shown}"

    def holds(self, values: np.ndarray) -> np.ndarray:
        """(n,) bool: which of `values` (n,) meet the rule (NaN never does)."""
        values = np.asarray(values, dtype=np.float64)
        return COMPARISONS[self.op](values, self.bound) & ~np.isnan(values)


def parse_objective(text: str) -> Objective:
    """ "NAME:max" or "NAME:min" (a bare NAME is maximised; "latency" names latency_b1);
    InputError for another form or a test metric, which no strategy may see."""
    if isinstance(text, Objective):
        return text
    name, _, direction = str(text).partition(":")
    name, direction = name.strip(), (direction.strip() or "max")
    if not name or direction not in DIRECTIONS:
        raise InputError(
            f"objective {text!r} is not NAME:max or NAME:min (e.g. valid_acc:max params:min)"
        )
    _check_visible(name, f"objective {text!r}")
    return Objective(ALIASES.get(name, name), direction)


def parse_constraint(text: str) -> Constraint:
    """ "NAME<=BOUND" (or >=, <, >); InputError for another form, a bound that is not a finite
    number, or a test metric."""
    if isinstance(text, Constraint):
        return text
    found = _CONSTRAINT.match(str(text))
    if found is None:
        raise InputError(
            f"constraint {text!r} is not NAME<=BOUND (or >=, <, >), e.g. params<=20000"
        )
    name, op, bound = found.groups()
    try:
        value = float(bound)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"constraint {text!r}: the bound {bound!r} is not a finite number")
    _check_visible(name, f"constraint {text!r}")
    return Constraint(ALIASES.get(name, name), op, value)


def parse_objectives(texts: Sequence[str]) -> tuple[Objective, ...]:
    """Objectives from their strings; InputError for none, a bad one, or one named twice."""
    objectives = tuple(parse_objective(t) for t in texts)
    if not objectives:
        raise InputError("objectives: give at least one, e.g. valid_acc:max params:min")
    names = [o.name for o in objectives]
    if len(set(names)) != len(names):
        raise InputError(f"objectives must name distinct metrics, got {names}")
    return objectives


def losses(result: Mapping[str, Any], objectives: Sequence[Objective]) -> tuple[float, ...]:
    """A result's objective values, each as a value to minimise (`Objective.loss`)."""
    return tuple(o.loss(result) for o in objectives)


def _check_visible(name: str, what: str) -> None:
    if name.startswith(HIDDEN_PREFIX):
        raise InputError(
            f"{what}: {name} is a test metric, which strategies never see; use its valid_ "
            f"counterpart (reports measure a valid_ objective on the test split)"
        )


# A strategy built without objectives optimises validation accuracy alone.
DEFAULT_OBJECTIVES = (Objective("valid_acc", "max"),)
