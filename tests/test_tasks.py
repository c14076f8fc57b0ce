"""Tasks: reproducible MNIST-1D recipes (no training)."""

from __future__ import annotations

import json
import random

import numpy as np
import pytest

pytest.importorskip("mnist1d")

from nasbench_lite.datasets import DATASETS  # noqa: E402
from nasbench_lite.datasets.tasks import (  # noqa: E402
    SUITE,
    Task,
    draw,
    load_task,
    task_arrays,
    task_cache_path,
)
from nasbench_lite.errors import InputError  # noqa: E402

SMALL = Task("small", "a small test recipe", (("shear_scale", 1.5),), 7, 120, 40, 40)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NASBENCH_LITE_CACHE", str(tmp_path))
    task_arrays.cache_clear()  # the in-memory cache would hide the disk cache


def test_same_recipe_same_arrays_other_seed_other_arrays():
    a, b = draw(SMALL), draw(SMALL)
    np.testing.assert_array_equal(a["x"], b["x"])
    np.testing.assert_array_equal(a["y"], b["y"])
    other = draw(SMALL.replace(seed=8))
    assert not np.allclose(a["x"], other["x"])


def test_split_sizes_shapes_and_disjointness():
    data = load_task(SMALL)
    assert data.splits == {"train": 120, "valid": 40, "test": 40}
    assert data.x_train.shape == (120, 40, 1) and data.x_train.dtype == np.float32
    assert data.num_classes == 10 and data.name == "small"
    train = {row.tobytes() for row in data.x_train}
    for split in (data.x_valid, data.x_test):
        assert not train & {row.tobytes() for row in split}
    assert not {r.tobytes() for r in data.x_valid} & {r.tobytes() for r in data.x_test}


def test_sequence_length_follows_the_recipe():
    data = load_task(SMALL.replace(generator=(("final_seq_length", 24),)))
    assert data.x_valid.shape == (40, 24, 1)


def test_cache_is_written_and_reused(tmp_path, monkeypatch):
    first = load_task(SMALL)
    path = task_cache_path(SMALL)
    assert path is not None and path.parent == tmp_path and path.is_file()
    assert task_cache_path(SMALL.replace(seed=9)) != path
    assert task_cache_path(SMALL.replace(name="renamed")) == path  # keyed by the recipe
    # Read back from the disk, not drawn again: a draw now would fail.
    from nasbench_lite.datasets import tasks

    task_arrays.cache_clear()
    monkeypatch.setattr(tasks, "draw", lambda task: pytest.fail("drawn again"))
    again = load_task(SMALL)
    for split in ("train", "valid", "test"):
        np.testing.assert_array_equal(getattr(again, f"x_{split}"), getattr(first, f"x_{split}"))
        np.testing.assert_array_equal(getattr(again, f"y_{split}"), getattr(first, f"y_{split}"))


def test_identity_round_trips_through_json():
    identity = SMALL.identity()
    assert identity["generator_args"]["shear_scale"] == 1.5
    assert identity["generator_args"]["padding"] == [36, 60]  # defaults in full
    assert identity["input_shape"] == [40, 1] and identity["num_classes"] == 10
    assert identity["needs_files"] is False and identity["seed"] == 7
    assert identity["splits"] == {"train": 120, "valid": 40, "test": 40}
    assert Task.from_identity(json.loads(json.dumps(identity))) == SMALL
    for task in SUITE.values():
        assert Task.from_identity(task.identity()) == task


def test_global_rng_state_untouched():
    np.random.seed(123)  # noqa: NPY002
    random.seed(123)
    before = np.random.get_state()[1].copy(), random.getstate()  # noqa: NPY002
    draw(SMALL)
    assert np.array_equal(np.random.get_state()[1], before[0])  # noqa: NPY002
    assert random.getstate() == before[1]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"generator": (("noise", 1.0),)}, "noise"),
        ({"generator": (("iid_noise_scale", -1.0),)}, "iid_noise_scale"),
        ({"generator": (("final_seq_length", 0),)}, "final_seq_length"),
        ({"generator": (("padding", (5, 2)),)}, "padding"),
        ({"generator": (("shuffle_seq", 1),)}, "shuffle_seq"),
        ({"train": 0}, "train"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_recipe_argument_raises_input_error_naming_it(change, named):
    with pytest.raises(InputError, match=named):
        SMALL.replace(**change)


def test_suite_registered_and_mnist1d_unchanged():
    for name in SUITE:
        assert name in DATASETS
    assert DATASETS["mnist1d"].__name__ == "load_mnist1d"
    with pytest.raises(InputError, match="data_dir"):
        DATASETS["mnist1d_v2"]("somewhere")


def test_defaults_are_the_generators():
    from mnist1d.data import get_dataset_args

    from nasbench_lite.datasets.tasks import GENERATOR_DEFAULTS

    defaults = vars(get_dataset_args())
    for name, value in GENERATOR_DEFAULTS.items():
        assert (tuple(defaults[name]) if name == "padding" else defaults[name]) == value


def test_suite_recipes_are_the_measured_ones():
    """The registered recipes draw exactly the data the suite study measured (its JSON
    records each candidate's identity)."""
    import json
    from pathlib import Path

    runs = json.loads((Path(__file__).parent.parent / "docs/suite_study/confirm2.json")
                      .read_text())["runs"]  # fmt: skip
    study = runs["aligned-short-warp"]["task"]
    mine = SUITE["mnist1d_short_warped"].identity()
    for key in ("generator", "generator_args", "seed", "splits", "input_shape"):
        assert mine[key] == study[key], key
    runs = json.loads((Path(__file__).parent.parent / "docs/suite_study/confirm3.json")
                      .read_text())["runs"]  # fmt: skip
    study, mine = runs["noise-id"]["task"], SUITE["noise_id"].identity()
    for key in ("generator", "generator_args", "seed", "splits", "input_shape"):
        assert mine[key] == study[key], key


def test_noise_family_draws_balanced_unit_variance_classes():
    from nasbench_lite.datasets import noise

    task = Task("noise", "ten distributions", (("final_seq_length", 64),), 3, 500, 300, 200,
                family="noise")  # fmt: skip
    raw = draw(task)
    x, y = raw["x"], raw["y"]
    assert x.shape == (1000, 64) and np.bincount(y).tolist() == [100] * 10
    for k in range(10):  # each class's marginal: mean 0, variance 1 (to sampling error)
        values = x[y == k].reshape(-1)
        assert abs(values.mean()) < 0.08 and abs(values.var() - 1) < 0.12, noise.CLASSES[k]
    assert set(np.unique(x[y == 9])) == {-1.0, 1.0}  # Rademacher
    assert (x[y == 5] >= -1).all() and (x[y == 6] <= 1).all()  # the skewed exponentials
    again = draw(task)
    assert np.array_equal(again["x"], x) and np.array_equal(again["y"], y)
    other = draw(task.replace(seed=4))
    assert not np.array_equal(other["x"], x)
    mixed = draw(task.replace(generator=(("final_seq_length", 64), ("mix", 0.9))))
    assert abs(np.var(mixed["x"]) - 1) < 0.05
    assert Task.from_identity(task.identity()) == task
    assert task.dataset_identity().generator["family"] == "noise"


@pytest.mark.parametrize(
    "change, named",
    [({"generator": (("mix", 1.0),)}, "mix"), ({"generator": (("template_len", 3),)},
     "template_len"), ({"family": "sound"}, "family")],
)  # fmt: skip
def test_noise_family_bad_recipe_names_the_argument(change, named):
    with pytest.raises(InputError, match=named):
        Task(**{"name": "n", "description": "d", "seed": 1, "family": "noise", **change})


@pytest.mark.parametrize("family", ["position", "count"])
def test_bump_families_draw_what_their_labels_say(family):
    from scipy.signal import find_peaks

    task = Task(family, "bumps", (("noise", 0.0),), 5, 300, 200, 100, family=family)
    raw = draw(task)
    x, y = raw["x"], raw["y"]
    assert x.shape == (600, 40) and np.bincount(y).tolist() == [60] * 10
    for row, label in zip(x, y, strict=True):  # brute force: every noiseless sequence
        peaks, _ = find_peaks(np.concatenate([[0.0], row, [0.0]]), height=0.3)
        peaks = peaks - 1
        if family == "count":
            assert len(peaks) == label
            assert label < 2 or np.diff(peaks).min() >= 3
        else:
            assert len(peaks) == 1 and 4 * label - 1 <= peaks[0] <= 4 * label + 3
    again = draw(task)
    assert np.array_equal(again["x"], x) and np.array_equal(again["y"], y)
    noisy = draw(task.replace(generator=(("noise", 0.5),)))
    assert np.array_equal(noisy["y"], y) and abs(np.std(noisy["x"] - x) - 0.5) < 0.02
    assert Task.from_identity(task.identity()) == task
    assert task.dataset_identity().generator["family"] == family


def test_bump_family_bad_recipe_names_the_problem():
    with pytest.raises(InputError, match="noise"):
        Task("p", "d", (("noise", -0.1),), 1, family="position")
    with pytest.raises(InputError, match="do not fit"):
        draw(Task("c", "d", (("width", 3.0),), 1, 10, 10, 10, family="count"))


def test_every_family_names_its_generator_by_the_function_that_draws_it():
    import importlib

    from nasbench_lite.datasets.tasks import FAMILIES, OWN_DRAWS

    for family, (generator, _, _) in FAMILIES.items():
        module, _, name = generator.rpartition(".")
        function = getattr(importlib.import_module(module), name)
        if family in OWN_DRAWS:
            assert function is OWN_DRAWS[family][0], family
