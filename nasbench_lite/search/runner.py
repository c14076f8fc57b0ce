"""The search runner: a simulated clock, W asynchronous workers on an event queue, a budget.

As in Syne Tune's simulator, each evaluation occupies a worker for its cost in simulated
seconds; results come back in completion order from a heap, the strategy is told them one by
one, and every free worker asks for a new cell. The runner owns the budget; benchmark lookups
and strategies keep no counters. See docs/search.md for the full semantics.
"""

from __future__ import annotations

import inspect
import math
import os
import sys
import time
from heapq import heappop, heappush
from typing import Any

import numpy as np

from nasbench_lite.backends.base import BenchmarkContext, Request
from nasbench_lite.errors import InputError
from nasbench_lite.search.budget import Budget
from nasbench_lite.search.protocol import HIDDEN_PREFIX, Ask, Result, tell_function
from nasbench_lite.search.registry import make_strategy
from nasbench_lite.search.trajectory import Trajectory, trajectory_from_rows
from nasbench_lite.spaces.subspace import SubSpace


def run_search(
    strategy: Any,
    benchmark: Any,
    budget: str | float | Budget,
    seed: int,
    workers: int = 1,
    *,
    params: dict[str, Any] | None = None,
    charge_overhead: bool = False,
    data_dir: str | os.PathLike | None = None,
    objectives: tuple | None = None,
    constraints: tuple = (),
    sources: Any = None,
) -> Trajectory:
    """Run `strategy` (registered name, class, or instance) against `benchmark` until `budget`.

    A name or class is built for `benchmark.space` (for a partial table: the view restricted
    to the cells it answers), with whatever of `benchmark_context(benchmark)` its constructor
    takes and `params` does not set (`max_epochs=benchmark.epochs`; `train_config`,
    `dataset` and `data_dir`, for a strategy that trains on the benchmark's data); an
    instance must have been built for that space.

    seed: non-negative int; SeedSequence(seed) is split into the strategy's generator and the
    benchmark's (training-noise) generator. workers: concurrent evaluations. params: strategy
    constructor parameters. charge_overhead: advance the simulated clock by the measured
    ask/tell time (then trajectories are no longer bit-for-bit reproducible). data_dir: the
    directory holding the files of the benchmark's dataset (cifar10, mnist, fashion_mnist),
    for a strategy that trains on it. objectives, constraints: `search.objectives.Objective`
    and `Constraint` records, given to a strategy whose constructor takes `objectives` or
    `constraints` (a multi-objective one); the others optimise validation accuracy as ever.
    sources: the other tasks' validation results (`search.sources.SourceTasks`), given to a
    strategy whose constructor takes `sources` (a transfer one); never the benchmark's own.
    """
    budget = Budget.parse(budget)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise InputError(f"workers must be an int >= 1, got {workers!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative int, got {seed!r}")
    epochs = getattr(benchmark, "epochs", None)  # E, the full fidelity (None: not told)
    if budget.epochs is not None and epochs is None:
        raise InputError(f"budget {budget} counts epochs, but {benchmark!r} does not say them")
    context = benchmark_context(benchmark)
    told = {"objectives": tuple(objectives) if objectives else None,
            "constraints": tuple(constraints) or None, "sources": sources}  # fmt: skip
    given = _with_context(strategy, params, {**context.for_strategy(data_dir), **told})
    search = make_strategy(strategy, benchmark.space, **given)
    check_context = getattr(search, "check_context", None)
    if callable(check_context) and not isinstance(strategy, (str, type)):
        # An instance built beforehand, e.g. a supernet search for another table's data (one
        # built here takes the benchmark's, or what `params` chose on purpose).
        check_context(context)
    own_epochs = getattr(search, "max_epochs", None)
    if epochs is not None and own_epochs is not None and own_epochs != epochs:
        raise InputError(
            f"strategy {search.name!r} was built for max_epochs={own_epochs}, but the "
            f"benchmark trains {epochs} epochs; pass the strategy's class or registered name "
            f"so it is built for the benchmark's schedule"
        )
    own_space = getattr(search, "space", benchmark.space)
    if isinstance(benchmark.space, SubSpace) and own_space is not benchmark.space:
        # An instance built for the whole space would propose cells the benchmark lacks.
        raise InputError(
            f"strategy {search.name!r} was built for {own_space!r}, but the benchmark answers "
            f"only {benchmark.space!r}; pass the strategy's class or registered name so it is "
            f"built for the benchmark's space"
        )
    strategy_seq, benchmark_seq = np.random.SeedSequence(int(seed)).spawn(2)
    srng, brng = np.random.default_rng(strategy_seq), np.random.default_rng(benchmark_seq)
    max_seconds = math.inf if budget.seconds is None else float(budget.seconds)
    max_evals = sys.maxsize if budget.evals is None else budget.evals
    max_epochs = sys.maxsize if budget.epochs is None else budget.epochs
    requests = _Requests(search.name, benchmark, epochs)
    ask, tell, clock = search.ask, tell_function(search), time.perf_counter

    started = clock()
    state = search.init(srng)
    # Measured strategy seconds; work on source tasks inside init (a transfer strategy's
    # `source_seconds`) is not the search's own and is never charged, and a search computation
    # inside init (`init_search_seconds`: a supernet's data loading and compilation, never
    # charged, and its initialisation, charged with the first ask's search_seconds) is not
    # overhead. Both are read from the strategy object the runner holds: a wrapper around a
    # strategy must pass them on (and `check_context`) to keep them.
    uncharged = float(getattr(search, "source_seconds", 0.0))
    uncharged += float(getattr(search, "init_search_seconds", 0.0))
    spent = max(0.0, clock() - started - uncharged)
    now = spent if charge_overhead else 0.0  # simulated clock
    # (finish, start order, what was asked, its Request (None: plain), Evaluation)
    queue: list[tuple[float, int, Any, Any, Any]] = []
    num_started = running = epochs_started = 0
    rows: list[tuple] = []  # see `trajectory_from_rows`
    out_of_time = out_of_epochs = False

    while True:
        # Every free worker asks; the cells asked at one moment start together (one batch).
        batch = []  # (asked, request or None, search seconds)
        while (
            not out_of_epochs
            and running + len(batch) < workers
            and num_started + len(batch) < max_evals
        ):
            started = clock()
            state, asked = requests.unpack(ask(state, srng))
            elapsed = clock() - started
            spent += elapsed
            if asked is None:  # nothing to propose until a result comes back
                if charge_overhead:
                    now += elapsed
                break
            request, search_seconds = requests.make(asked)
            if charge_overhead:
                # The search computation inside this ask is charged as search_seconds:
                # only the rest of the ask's measured time is overhead.
                now += max(0.0, elapsed - search_seconds)
            cost = requests.epochs_of(request) + requests.search_epochs_of(asked)
            if epochs_started + cost > max_epochs:
                out_of_epochs = True  # this one would overspend: the budget is done
                break
            epochs_started += cost
            requests.started(asked)
            batch.append((asked, request, search_seconds))
        if batch:
            # The strategy computes serially: a cell asked after a search computation in the
            # same batch (e.g. a zero-cost pool's scoring) cannot start before it is done.
            searched = 0.0
            for item, result in zip(batch, requests.evaluate(batch, brng), strict=True):
                asked, request, search_seconds = item
                searched += search_seconds
                if not 0.0 < result.cost_seconds < math.inf:
                    raise InputError(
                        f"benchmark returned cost {result.cost_seconds!r} s for raw cell "
                        f"{requests.raw_of(asked)}; costs must be finite and > 0"
                    )
                finish = now + searched + result.cost_seconds
                heappush(queue, (finish, num_started, asked, request, result))
                num_started += 1
            running += len(batch)
        if not queue:
            break  # the strategy is finished, or every budgeted evaluation is done
        now = max(now, queue[0][0])
        # Tell every result that is back by `now`, earliest first (ties: started first).
        while queue and queue[0][0] <= now:
            if now > max_seconds:
                out_of_time = True
                break
            _, _, asked, request, result = heappop(queue)
            running -= 1
            told = told_result(result)
            started = clock()
            state = tell(state, asked, told)
            elapsed = clock() - started
            spent += elapsed
            epoch, trained = requests.finished(asked, request, result)
            rows.append(
                (now, requests.raw_of(asked), result.valid_acc, result.test_acc, spent, epoch,
                 trained)
            )  # fmt: skip
            if charge_overhead:
                now += elapsed
        if out_of_time:
            break

    run = {
        "strategy": search.name,
        "seed": int(seed),
        "workers": int(workers),
        "budget": budget,
        "charge_overhead": charge_overhead,
        "end_seconds": max_seconds if out_of_time else (rows[-1][0] if rows else 0.0),
        "strategy_done": not (out_of_time or out_of_epochs or queue) and num_started < max_evals,
        "source_seconds": float(getattr(search, "source_seconds", 0.0)),
    }
    return trajectory_from_rows(rows, benchmark, run)


def _with_context(strategy: Any, params: dict | None, context: dict[str, Any]) -> dict:
    """`params`, plus each entry of `context` (see `benchmark_context`) that the constructor
    of a strategy class (or name) takes and `params` leaves out; an instance gets none."""
    params = dict(params or {})
    if not isinstance(strategy, (str, type)):
        return params
    from nasbench_lite.search.registry import get_strategy

    cls = get_strategy(strategy)
    accepted = inspect.signature(cls.__init__).parameters
    for name, value in context.items():
        if value is not None and name in accepted and name not in params:
            params[name] = value
    dataset = params.get("dataset")
    if hasattr(dataset, "generator") and not getattr(cls, "takes_dataset_identity", False):
        params["dataset"] = dataset.name  # a strategy that has not said it reads the record
    return params


def benchmark_context(benchmark: Any) -> BenchmarkContext:
    """What the benchmark says about itself (`Benchmark.context`): its schedule's E, the
    trainer recipe and dataset behind its answers, its table and metrics. A backend without
    `context()` (one written before it existed) tells its `epochs` only.

    A weight-sharing strategy trains its supernet with the recipe and dataset, so it searches
    at the table's preset on the table's dataset with no options given."""
    context = getattr(benchmark, "context", None)
    if callable(context):
        return context()
    return BenchmarkContext(max_epochs=getattr(benchmark, "epochs", None))


def told_result(evaluation: Any) -> Result:
    """The `Result` a strategy is told of an `Evaluation`: its metrics but the test ones, with
    valid_acc, cost (its simulated seconds) and epoch."""
    metrics = getattr(evaluation, "metrics", None) or {}
    shown = {k: v for k, v in metrics.items() if not k.startswith(HIDDEN_PREFIX)}
    shown.update(
        valid_acc=evaluation.valid_acc,
        cost=evaluation.cost_seconds,
        epoch=getattr(evaluation, "epoch", None),
    )
    return Result(shown)


class _Requests:
    """What the runner does with a strategy's asks: checks them, turns them into the
    benchmark's requests, and remembers each cell's latest finished run for continuations."""

    def __init__(self, name: str, benchmark: Any, epochs: int | None) -> None:
        self.name, self.benchmark, self.epochs = name, benchmark, epochs
        self.num_cells = benchmark.space.num_cells
        self.runs: dict[int, tuple[Any, int]] = {}  # raw -> (run, epoch reached)
        self.in_flight: dict[int, int] = {}  # raw -> evaluations running

    def raw_of(self, asked: Any) -> int:
        return asked.raw if isinstance(asked, Ask) else asked

    def unpack(self, out: Any) -> tuple[Any, Any]:
        """`ask`'s return value as (state, asked); InputError naming the strategy when it is
        not a pair."""
        if not (isinstance(out, tuple) and len(out) == 2):
            raise InputError(f"strategy {self.name!r}: ask must return (state, raw cell, Ask or "
                             f"None), got {type(out).__name__} {str(out)[:60]}")  # fmt: skip
        return out

    def make(self, asked: Any) -> tuple[Any, float]:
        """(Request, or None for a plain full-schedule evaluation; search seconds)."""
        raw = self.raw_of(asked)
        if (
            isinstance(raw, bool)
            or not isinstance(raw, (int, np.integer))
            or not (0 <= raw < self.num_cells)
        ):
            kind = (
                ""
                if isinstance(raw, (int, np.integer))
                else f" (a {type(raw).__name__}, not an int)"
            )
            raise InputError(
                f"strategy {self.name!r} asked for raw cell {str(raw)[:60]}{kind}; a raw cell is "
                f"an int in 0..{self.num_cells - 1} (e.g. int(space.sample(rng, 1)[0]))"
            )
        if not isinstance(asked, Ask):
            return None, 0.0
        search_seconds = asked.search_seconds
        if not (isinstance(search_seconds, (int, float)) and 0 <= search_seconds < math.inf):
            raise InputError(
                f"strategy {self.name!r}: search_seconds must be finite and >= 0, got "
                f"{search_seconds!r}"
            )
        if asked.epochs is None and not asked.resume:
            return None, float(search_seconds)
        if self.epochs is None or not hasattr(self.benchmark, "evaluate_requests"):
            raise InputError(
                f"strategy {self.name!r} asked for {asked}, but {self.benchmark!r} answers "
                f"only full trainings (it has no epochs or evaluate_requests)"
            )
        epoch = self.epochs if asked.epochs is None else asked.epochs
        if (
            isinstance(epoch, bool)
            or not isinstance(epoch, (int, np.integer))
            or not (1 <= epoch <= self.epochs)
        ):
            raise InputError(
                f"strategy {self.name!r} asked for raw cell {raw} at {epoch!r} epochs, not in "
                f"1..{self.epochs}"
            )
        run, reached = self.runs.get(int(raw), (None, 0)) if asked.resume else (None, 0)
        if asked.resume and self.in_flight.get(int(raw)):
            raise InputError(
                f"strategy {self.name!r} asked to continue raw cell {raw} while its training "
                f"is still running; continue it after its result is told"
            )
        if run is not None and epoch <= reached:
            raise InputError(
                f"strategy {self.name!r} asked to continue raw cell {raw} to epoch {epoch}, "
                f"but its run already reached epoch {reached}"
            )
        return Request(int(raw), int(epoch), run, reached if run is not None else 0), float(
            search_seconds
        )

    def search_epochs_of(self, asked: Any) -> int:
        """Training epochs of the strategy's own search computation behind `asked`."""
        epochs = asked.search_epochs if isinstance(asked, Ask) else 0
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise InputError(
                f"strategy {self.name!r}: search_epochs must be an int >= 0, got {epochs!r}"
            )
        return int(epochs)

    def epochs_of(self, request: Any) -> int:
        """Epochs an evaluation trains (0 when the benchmark does not count epochs)."""
        if request is None:
            return self.epochs or 0
        return request.epoch - request.start_epoch

    def evaluate(self, batch: list, rng: np.random.Generator) -> list:
        raws = [self.raw_of(asked) for asked, _, _ in batch]
        if all(request is None for _, request, _ in batch):
            if len(raws) == 1:
                return [self.benchmark.evaluate(raws[0], rng)]
            return self.benchmark.evaluate_many(raws, rng)
        full = [
            Request(int(raw), self.epochs) if request is None else request
            for raw, (_, request, _) in zip(raws, batch, strict=True)
        ]
        return self.benchmark.evaluate_requests(full, rng)

    def started(self, asked: Any) -> None:
        raw = int(self.raw_of(asked))
        self.in_flight[raw] = self.in_flight.get(raw, 0) + 1

    def finished(self, asked: Any, request: Any, result: Any) -> tuple[int, int]:
        """Record a told result; (epoch that answered, epochs it trained)."""
        raw = int(self.raw_of(asked))
        self.in_flight[raw] -= 1
        epoch = getattr(result, "epoch", None)
        epoch = int(epoch) if epoch is not None else (self.epochs or 0)
        if getattr(result, "run", None) is not None:
            self.runs[raw] = (result.run, epoch)
        return epoch, self.epochs_of(request) + self.search_epochs_of(asked)
