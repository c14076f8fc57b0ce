"""Performance predictors for model-based search: an ensemble of small MLPs (BANANAS, White,
Neiswanger & Savani, AAAI 2021) and a Gaussian process on a distance between encodings
(NASBOT's idea, Kandasamy et al., NeurIPS 2018). Numpy and scipy only, so the base install
can run them; every random draw comes from the generator passed to `fit`.

Both answer ``fit(x, y, rng) -> self`` and ``predict(x) -> (mean, std)`` for float (n, d)
features (e.g. `space.path_encoding`) and (n,) targets. Targets are standardised inside
(zero mean, unit variance), predictions returned on the targets' own scale.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import numpy as np
from scipy import sparse
from scipy.linalg import cho_factor, cho_solve

from nasbench_lite.errors import InputError


@functools.cache
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def one_blas_thread(method: Callable) -> Callable:
    """Run `method` with BLAS limited to one thread. These models' matrices are small: BLAS
    threads gain nothing on them, and on busy cores (`compare` runs one process per core)
    waking them costs ~10 ms a call, measured to slow a whole search down 6-fold."""

    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _blas_controller().limit(limits=1, user_api="blas"):
            return method(*args, **kwargs)

    return wrapper


def _standardise(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    mean, scale = float(y.mean()), float(y.std())
    scale = scale if scale > 1e-12 else 1.0
    return (y - mean) / scale, mean, scale


def _check_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.shape != (len(x),) or len(x) == 0:
        raise InputError(f"fit needs x (n, d) and y (n,) with n >= 1, got {x.shape} and {y.shape}")
    if not np.isfinite(y).all():
        raise InputError("fit targets y must be finite (leave diverged results out)")
    return x, y


class EnsemblePredictor:
    """`members` MLPs (ReLU, `hidden` widths) trained together by full-batch Adam on the mean
    absolute error (BANANAS's loss), each from its own random initialisation; the prediction
    is the members' mean and their standard deviation.

    The first layer multiplies a sparse copy of x: a path encoding has a few ones per row.
    """

    def __init__(
        self, members: int = 5, hidden: tuple[int, ...] = (20, 20), steps: int = 100,
        learning_rate: float = 0.01,
    ) -> None:  # fmt: skip
        if not isinstance(members, int) or members < 2:
            raise InputError(f"members must be an int >= 2 (a spread needs two), got {members!r}")
        if not hidden or any(not isinstance(h, int) or h < 1 for h in hidden):
            raise InputError(f"hidden must be one or more layer widths >= 1, got {hidden!r}")
        self.members, self.hidden = members, tuple(hidden)
        self.steps, self.learning_rate = steps, learning_rate
        self.params: list[np.ndarray] = []  # see `fit`

    @one_blas_thread
    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> EnsemblePredictor:
        x, y = _check_xy(x, y)
        target, self._mean, self._scale = _standardise(y)
        k, widths = self.members, (x.shape[1], *self.hidden, 1)
        # Glorot-uniform weights and zero biases (Keras's defaults, as in BANANAS's code).
        # params: first weights (d, members, h1), then (members, a, b) weights of the other
        # layers, then biases (members, 1, b) of every layer.
        shapes = [(widths[0], k, widths[1])]
        shapes += [(k, a, b) for a, b in zip(widths[1:-1], widths[2:], strict=True)]
        fans = list(zip(widths[:-1], widths[1:], strict=True))
        sizes = [*shapes, *[(k, 1, b) for b in widths[1:]]]
        counts = [math.prod(size) for size in sizes]
        flat = np.zeros(sum(counts))  # every parameter in one array; params are views of it
        parts = np.split(flat, np.cumsum(counts)[:-1])
        self.params = [part.reshape(size) for part, size in zip(parts, sizes, strict=True)]
        for p, shape, fan in zip(self.params, shapes, fans, strict=False):  # biases: 0
            p[...] = rng.uniform(-1, 1, shape) * math.sqrt(6 / sum(fan))
        m, v = np.zeros_like(flat), np.zeros_like(flat)
        xs = sparse.csr_matrix(x)
        for t in range(1, self.steps + 1):  # Adam on the flat array (its views follow)
            g = np.concatenate([g.ravel() for g in self._grads(xs, target)])
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            flat -= self.learning_rate * (m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.999**t)) + 1e-8)
        return self

    def _forward(self, xs) -> list[np.ndarray]:
        """Activations after each layer, each (members, n, width); the last is the output."""
        num_layers = len(self.hidden) + 1
        weights, biases = self.params[:num_layers], self.params[num_layers:]
        d, k, h = weights[0].shape
        z = (xs @ weights[0].reshape(d, k * h)).reshape(-1, k, h).transpose(1, 0, 2)
        layers = [np.maximum(z + biases[0], 0.0)]
        for i in range(1, num_layers):
            z = np.matmul(layers[-1], weights[i]) + biases[i]
            layers.append(z if i == num_layers - 1 else np.maximum(z, 0.0))
        return layers

    def _grads(self, xs, target: np.ndarray) -> list[np.ndarray]:
        """Gradients of each member's mean absolute error, in the order of `params`."""
        layers = self._forward(xs)
        num_layers = len(layers)
        delta = np.sign(layers[-1] - target[None, :, None]) / xs.shape[0]  # (members, n, 1)
        dw, db = [None] * num_layers, [None] * num_layers
        for i in range(num_layers - 1, 0, -1):
            dw[i] = np.matmul(layers[i - 1].transpose(0, 2, 1), delta)
            db[i] = delta.sum(axis=1, keepdims=True)
            delta = np.matmul(delta, self.params[i].transpose(0, 2, 1)) * (layers[i - 1] > 0)
        d, k, h = self.params[0].shape
        dw[0] = (xs.T @ delta.transpose(1, 0, 2).reshape(-1, k * h)).reshape(d, k, h)
        db[0] = delta.sum(axis=1, keepdims=True)
        return dw + db

    @one_blas_thread
    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mean, std) over members, each (n,) float64, on the scale of the fitted y."""
        if not self.params:
            raise InputError("predict called before fit")
        xs = sparse.csr_matrix(np.asarray(x, dtype=np.float64))
        out = self._forward(xs)[-1][:, :, 0] * self._scale  # (members, n)
        return out.mean(axis=0) + self._mean, out.std(axis=0)


class DistanceGP:
    """Gaussian process with kernel ``exp(-distance / length)``, the distance being the
    Hamming distance between 0/1 encodings (for 0/1 vectors, the squared Euclidean distance:
    the kernel is an RBF kernel on the encodings, so always positive definite). The length
    and the noise variance are chosen from small grids by the marginal likelihood; the
    signal variance is 1 on standardised targets."""

    def __init__(
        self, lengths: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0),
        noises: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 0.5),
    ) -> None:  # fmt: skip
        self.lengths, self.noises = tuple(lengths), tuple(noises)

    @one_blas_thread
    def fit(self, x: np.ndarray, y: np.ndarray, rng: np.random.Generator) -> DistanceGP:
        """`rng` is unused (the fit is deterministic); it is taken for a common interface."""
        x, y = _check_xy(x, y)
        target, self._mean, self._scale = _standardise(y)
        distance = _hamming(x, x)
        best = -math.inf
        for length in self.lengths:
            kernel = np.exp(-distance / length)
            for noise in self.noises:
                factor = cho_factor(kernel + noise * np.eye(len(x)), lower=True)
                alpha = cho_solve(factor, target)
                # log marginal likelihood, up to a constant
                fit = -0.5 * target @ alpha - np.log(np.diag(factor[0])).sum()
                if fit > best:
                    best, self.length, self.noise = fit, length, noise
                    self._factor, self._alpha = factor, alpha
        self._x = x
        return self

    @one_blas_thread
    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior (mean, std) of the latent function, each (n,) float64."""
        if not hasattr(self, "_x"):
            raise InputError("predict called before fit")
        cross = np.exp(-_hamming(np.asarray(x, dtype=np.float64), self._x) / self.length)
        mean = cross @ self._alpha
        var = 1.0 - np.einsum("ij,ji->i", cross, cho_solve(self._factor, cross.T))
        std = np.sqrt(np.maximum(var, 1e-12))
        return mean * self._scale + self._mean, std * self._scale


def _hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Number of differing entries between rows of 0/1 arrays a (n, d) and b (m, d): (n, m)."""
    return a.sum(1)[:, None] + b.sum(1)[None, :] - 2.0 * a @ b.T
