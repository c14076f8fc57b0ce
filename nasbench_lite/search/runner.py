"""The search runner: a simulated clock, W asynchronous workers on an event queue, a budget.

As in Syne Tune's simulator, each evaluation occupies a worker for its cost in simulated
seconds; results come back in completion order from a heap, the strategy is told them one by
one, and every free worker asks for a new cell. The runner owns the budget; benchmark lookups
and strategies keep no counters. See docs/search.md for the full semantics.
"""

from __future__ import annotations

import inspect
import math
import re
import sys
import time
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Any

import numpy as np

from nasbench_lite.backends.base import Request
from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Ask, make_strategy
from nasbench_lite.spaces.subspace import SubSpace

_EVALS = re.compile(r"(\d+)\s*evals?")
_EPOCHS = re.compile(r"(\d+)\s*epochs?")
# The columns of results.csv, one row per finished evaluation (the public contract; the
# statistics and plots need these).
RESULT_COLUMNS = (
    "strategy",
    "seed",
    "sim_seconds",
    "evals",
    "incumbent_valid",
    "incumbent_test",
    "regret",
)
# Which cell the incumbent is: its raw index on every row (-1 before any), and its cell string
# (NB-201 format) on the rows where it changed and on each run's last row ("" elsewhere).
INCUMBENT_COLUMNS = ("incumbent_raw", "incumbent_cell")
# Fidelity and the strategy's own compute: the epoch that answered, the epochs trained so far
# (a continuation counts only the epochs it added), the strategy's measured ask/tell seconds
# so far.
EXTRA_COLUMNS = ("epoch", "epochs_trained", "strategy_seconds")
# The incumbent under mixed fidelities (printed in reports).
INCUMBENT_RULE = (
    "the cell with the best validation accuracy among the evaluations at the highest "
    "fidelity (epochs) seen so far: the full schedule once any evaluation reached it"
)


@dataclass(frozen=True)
class Budget:
    """Simulated seconds, a number of evaluations, a number of training epochs, or several
    (the run ends at the first spent).

    An evaluation counts against `evals` whatever its fidelity; against `epochs` it counts
    the epochs it trains (a continuation only those it adds). An evaluation that would take
    the epochs past the budget is not started, and the run ends there.
    """

    seconds: float | None = None
    evals: int | None = None
    epochs: int | None = None

    def __post_init__(self) -> None:
        if self.seconds is None and self.evals is None and self.epochs is None:
            raise InputError("a budget needs seconds, evals or epochs")
        if self.seconds is not None and not (0 < self.seconds < math.inf):
            raise InputError(f"budget seconds must be finite and > 0, got {self.seconds!r}")
        for name in ("evals", "epochs"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise InputError(f"budget {name} must be an int >= 1, got {value!r}")

    @classmethod
    def parse(cls, text: str | float | Budget) -> Budget:
        """Text to budget: '3000' (or 3000, '3000s', '1.5e3') is 3000 simulated seconds,
        '100evals' (or '100 evals') is 100 evaluations, '2000epochs' is 2,000 training epochs;
        a Budget is returned unchanged."""
        if isinstance(text, Budget):
            return text
        if isinstance(text, bool) or not isinstance(text, (str, int, float)):
            raise InputError(
                f"budget {text!r}: expected seconds (e.g. '3000'), 'Nevals' or 'Nepochs'"
            )
        stripped = str(text).strip().lower()
        try:
            if match := _EVALS.fullmatch(stripped):
                return cls(evals=int(match[1]))
            if match := _EPOCHS.fullmatch(stripped):
                return cls(epochs=int(match[1]))
            return cls(seconds=float(stripped.removesuffix("s")))
        except ValueError as err:
            raise InputError(
                f"budget {text!r} is not valid: expected simulated seconds (e.g. '3000'), a "
                f"number of evaluations (e.g. '100evals') or of training epochs (e.g. "
                f"'2000epochs'), all positive ({err})"
            ) from None

    def __str__(self) -> str:
        parts = []
        if self.seconds is not None:
            parts.append(f"{self.seconds:g}")
        if self.evals is not None:
            parts.append(f"{self.evals}evals")
        if self.epochs is not None:
            parts.append(f"{self.epochs}epochs")
        return " and ".join(parts)


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One run, one row per evaluation that finished within the budget, in completion order.

    Arrays are (n,): sim_seconds float64 (simulated time the result came back), evals int64
    (1..n), raw int64 (cell evaluated), valid_acc / test_acc float64 (what that training run
    measured; only valid_acc reached the strategy), incumbent int64 (cell with the best
    valid_acc so far, -1 before any finite one), incumbent_cell object (the space's string of
    the incumbent where it changed and on the last row, "" elsewhere), incumbent_valid
    float64, incumbent_test float64 (the benchmark's noise-free mean test accuracy of the
    incumbent; the incumbent's own measured test_acc where the benchmark has no mean), regret
    float64 (best_test_acc - incumbent_test), overhead_seconds float64 (measured wall time of
    the strategy's own init/ask/tell calls so far; charged to sim_seconds only if
    `charge_overhead`), epoch int64 (the epoch that answered; the schedule's length E for a
    full evaluation, 0 where the benchmark does not say), epochs_trained int64 (epochs
    trained by the evaluations told so far; a continuation counts only what it added).
    The incumbent follows `INCUMBENT_RULE`: with every evaluation at full fidelity, simply
    the best valid_acc so far.
    """

    strategy: str
    seed: int
    workers: int
    budget: Budget
    charge_overhead: bool
    sim_seconds: np.ndarray
    evals: np.ndarray
    raw: np.ndarray
    valid_acc: np.ndarray
    test_acc: np.ndarray
    incumbent: np.ndarray
    incumbent_cell: np.ndarray
    incumbent_valid: np.ndarray
    incumbent_test: np.ndarray
    regret: np.ndarray
    overhead_seconds: np.ndarray
    epoch: np.ndarray
    epochs_trained: np.ndarray
    best_test_acc: float
    end_seconds: float  # the seconds budget if it ran out, else the time of the last result
    strategy_done: bool  # the strategy stopped asking before the budget was spent

    def __len__(self) -> int:
        return len(self.evals)

    def to_frame(self, strategy_name: str, seed: int):
        """pandas DataFrame, one row per evaluation: RESULT_COLUMNS (strategy, seed,
        sim_seconds, evals, incumbent_valid, incumbent_test, regret), then INCUMBENT_COLUMNS
        (incumbent_raw, incumbent_cell), then EXTRA_COLUMNS (epoch, epochs_trained,
        strategy_seconds)."""
        import pandas as pd

        n = len(self)
        return pd.DataFrame(
            {
                "strategy": [strategy_name] * n,
                "seed": np.full(n, seed, dtype=np.int64),
                "sim_seconds": self.sim_seconds,
                "evals": self.evals,
                "incumbent_valid": self.incumbent_valid,
                "incumbent_test": self.incumbent_test,
                "regret": self.regret,
                "incumbent_raw": self.incumbent,
                "incumbent_cell": self.incumbent_cell,
                "epoch": self.epoch,
                "epochs_trained": self.epochs_trained,
                "strategy_seconds": self.overhead_seconds,
            },
            columns=[*RESULT_COLUMNS, *INCUMBENT_COLUMNS, *EXTRA_COLUMNS],
        )


def run_search(
    strategy: Any,
    benchmark: Any,
    budget: str | float | Budget,
    seed: int,
    workers: int = 1,
    *,
    params: dict[str, Any] | None = None,
    charge_overhead: bool = False,
) -> Trajectory:
    """Run `strategy` (registered name, class, or instance) against `benchmark` until `budget`.

    A name or class is built for `benchmark.space` (for a partial table: the view restricted
    to the cells it answers), with whatever of `benchmark_context(benchmark)` its constructor
    takes and `params` does not set (`max_epochs=benchmark.epochs`; `train_config` and
    `dataset`, for a strategy that trains on the benchmark's data); an instance must have
    been built for that space.

    seed: non-negative int; SeedSequence(seed) is split into the strategy's generator and the
    benchmark's (training-noise) generator. workers: concurrent evaluations. params: strategy
    constructor parameters. charge_overhead: advance the simulated clock by the measured
    ask/tell time (then trajectories are no longer bit-for-bit reproducible).
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
    search = make_strategy(strategy, benchmark.space, **_with_context(strategy, params, context))
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
    ask, tell, clock = search.ask, search.tell, time.perf_counter

    started = clock()
    state = search.init(srng)
    spent = clock() - started  # measured strategy seconds
    now = spent if charge_overhead else 0.0  # simulated clock
    # (finish, start order, what was asked, its Request (None: plain), Evaluation)
    queue: list[tuple[float, int, Any, Any, Any]] = []
    num_started = running = epochs_started = 0
    rows: list[tuple] = []  # see `_trajectory`
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
            state, asked = ask(state, srng)
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
            cost = requests.epochs_of(request)
            if epochs_started + cost > max_epochs:
                out_of_epochs = True  # this one would overspend: the budget is done
                break
            epochs_started += cost
            requests.started(asked)
            batch.append((asked, request, search_seconds))
        if batch:
            for item, result in zip(batch, requests.evaluate(batch, brng), strict=True):
                asked, request, search_seconds = item
                if not 0.0 < result.cost_seconds < math.inf:
                    raise InputError(
                        f"benchmark returned cost {result.cost_seconds!r} s for raw cell "
                        f"{requests.raw_of(asked)}; costs must be finite and > 0"
                    )
                finish = now + search_seconds + result.cost_seconds
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
            started = clock()
            state = tell(state, asked, result.valid_acc, result.cost_seconds)
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
    }
    return _trajectory(rows, benchmark, run)


def _with_context(strategy: Any, params: dict | None, context: dict[str, Any]) -> dict:
    """`params`, plus each entry of `context` (see `benchmark_context`) that the constructor
    of a strategy class (or name) takes and `params` leaves out; an instance gets none."""
    params = dict(params or {})
    if not isinstance(strategy, (str, type)):
        return params
    from nasbench_lite.search.protocol import get_strategy

    accepted = inspect.signature(get_strategy(strategy).__init__).parameters
    for name, value in context.items():
        if value is not None and name in accepted and name not in params:
            params[name] = value
    return params


def benchmark_context(benchmark: Any) -> dict[str, Any]:
    """What the benchmark knows that a strategy's constructor may take: `max_epochs` (its
    schedule's E), `train_config` (the trainer recipe behind its answers: a live backend's
    TrainConfig, or the config dict stored in its table or surrogate model) and `dataset`
    (a live backend's Dataset, or the dataset name); None where it does not say.

    A weight-sharing strategy trains its supernet with them, so it searches at the table's
    preset on the table's dataset with no options given."""
    config, dataset = getattr(benchmark, "config", None), getattr(benchmark, "data", None)
    attrs = getattr(getattr(benchmark, "table", None), "attrs", None)
    meta = getattr(getattr(benchmark, "model", None), "meta", None)
    if attrs is None and isinstance(meta, dict):  # a surrogate: its training table's record
        attrs = {**meta.get("table", {})}
        attrs.setdefault("config", attrs.get("train_config"))
    if attrs is not None:
        config = config if config is not None else attrs.get("config")
        dataset = dataset if dataset is not None else attrs.get("dataset")
    return {
        "max_epochs": getattr(benchmark, "epochs", None),
        "train_config": config,
        "dataset": dataset,
    }


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

    def make(self, asked: Any) -> tuple[Any, float]:
        """(Request, or None for a plain full-schedule evaluation; search seconds)."""
        raw = self.raw_of(asked)
        if (
            isinstance(raw, bool)
            or not isinstance(raw, (int, np.integer))
            or not (0 <= raw < self.num_cells)
        ):
            raise InputError(
                f"strategy {self.name!r} asked for raw cell {raw!r}, not in 0..{self.num_cells - 1}"
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
        return epoch, self.epochs_of(request)


def _trajectory(rows: list[tuple], benchmark: Any, run: dict[str, Any]) -> Trajectory:
    """rows: (sim_seconds, raw, valid_acc, test_acc, overhead_seconds, epoch, epochs trained)
    per evaluation."""
    columns = np.array(rows, dtype=np.float64).reshape(-1, 7)  # raw < 2**53: exact as float
    times, raw, valid, test, overheads, epoch, trained = columns.T
    raw, epoch = raw.astype(np.int64), epoch.astype(np.int64)
    n = len(raw)
    which = _incumbents(valid, epoch)
    known = which >= 0
    incumbent = np.where(known, raw[which], -1)
    incumbent_valid = np.where(known, valid[which], np.nan)
    incumbent_test = np.full(n, np.nan)
    incumbent_test[known] = benchmark.mean_test_acc(incumbent[known])
    # No noise-free mean (e.g. live training without a reference table): report what the
    # incumbent's own training run measured.
    measured = known & np.isnan(incumbent_test)
    incumbent_test[measured] = test[which[measured]]
    best_test_acc = float(benchmark.best_test_acc)
    # The cell string where the incumbent changed and on the last row: a few per run.
    named = known & (np.diff(incumbent, prepend=-1) != 0)
    if n:
        named[-1] = known[-1]
    incumbent_cell = np.full(n, "", dtype=object)
    incumbent_cell[named] = [benchmark.space.format(int(r)) for r in incumbent[named]]
    return Trajectory(
        sim_seconds=times.copy(),
        evals=np.arange(1, n + 1, dtype=np.int64),
        raw=raw,
        valid_acc=valid.copy(),
        test_acc=test.copy(),
        incumbent=incumbent,
        incumbent_cell=incumbent_cell,
        incumbent_valid=incumbent_valid,
        incumbent_test=incumbent_test,
        regret=best_test_acc - incumbent_test,
        overhead_seconds=overheads.copy(),
        epoch=epoch,
        epochs_trained=np.cumsum(trained).astype(np.int64),
        best_test_acc=best_test_acc,
        **run,
    )


def _incumbents(valid: np.ndarray, epoch: np.ndarray) -> np.ndarray:
    """(n,) int64: the row of the incumbent after each row, -1 before any (`INCUMBENT_RULE`).

    Among the rows at the highest epoch seen so far, the first to reach the best valid_acc;
    a NaN (diverged) never counts. One fidelity throughout: simply the best so far.
    """
    n = len(valid)
    score = np.where(np.isnan(valid), -np.inf, valid)
    if n == 0:
        return np.zeros(0, np.int64)
    if (epoch == epoch[0]).all():
        best_before = np.concatenate([[-np.inf], np.maximum.accumulate(score)[:-1]])
        improved = score > best_before
        return np.maximum.accumulate(np.where(improved, np.arange(n), -1))
    which = np.full(n, -1, np.int64)
    level, best, current = -1, -np.inf, -1
    for i in range(n):
        if epoch[i] > level:  # a higher fidelity: only its evaluations count from now on
            level, best, current = int(epoch[i]), -np.inf, -1
        if epoch[i] == level and score[i] > best:
            best, current = score[i], i
        which[i] = current
    return which
