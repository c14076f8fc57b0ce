"""Source tasks: what a transfer or meta-learning strategy may know of the other tasks.

A strategy that declares ``uses_sources = True`` takes a `sources` argument: a `SourceTasks`,
read-only validation results of the other tasks' tables over the same space (leave one task
out: `compare --tasks` gives each target the suite's other tasks, `compare --sources` names
them for one table). A `SourceTask` keeps the validation curves of its table and nothing
else: no test metric is ever read into it, no reference to its table or file is kept, and the
target's own table is refused (`SourceTasks.build` compares paths and task identity). The
strategy learns of the target only what the runner tells it, evaluation by evaluation.

Values are per raw cell of the full space; a cell whose class the source table does not hold
(a partial table) reads NaN and is not `known`. Rankings are over classes (isomorphic cells
share their class's results), best first, each class represented by one raw cell.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nasbench_lite.errors import InputError

log = logging.getLogger(__name__)

VALID = "valid_acc"  # the one metric a source task holds


def _frozen(array: np.ndarray) -> np.ndarray:
    array = np.array(array)  # a copy: nothing shared with the table it came from
    array.setflags(write=False)
    return array


@dataclass(frozen=True, eq=False)
class SourceTask:
    """One source task's validation results.

    name: its task label. space: the name of its search space. curves: (rows, seeds, E)
    float32 validation accuracy per epoch (NaN: a diverged seed). raw_to_row: (num_cells,)
    int64, -1 where the class is not in the table (or not trained yet). identity: (dataset
    identity, trainer config) as JSON-able values, to tell two tables of one task apart from
    two tasks.
    """

    name: str
    space: str
    curves: np.ndarray
    raw_to_row: np.ndarray
    identity: tuple[Any, Any]

    @classmethod
    def from_table(cls, table: Any, name: str | None = None) -> SourceTask:
        """The validation results of `table` (a path or a `Table`); only `valid_acc` is
        copied out of it. name: the task label (None: the table's dataset)."""
        from nasbench_lite.table.reader import as_table

        opened = as_table(table)
        if VALID not in opened.metrics:
            raise InputError(f"source table {opened.source} holds no {VALID} curves")
        rows = np.where(opened.done, np.arange(opened.num_rows), -1)
        raw_to_row = np.where(opened.raw_to_row >= 0, rows[opened.raw_to_row], -1)
        attrs = opened.attrs
        return cls(
            name=str(name or attrs.get("dataset") or Path(opened.source).stem),
            space=str(attrs.get("space")),
            curves=_frozen(np.asarray(opened.metric(VALID), dtype=np.float32)),
            raw_to_row=_frozen(raw_to_row.astype(np.int64)),
            identity=task_identity(opened),
        )

    @property
    def num_epochs(self) -> int:
        return int(self.curves.shape[2])

    @property
    def known(self) -> np.ndarray:
        """(num_cells,) bool: raw cells whose class the source holds."""
        return self.raw_to_row >= 0

    def valid_acc(self, raws: Any, epoch: int | None = None, seed: int | None = None) -> np.ndarray:
        """Validation accuracy of `raws` at `epoch` (1-based; None: the last) of `seed` (an
        index into the table's seeds; None: the mean over seeds that did not diverge):
        float64 (n,), NaN where the class is unknown (or every seed diverged)."""
        raws = np.asarray(raws, dtype=np.int64).reshape(-1)
        if raws.size and (raws.min() < 0 or raws.max() >= len(self.raw_to_row)):
            raise InputError(f"source task {self.name}: raw cells out of range in {raws}")
        e = self.num_epochs if epoch is None else int(epoch)
        if not 1 <= e <= self.num_epochs:
            raise InputError(
                f"source task {self.name}: epoch {epoch!r} not in 1..{self.num_epochs}"
            )
        rows = self.raw_to_row[raws]
        out = np.full(len(raws), np.nan)
        hit = rows >= 0
        values = self.curves[rows[hit], :, e - 1].astype(np.float64)
        if seed is None:
            with np.errstate(invalid="ignore"):
                finite = np.isfinite(values)
                count = finite.sum(axis=1)
                total = np.where(finite, values, 0.0).sum(axis=1)
                out[hit] = np.where(count > 0, total / np.maximum(count, 1), np.nan)
        else:
            if not 0 <= int(seed) < self.curves.shape[1]:
                raise InputError(f"source task {self.name}: seed index {seed!r} out of range")
            out[hit] = values[:, int(seed)]
        return out

    def valid_curve(self, raw: int, seed: int | None = None) -> np.ndarray:
        """(E,) validation accuracy per epoch of one raw cell (seed mean, or one seed)."""
        return np.array([self.valid_acc([raw], e, seed)[0] for e in range(1, self.num_epochs + 1)])

    def ranking_score(self, raws: np.ndarray) -> np.ndarray:
        """float64 (n,): final validation accuracy averaged over every seed, a diverged seed
        counting 0 (as a diverged evaluation ranks last wherever a strategy is told one); NaN
        where the class is unknown. What the transfer strategies rank cells by: the mean over
        surviving seeds alone would put a class that diverged on 2 of 3 seeds first on its
        one lucky run."""
        raws = np.asarray(raws, dtype=np.int64).reshape(-1)
        per_seed = np.stack([self.valid_acc(raws, seed=s) for s in range(self.curves.shape[1])])
        known = self.known[raws]
        return np.where(known, np.nan_to_num(per_seed, nan=0.0).mean(axis=0), np.nan)

    def ranking(self, representatives: np.ndarray) -> np.ndarray:
        """The known cells of `representatives` (one raw cell per class), best
        `ranking_score` first (ties: lower raw first)."""
        reps = np.asarray(representatives, dtype=np.int64)
        reps = reps[self.known[reps]]
        return reps[np.lexsort((reps, -self.ranking_score(reps)))]


def task_identity(table: Any) -> tuple[Any, Any]:
    """(dataset identity, trainer config) of an opened table: two tables of one task share
    it. A dataset this installation does not know is identified by its name."""
    try:
        dataset = table.dataset_identity.to_dict()
    except InputError:
        dataset = {"name": table.attrs.get("dataset")}
    return dataset, task_config(table.attrs.get("config"))


def same_task(a: tuple[Any, Any], b: tuple[Any, Any]) -> bool:
    """Whether two `task_identity` values are one task: the same trainer recipe and dataset,
    where a dataset whose split sizes one table did not record (a table written before it
    recorded them: None) matches any."""
    (data_a, config_a), (data_b, config_b) = a, b
    if config_a != config_b:
        return False
    if not (isinstance(data_a, dict) and isinstance(data_b, dict)):
        return data_a == data_b
    if data_a.get("splits") is None or data_b.get("splits") is None:
        data_a, data_b = ({k: v for k, v in d.items() if k != "splits"} for d in (data_a, data_b))
    return data_a == data_b


# Trainer fields that change how results are recorded, not what training measures: the
# test split evaluated every epoch or only after the last, and the evaluation batch size.
RECORDING_FIELDS = ("test_every_epoch", "eval_batch_size")


def task_config(config: Any) -> Any:
    """A table's trainer config as it bears on its results: with the defaults of fields a
    file written before them lacks filled in, and without RECORDING_FIELDS, so a table
    regenerated by a later version is still the same task."""
    if isinstance(config, str):
        import json

        try:
            config = json.loads(config)
        except ValueError:
            return config
    if not isinstance(config, dict):
        return config
    from nasbench_lite.train.config import TrainConfig

    try:
        config = TrainConfig.from_dict(config).to_dict()
    except (InputError, TypeError, ValueError):
        config = dict(config)  # fields this version does not know: compared as written
    return {k: v for k, v in config.items() if k not in RECORDING_FIELDS}


class SourceTasks(Sequence):
    """The source tasks a transfer strategy is given: a read-only sequence of `SourceTask`."""

    def __init__(self, tasks: Sequence[SourceTask]) -> None:
        tasks = tuple(tasks)
        if not tasks:
            raise InputError("no source tasks given")
        names = [t.name for t in tasks]
        if len(set(names)) != len(names):
            raise InputError(f"source tasks must be distinct, got {names}")
        spaces = {t.space for t in tasks}
        if len(spaces) > 1:
            raise InputError(f"source tasks come from different spaces: {sorted(spaces)}")
        self._tasks = tasks

    @classmethod
    def build(
        cls, sources: Sequence[tuple[str, Any]], target: Any, target_path: Any = None
    ) -> SourceTasks:
        """Source tasks from (label, table path or Table) pairs, for the target `target` (its
        opened Table; target_path: its file). Refuses a source that is the target: the same
        file, or a table of the same task (dataset identity and trainer config), and one of
        another space."""
        target_identity = task_identity(target)
        target_space = str(target.attrs.get("space"))
        where = _resolved(target_path) if target_path is not None else None
        target_known = np.zeros(len(target.raw_to_row), bool)
        target_known[target.row_raw[target.done]] = True  # a representative of each class
        built = []
        for label, table in sources:
            if where is not None and isinstance(table, (str, os.PathLike)):
                if _resolved(table) == where:
                    raise InputError(
                        f"source task {label!r} is the target's own table {target_path}: a "
                        "transfer strategy never reads the table it is searching"
                    )
            task = SourceTask.from_table(table, label)
            if same_task(task.identity, target_identity):
                raise InputError(
                    f"source task {label!r} ({table}) is the target's task (same dataset and "
                    "trainer recipe): a transfer strategy never reads the task it is searching"
                )
            if same_task((task.identity[0], None), (target_identity[0], None)):
                log.warning(
                    "source task %r is the target's dataset under another trainer recipe: its "
                    "validation accuracy was measured on the target's own validation examples, "
                    "so a search that learns from it is not leave-one-task-out",
                    label,
                )
            if task.space != target_space:
                raise InputError(
                    f"source task {label!r} is of space {task.space!r}, the target of "
                    f"{target_space!r}"
                )
            if not (task.known & target_known).any():
                raise InputError(
                    f"source task {label!r} ({table}) holds none of the target's trained "
                    "classes: a transfer strategy would learn nothing from it"
                )
            twin = next((t for t in built if same_task(t.identity, task.identity)), None)
            if twin is not None:
                raise InputError(
                    f"source tasks {twin.name!r} and {label!r} are one task (same dataset and "
                    "trainer recipe): it would count twice"
                )
            built.append(task)
        return cls(built)

    def __getitem__(self, index):  # type: ignore[override]
        return self._tasks[index]

    def __len__(self) -> int:
        return len(self._tasks)

    def __iter__(self) -> Iterator[SourceTask]:
        return iter(self._tasks)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self._tasks)

    def __repr__(self) -> str:
        return f"SourceTasks({', '.join(self.names)})"

    def best_cells(self, representatives: np.ndarray, count: int) -> list[int]:
        """Up to `count` distinct raw cells: the sources' best classes taken in turn (the best
        of each task, then the second of each, ...)."""
        rankings = [t.ranking(representatives).tolist() for t in self._tasks]
        out: list[int] = []
        seen: set[int] = set()
        for depth in range(max(len(r) for r in rankings)):
            for ranking in rankings:
                if depth < len(ranking) and ranking[depth] not in seen:
                    seen.add(ranking[depth])
                    out.append(ranking[depth])
                    if len(out) == count:
                        return out
        return out


def _resolved(path: Any) -> Path:
    return Path(path).expanduser().resolve()
