"""The host's float64 step of the Jacobian and ReLU-code proxies (numpy only).

jacov (Mellor et al. 2021, v1, as NASLib's ``jacov``), epe_nas (Lopes et al. 2021, as
NASLib's ``epe_nas``) and nwot (Mellor et al. 2021, v2) end in a correlation matrix, its
eigenvalues or a log-determinant of a batch-by-batch matrix: done here, in double precision,
from what ``measures.input_measures`` returns.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-5  # the reference code's k


def jacov(jacobian: np.ndarray) -> float:
    """-sum_i (log(v_i + k) + 1 / (v_i + k)) over the eigenvalues v of the correlation
    matrix of the per-example input gradients (jacobian (n, features))."""
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(np.asarray(jacobian, np.float64))
    if not np.isfinite(corr).all():
        return float("nan")  # a constant row (e.g. a zero Jacobian) has no correlation
    v = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(v + EPS) + 1.0 / (v + EPS)))


def epe_nas(jacobian: np.ndarray, labels: np.ndarray, num_classes: int) -> float:
    """sum over the classes c in the batch of |sum_ij log(|C^c_ij| + k)|, C^c the correlation
    matrix of class c's per-example input gradients (one example: C = [[1]]); with more than
    100 classes the reference's normalised pairwise form, sum_c,c' |s_c - s_c'| / classes."""
    jacobian = np.asarray(jacobian, np.float64)
    labels = np.asarray(labels)
    per_class = []
    for c in np.unique(labels):
        rows = jacobian[labels == c]
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.atleast_2d(np.corrcoef(rows)) if len(rows) > 1 else np.ones((1, 1))
        if not np.isfinite(corr).all():
            # A constant row (e.g. a zero gradient): no correlation; the class is left out
            # (NASLib's sum would turn the whole score NaN; docs/proxies.md, "Failures").
            continue
        s = np.sum(np.log(np.abs(corr) + EPS))
        per_class.append(s / len(corr) if num_classes > 100 else s)
    if num_classes <= 100:
        return float(np.sum(np.abs(per_class)))
    s = np.asarray(per_class)
    return float(np.abs(s[:, None] - s[None, :]).sum() / max(len(s), 1))


def nwot(kernel: np.ndarray) -> float:
    """log |det K_H| of the ReLU-code kernel (n, n), -inf where K_H is singular: decided
    exactly where two examples share a ReLU code (two equal rows), which floating point
    may score as a finite number like any other; and a finite negative value, which no
    non-singular K of these integer counts has (|det K| >= 1), is rounding noise of a
    singular K."""
    k = np.asarray(kernel, np.float64)
    if len(np.unique(k, axis=0)) < len(k):
        return float("-inf")
    logdet = float(np.linalg.slogdet(k)[1])
    return logdet if logdet >= 0 else float("-inf")
