"""Predictors for model-based search: the MLP ensemble's gradients against finite differences,
both models learn the synthetic table's ranking from path encodings, seeds, and errors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import sparse
from scipy.stats import spearmanr

from nasbench_lite.strategies._predictors import DistanceGP, EnsemblePredictor, one_blas_thread


@pytest.fixture(scope="module")
def data(space, bench):
    """Path encodings of 120 random cells and 500 others, with their mean accuracies."""
    rng = np.random.default_rng(0)
    raws = rng.choice(space.num_cells, 620, replace=False)
    x, y = space.path_encoding(raws).astype(np.float64), bench.mean_test_acc(raws)
    return x[:120], y[:120], x[120:], y[120:]


def test_ensemble_gradients_match_finite_differences(data):
    x, y = data[0][:30], data[1][:30]
    model = EnsemblePredictor(members=3, hidden=(4, 3), steps=1).fit(x, y, np.random.default_rng(1))
    xs, target = sparse.csr_matrix(x), (y - y.mean()) / y.std()

    def loss() -> float:  # sum over members of each member's mean absolute error
        return float(np.abs(model._forward(xs)[-1][:, :, 0] - target).mean(axis=1).sum())

    grads = model._grads(xs, target)
    rng = np.random.default_rng(2)
    for param, grad in zip(model.params, grads, strict=True):
        assert grad.shape == param.shape
        # The largest entries (most first-layer rows see no active path: zero gradient) and
        # a few random ones.
        picks = [*np.argsort(-np.abs(grad).ravel())[:3], *rng.choice(param.size, 2)]
        for index in picks:
            where = np.unravel_index(index, param.shape)
            saved = param[where]
            param[where] = saved + 1e-6
            up = loss()
            param[where] = saved - 1e-6
            down = loss()
            param[where] = saved
            assert grad[where] == pytest.approx((up - down) / 2e-6, abs=1e-5)


@pytest.mark.parametrize("model", [EnsemblePredictor(), DistanceGP()], ids=["mlp", "gp"])
def test_predictors_learn_the_ranking(model, data):
    x, y, x_new, y_new = data
    mean, std = model.fit(x, y, np.random.default_rng(0)).predict(x_new)
    assert mean.shape == std.shape == (len(x_new),) and (std > 0).all()
    assert spearmanr(mean, y_new)[0] > 0.6  # the synthetic table: conv ops help
    # On the scale of y (fractions): predictions land in its range, not standardised units.
    assert y.min() - 0.1 < np.median(mean) < y.max() + 0.1


def test_ensemble_is_seeded_by_the_generator(data):
    x, y, x_new, _ = data
    runs = [
        EnsemblePredictor(steps=20).fit(x, y, np.random.default_rng(s)).predict(x_new)[0]
        for s in (5, 5, 6)
    ]
    np.testing.assert_array_equal(runs[0], runs[1])
    assert not np.allclose(runs[0], runs[2])


def test_gp_interpolates_and_is_unsure_far_away(space):
    rng = np.random.default_rng(0)
    raws = rng.choice(space.num_cells, 40, replace=False)
    x = space.path_encoding(raws).astype(np.float64)
    y = x[:, :30].sum(axis=1) + rng.normal(0, 1e-3, 40)  # a smooth function of the paths
    model = DistanceGP(noises=(1e-4,)).fit(x, y, rng)
    mean, std = model.predict(x)
    np.testing.assert_allclose(mean, y, atol=0.05 * y.std())
    far = np.zeros((1, x.shape[1]))  # shares no path with any training cell
    assert model.predict(far)[1][0] > 5 * std.max()
    assert model.length in model.lengths and model.noise == 1e-4


def test_one_blas_thread_limits_blas_inside_only():
    from threadpoolctl import threadpool_info

    def blas_threads() -> set[int]:
        return {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}

    assert one_blas_thread(blas_threads)() == {1}
    assert one_blas_thread(lambda a, b=0: a + b)(2, b=3) == 5


def test_predictor_errors(data):
    x, y = data[0], data[1]
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="members must be an int >= 2"):
        EnsemblePredictor(members=1)
    with pytest.raises(ValueError, match="hidden must be one or more layer widths"):
        EnsemblePredictor(hidden=())
    with pytest.raises(ValueError, match="hidden must be one or more layer widths"):
        EnsemblePredictor(hidden=(20, 0))
    for model in (EnsemblePredictor(), DistanceGP()):
        with pytest.raises(ValueError, match="predict called before fit"):
            model.predict(x)
        with pytest.raises(ValueError, match=r"fit needs x \(n, d\) and y \(n,\)"):
            model.fit(x, y[:-1], rng)
        with pytest.raises(ValueError, match=r"fit needs x \(n, d\)"):
            model.fit(x[:0], y[:0], rng)
        with pytest.raises(ValueError, match="targets y must be finite"):
            model.fit(x, np.where(np.arange(len(y)) == 3, np.nan, y), rng)
