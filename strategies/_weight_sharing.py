"""The ask/tell side of the weight-sharing strategies (`darts`, `gdas`, `enas`, `rsps`): one
supernet search per run, charged to the runner's simulated clock.

Each `ask` trains the supernet for one epoch (`_supernet`: real JAX compute on
the training and validation splits of the benchmark's dataset, at its trainer preset),
derives a cell from it, and returns ``Ask(derived, search_seconds=s)``: the runner occupies
a worker for the s measured seconds of that epoch, then for the derived cell's evaluation by
the benchmark (a lookup, the surrogate or live training), charged like any other. `tell`
receives that evaluation's validation accuracy, which these methods do not use. So the
trajectory records the regret of the derived cells as the search proceeds, one row per
supernet epoch.

- **Measured seconds** are this process's CPU time (`time.process_time`, all threads)
  spent in the epoch's compiled program and in deriving the cell, plus, on the first ask,
  the supernet's initialisation; compilation is excluded. A table's `train_seconds` are
  measured the same way (process CPU time, compilation excluded; docs/trainer.md), and CPU
  time does not grow when other processes share the cores.
- **One derived cell at a time.** A supernet search is one sequential computation, so the
  next epoch starts only after the last derived cell's result is told; with W > 1 workers
  the others stay idle (`ask` returns None meanwhile).
- **It stops** after `search_epochs` epochs: `ask` then returns None and the run ends, unless
  the budget ran out first (then the last derived cell told is where the search got to).
- On a partial table (`SubSpace`) the derived cell is the best available one: the
  highest-scoring allowed cell for DARTS and GDAS, the best of candidates drawn among the
  allowed cells for ENAS and RSPS.

The strategy object holds static structure (space, recipe, hyperparameters; the data and the
compiled programs are cached per process); the search itself lives in the state record.
Importing this module imports numpy only.
"""

from __future__ import annotations

import functools
import time
from typing import Any, ClassVar, NamedTuple

import numpy as np

from nasbench_lite.checks import check_int, check_number
from nasbench_lite.errors import InputError
from nasbench_lite.search.protocol import Ask, Result
from nasbench_lite.spaces.subspace import SubSpace

# Supernet epochs of a search: all of them fit compare's default budget (about 90 simulated
# seconds for DARTS at the cpu preset), and longer searches found no better cells here but
# collapsed more often (docs/weight_sharing.md, 25-200 epochs).
DEFAULT_SEARCH_EPOCHS = 25
# NAS-Bench-201 trains DARTS's architecture for 50 epochs of 391 batches (25,000 CIFAR-10
# images in batches of 64), Adam at 3e-4. Our searches take far fewer steps; the default
# architecture learning rate keeps the same lr x steps (the distance Adam can move a logit).
NB201_SEARCH_STEPS = 50 * 391
NB201_ARCH_LR = 3e-4
NB201_ARCH_BETAS = (0.5, 0.999)
NB201_ARCH_WEIGHT_DECAY = 1e-3


class WeightSharingState(NamedTuple):
    """search: `supernet.Search` (JAX arrays); key: the search's JAX key; epoch: supernet
    epochs trained; in_flight: a derived cell is being evaluated; unpaid: measured seconds
    not charged yet (the initialisation's); seconds: measured seconds charged so far;
    derived: the derived raw cell after each epoch; losses: each epoch's mean training
    loss."""

    search: Any
    key: Any
    epoch: int
    in_flight: bool
    unpaid: float
    seconds: float
    derived: tuple[int, ...]
    losses: tuple[float, ...]


class WeightSharing:
    """Base of the weight-sharing strategies. A subclass sets `name`, `network` (the supernet
    form its weight steps use: "mixed", "hard" or "masked") and `candidates` (0: derive by
    the largest architecture scores; N: the best of N sampled cells by shared-weights
    validation accuracy), and defines the JAX functions ``choice`` (the cell the weight step
    trains), ``arch_step`` and, if it needs them, ``init_arch``, ``arch_optimizer``,
    ``sample_candidates`` and ``probabilities``."""

    name: ClassVar[str]
    network: ClassVar[str]
    candidates: int = 0
    arch_learning_rate: float = 0.0  # the architecture's (a runtime input of the programs)
    in_default_comparison: ClassVar[bool] = False  # trains a supernet: named, or `all`
    # The runner gives it the table's recorded DatasetIdentity (others get the name).
    takes_dataset_identity: ClassVar[bool] = True
    weight_sharing: ClassVar[bool] = True

    def __init__(
        self,
        space: Any,
        train_config: Any = None,
        dataset: Any = None,
        search_epochs: int = DEFAULT_SEARCH_EPOCHS,
        learning_rate: float | None = None,
        data_dir: Any = None,
    ) -> None:
        """train_config: a TrainConfig, its dict (a table's `config` attribute) or a preset
        name (None: the default preset); dataset: a Dataset, a `DatasetIdentity` (what a
        table recorded: its examples are rebuilt and checked against it) or a dataset name
        (None: mnist1d). learning_rate: the weights' peak (None: a quarter of the preset's, as
        NAS-Bench-201 searches at 0.025 and trains cells at 0.1). data_dir: the directory
        holding the files of a named dataset read from files (cifar10, mnist, fashion_mnist);
        checked here, before any training."""
        from nasbench_lite.extras import require
        from nasbench_lite.train.config import DEFAULT_PRESET, TrainConfig, get_preset

        require("train", f"strategy {self.name!r} (a supernet search)")
        base = space.base if isinstance(space, SubSpace) else space
        if getattr(base, "name", None) != "nb201":
            raise InputError(
                f"strategy {self.name!r} trains the NB-201 supernet; space "
                f"{getattr(base, 'name', base)!r} is not nb201"
            )
        if train_config is None:
            train_config = DEFAULT_PRESET
        if isinstance(train_config, str):
            train_config = get_preset(train_config)
        elif isinstance(train_config, dict):
            train_config = TrainConfig.from_dict(train_config)
        if not isinstance(train_config, TrainConfig):
            raise InputError(
                f"train_config must be a TrainConfig, its dict or a preset name, got "
                f"{train_config!r}"
            )
        check_int("search_epochs", search_epochs)
        self.space = space
        self.train_config = train_config
        self.dataset = "mnist1d" if dataset is None else dataset
        where = f"strategy {self.name!r} (a supernet search)"
        from nasbench_lite.datasets import DatasetIdentity, dataset_identity

        if isinstance(self.dataset, (str, DatasetIdentity)):
            named = isinstance(self.dataset, str)
            (dataset_identity(self.dataset) if named else self.dataset).check_data_dir(
                data_dir, where
            )
        elif data_dir is not None:
            raise InputError(
                f"{where}: data_dir={str(data_dir)!r} names where a dataset's files are, but a "
                "loaded Dataset was given; drop data_dir or pass the dataset's name"
            )
        self.data_dir = None if data_dir is None else str(data_dir)
        self.search_epochs = int(search_epochs)
        lr = train_config.learning_rate / 4 if learning_rate is None else learning_rate
        self.learning_rate = check_positive("learning_rate", lr)
        self.support = space.cells(space.allowed_raws) if isinstance(space, SubSpace) else None

    # -- what a subclass may override ---------------------------------------------------------

    def settings(self) -> tuple:
        """What the compiled programs depend on besides the class (their cache key): the
        recipe and the number of candidates; a subclass adds the constants its JAX functions
        read. Learning rates and epochs are arguments of the programs, not settings."""
        return (repr(self.train_config), self.candidates)

    def check_context(self, context: Any) -> None:
        """InputError when the benchmark's answers come from another dataset or trainer
        recipe than this search would train its supernet on (an instance built for another
        table). `context`: the benchmark's `BenchmarkContext`; what it does not know is not
        compared."""
        from nasbench_lite.train.config import TrainConfig

        mine, theirs = _dataset_key(self.dataset), _dataset_key(context.dataset)
        if theirs is not None and (mine[0] != theirs[0] or None not in (mine[1], theirs[1])
                                   and mine[1] != theirs[1]):  # fmt: skip
            raise InputError(
                f"strategy {self.name!r} was built to train its supernet on dataset "
                f"{_describe(mine)}, but the benchmark's answers are of {_describe(theirs)}; "
                "pass the strategy's class or registered name so it is built for the benchmark"
            )
        from nasbench_lite.search.sources import task_config

        config = context.train_config
        if isinstance(config, TrainConfig):
            config = config.to_dict()
        mine = task_config(self.train_config.to_dict())  # what bears on results, not records
        if config is not None and task_config(config) != mine:
            differ = [k for k, v in task_config(config).items() if mine.get(k) != v]
            raise InputError(
                f"strategy {self.name!r} was built for another trainer recipe than the "
                f"benchmark's (differs in {', '.join(differ)}); pass the strategy's class or "
                "registered name so it is built for the benchmark"
            )

    def steps_per_epoch(self) -> int:
        n_train = len(_splits(self.dataset, self.train_config, self.data_dir)[0][0])
        return n_train // self.train_config.batch_size

    def nb201_arch_lr(self) -> float:
        """NB-201's 3e-4, scaled to this search's steps (same lr x steps)."""
        return NB201_ARCH_LR * NB201_SEARCH_STEPS / (self.search_epochs * self.steps_per_epoch())

    def init_arch(self, key):
        """Architecture parameters (6, 5): 1e-3 * N(0, 1), as NAS-Bench-201's code."""
        import jax

        return 1e-3 * jax.random.normal(key, (6, 5))

    def arch_optimizer(self):
        """The architecture's update direction (the step is -arch_learning_rate times it):
        Adam with NAS-Bench-201's betas, after L2 weight decay added to the gradient."""
        import optax

        return optax.chain(
            optax.add_decayed_weights(NB201_ARCH_WEIGHT_DECAY),
            optax.scale_by_adam(*NB201_ARCH_BETAS),
        )

    def probabilities(self, arch: np.ndarray) -> np.ndarray:
        """The architecture weights as per-edge op probabilities (6, 5): softmax."""
        shifted = np.exp(arch - arch.max(axis=1, keepdims=True))
        return shifted / shifted.sum(axis=1, keepdims=True)

    def sample_candidates(self, arch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError  # only for candidates > 0

    # -- the protocol -------------------------------------------------------------------------

    def init(self, rng: np.random.Generator) -> WeightSharingState:
        import jax

        wall = time.perf_counter()
        programs, arrays = self._programs()  # compiled here, not charged
        key, init_key = jax.random.split(jax.random.PRNGKey(int(rng.integers(2**31 - 1))))
        start = time.process_time()
        search = jax.block_until_ready(programs["init"](init_key, arrays[0]))
        unpaid = time.process_time() - start
        # The runner times `init` as the strategy's own overhead; all of this one is loading
        # the data and compiling (never charged, as a table's train_seconds exclude them) or
        # the supernet's initialisation, which the first ask charges as search seconds.
        # Charged as overhead too, it would be counted twice.
        self.init_search_seconds = time.perf_counter() - wall
        return WeightSharingState(search, key, 0, False, unpaid, 0.0, (), ())

    def ask(self, state: WeightSharingState, rng: np.random.Generator):
        if state.in_flight or state.epoch >= self.search_epochs:
            return state, None
        import jax

        from nasbench_lite.strategies._supernet import cosine_rates

        programs, arrays = self._programs()
        key, epoch_key, score_key = jax.random.split(state.key, 3)
        steps = self.steps_per_epoch()
        rates = cosine_rates(
            self.learning_rate, steps * self.search_epochs, steps * state.epoch, steps
        )
        progress = np.float32(state.epoch / max(1, self.search_epochs - 1))
        arch_lr = np.float32(self.arch_learning_rate)
        start = time.process_time()
        search, loss = programs["epoch"](state.search, epoch_key, rates, arch_lr, progress, *arrays)
        search = jax.block_until_ready(search)
        raw = self._derive(search, programs, score_key, arrays, rng)
        seconds = time.process_time() - start + state.unpaid
        state = WeightSharingState(
            search, key, state.epoch + 1, True, 0.0, state.seconds + seconds,
            state.derived + (raw,), state.losses + (float(loss),),
        )  # fmt: skip
        return state, Ask(raw, search_seconds=seconds, search_epochs=1)

    def tell(self, state: WeightSharingState, raw: Any, result: Result):
        return state._replace(in_flight=False)  # the lookup's accuracy is not used

    def weights(self, state: WeightSharingState) -> np.ndarray:
        """The state's per-edge op probabilities (6, 5) float64 (for reports and plots)."""
        return self.probabilities(np.asarray(state.search.arch, np.float64))

    # -- derived cells ------------------------------------------------------------------------

    def best_cell(self, scores: np.ndarray) -> int:
        """The raw cell of largest total score sum_e scores[e, op_e] (per-edge argmax on the
        full space; the best allowed cell on a restricted one; ties: the first)."""
        if self.support is None:
            return int(self.space.index(np.argmax(scores, axis=1)))
        total = scores[np.arange(scores.shape[0]), self.support].sum(axis=1)
        return int(self.space.index(self.support[int(np.argmax(total))]))

    def _derive(self, search, programs, key, arrays, rng) -> int:
        arch = np.asarray(search.arch, np.float64)
        if not self.candidates:
            return self.best_cell(arch)
        cells = np.asarray(self.sample_candidates(arch, rng), np.int32)
        accuracy = np.asarray(programs["score"](search, cells, key, *arrays[2:]))
        return int(self.space.index(cells[int(np.argmax(accuracy))]))

    def _programs(self):
        from nasbench_lite.strategies import _supernet as supernet

        arrays, num_classes = _arrays(self.dataset, self.train_config, self.data_dir)
        return supernet.compiled(self, arrays, num_classes), arrays


@functools.lru_cache(maxsize=4)
def _splits(dataset: Any, config: Any, data_dir: str | None = None) -> tuple[tuple, int]:
    """((x_train, y_train, x_valid, y_valid) numpy arrays cut to the config's example
    limits, number of classes). The test split is left out: a search never sees it.
    dataset: a Dataset, or a dataset name loaded with data_dir."""
    from nasbench_lite.datasets import DatasetIdentity, load_dataset, rebuild_dataset
    from nasbench_lite.train.config import check_batch, splits

    if isinstance(dataset, DatasetIdentity):
        data = rebuild_dataset(dataset, data_dir, "a supernet search")
    else:
        data = load_dataset(dataset, data_dir) if isinstance(dataset, str) else dataset
    x_train, y_train, x_valid, y_valid, _, _ = splits(data, config)
    check_batch(config, len(x_train))
    return (x_train, y_train, x_valid, y_valid), int(data.num_classes)


@functools.lru_cache(maxsize=4)
def _arrays(dataset: Any, config: Any, data_dir: str | None = None) -> tuple[tuple, int]:
    """`_splits` as JAX arrays."""
    import jax.numpy as jnp

    arrays, num_classes = _splits(dataset, config, data_dir)
    return tuple(jnp.asarray(a) for a in arrays), num_classes


def _dataset_key(dataset: Any) -> tuple[str, Any] | None:
    """(name, generator arguments or None where unknown) of a dataset name, identity or
    loaded Dataset; None for None."""
    from nasbench_lite.datasets import IDENTITIES, DatasetIdentity

    if dataset is None:
        return None
    if isinstance(dataset, DatasetIdentity):
        return dataset.name, dict(dataset.generator)
    name = dataset if isinstance(dataset, str) else getattr(dataset, "name", repr(dataset))
    known = IDENTITIES.get(name) if isinstance(dataset, str) else None
    return name, None if known is None else dict(known.generator)


def _describe(key: tuple[str, Any]) -> str:
    name, generator = key
    return repr(name) if not generator else f"{name!r} (generator {generator})"


def check_positive(name: str, value: Any) -> float:
    return check_number(name, value, above=0)
