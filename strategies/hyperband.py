"""Hyperband, Li, Jamieson, DeSalvo, Rostamizadeh & Talwalkar, "Hyperband: A Novel
Bandit-Based Approach to Hyperparameter Optimization" (JMLR 2018), with brackets laid out as
in HpBandSter (Falkner et al.'s reference code):

- ``max_SH_iter = -int(log(min_epochs / max_epochs) / log(eta)) + 1`` rungs, budgets
  ``max_epochs * eta ** -k`` for k = max_SH_iter - 1 .. 0, rounded to whole epochs;
- bracket i has ``s = max_SH_iter - 1 - i % max_SH_iter`` halvings, starts
  ``n0 = floor(max_SH_iter / (s + 1)) * eta ** s`` cells at its lowest budget and keeps
  ``max(int(n0 * eta ** -k), 1)`` at its k-th rung;
- defaults eta = 3, min_epochs = 1, max_epochs = the benchmark's schedule.

Successive halving promotes the cells with the best validation accuracy at a rung and
*continues* their training runs to the next rung's epochs (`Ask(resume=True)`), so a
promoted cell pays only for the epochs it adds. With several workers, when every open
bracket waits for results a new bracket is opened (as HpBandSter's master does), so no worker
idles. New cells come from `sample` (uniform here; BOHB overrides it with its model) and are
never cells an open bracket already holds, so each training run belongs to one bracket.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int
from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Ask, Result, fitness


class Bracket(NamedTuple):
    epochs: tuple[int, ...]  # epochs of each rung, increasing
    sizes: tuple[int, ...]  # cells at each rung, decreasing
    rung: int  # current rung
    to_sample: int  # new cells still to draw (rung 0 only)
    todo: tuple[int, ...]  # promoted cells still to ask at this rung, best first
    running: tuple[int, ...]  # cells of this rung asked and not yet told
    told: tuple[tuple[float, int], ...]  # (validation accuracy, raw) told at this rung


MAX_REDRAWS = 64  # uniform redraws of a held cell before drawing from the free ones


def free_cell(space: Any, held: set[int], rng: np.random.Generator) -> int | None:
    """A uniform draw from the cells of `space` (its allowed ones, for a restricted space)
    outside `held`; None when there is none."""
    allowed = getattr(space, "allowed_raws", None)
    cells = np.arange(space.num_cells) if allowed is None else np.asarray(allowed)
    free = np.setdiff1d(cells, np.fromiter(held, np.int64, len(held)))
    return int(free[rng.integers(len(free))]) if len(free) else None


class HyperbandState(NamedTuple):
    iteration: int  # brackets opened so far
    brackets: tuple[Bracket, ...]  # open brackets, oldest first
    results: tuple[tuple[int, int, float], ...]  # every (raw, epochs, score) told


def rung_epochs(min_epochs: int, max_epochs: int, eta: float) -> tuple[int, ...]:
    """Whole-epoch budgets of the rungs, lowest first (HpBandSter's geometric grid)."""
    count = -int(math.log(min_epochs / max_epochs) / math.log(eta)) + 1
    grid = max_epochs * np.power(eta, -np.linspace(count - 1, 0, count))
    epochs = sorted({min(max_epochs, max(1, round(float(b)))) for b in grid})
    return tuple(epochs)


class Hyperband:
    """Hyperband over the benchmark's epochs: random cells, successive halving, resumed runs."""

    name = "hyperband"

    def __init__(
        self, space: Any, max_epochs: int = 8, min_epochs: int = 1, eta: float = 3.0
    ) -> None:
        for label, value in (("max_epochs", max_epochs), ("min_epochs", min_epochs)):
            check_int(f"{self.name}: {label}", value)
        if min_epochs > max_epochs:
            raise InputError(
                f"{self.name}: min_epochs {min_epochs} exceeds max_epochs {max_epochs}"
            )
        if not (isinstance(eta, (int, float)) and eta >= 2):
            raise InputError(f"{self.name}: eta must be a number >= 2, got {eta!r}")
        self.space, self.eta = space, float(eta)
        self.max_epochs, self.min_epochs = int(max_epochs), int(min_epochs)
        self.budgets = rung_epochs(self.min_epochs, self.max_epochs, self.eta)

    def init(self, rng: np.random.Generator) -> HyperbandState:
        return HyperbandState(0, (), ())

    def bracket(self, iteration: int) -> Bracket:
        """Bracket `iteration` (HpBandSter's `get_next_iteration`)."""
        levels = len(self.budgets)
        s = levels - 1 - iteration % levels
        n0 = int(math.floor(levels / (s + 1)) * self.eta**s)
        sizes = tuple(max(int(n0 * self.eta ** (-k)), 1) for k in range(s + 1))
        return Bracket(self.budgets[-s - 1 :], sizes, 0, sizes[0], (), (), ())

    def sample(self, state: HyperbandState, rng: np.random.Generator) -> int:
        """A new cell for a bracket's first rung: uniform over the space."""
        return int(self.space.sample(rng, 1)[0])

    def ask(
        self, state: HyperbandState, rng: np.random.Generator
    ) -> tuple[HyperbandState, Ask | None]:
        before = state
        brackets = list(state.brackets)
        open_ = [k for k, b in enumerate(brackets) if b.todo or b.to_sample]
        if open_:
            i = open_[0]
        else:  # every open bracket waits for results (or none is open): open the next one
            brackets.append(self.bracket(state.iteration))
            state = state._replace(iteration=state.iteration + 1)
            i = len(brackets) - 1
        b = brackets[i]
        if b.todo:
            raw, b = b.todo[0], b._replace(todo=b.todo[1:])
        else:
            held = {r for other in brackets for r in (*other.todo, *other.running)}
            held |= {r for other in brackets for _, r in other.told}
            raw = self.sample(state, rng)
            for _ in range(MAX_REDRAWS):  # one training run per bracket: never share a cell
                if raw not in held:
                    break
                raw = int(self.space.sample(rng, 1)[0])
            else:  # a small space (e.g. a partial table's classes) may have no cell left
                raw = free_cell(self.space, held, rng)
                if raw is None:
                    return before, None  # wait for results; with none running, the run ends
            b = b._replace(to_sample=b.to_sample - 1)
        brackets[i] = b._replace(running=b.running + (raw,))
        asked = Ask(raw, epochs=b.epochs[b.rung], resume=b.rung > 0)
        return state._replace(brackets=tuple(brackets)), asked

    def tell(self, state: HyperbandState, raw: Ask, result: Result) -> HyperbandState:
        valid_acc = result.valid_acc
        asked, score = raw, fitness(valid_acc)  # `raw` is the Ask that `ask` returned
        results = state.results + ((asked.raw, asked.epochs, score),)
        brackets = list(state.brackets)
        i = next(
            k for k, b in enumerate(brackets)
            if asked.raw in b.running and b.epochs[b.rung] == asked.epochs
        )  # fmt: skip
        b = brackets[i]
        running = list(b.running)
        running.remove(asked.raw)
        b = b._replace(running=tuple(running), told=b.told + ((score, asked.raw),))
        if len(b.told) == b.sizes[b.rung]:  # the rung is complete: promote or close
            if b.rung + 1 == len(b.sizes):
                del brackets[i]
                return state._replace(brackets=tuple(brackets), results=results)
            # Best validation accuracy first; ties keep the order told (a stable sort).
            ranked = sorted(b.told, key=lambda t: -t[0])
            keep = tuple(raw for _, raw in ranked[: b.sizes[b.rung + 1]])
            b = b._replace(rung=b.rung + 1, todo=keep, told=())
        brackets[i] = b
        return state._replace(brackets=tuple(brackets), results=results)
