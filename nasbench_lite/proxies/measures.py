"""Zero-cost proxies of ONE network at its initialisation, in JAX (the measures of Abdelfattah
et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, as NASLib's
`predictors/utils/pruners/measures` computes them; White et al., NeurIPS 2022 benchmarks).

A network is seen through ``model(variables, x) -> (logits, intermediates)``: Flax
``apply`` in training mode (batch norm normalises with the batch's statistics, as the
reference code's ``net.train()``), the "batch_stats" and "intermediates" collections
mutable. The network marks what the proxies read (``spaces.network.mark_relu_input``,
``mark_output``, a ``features`` sow before global pooling, a ``taps`` sow where a masked
layer stands for a conv that a plain network may not build). Weights are the leaves named
``kernel`` (conv and dense weights; biases are left out, as NASLib reads ``layer.weight``).
Sums run over every weight, so a kernel a plain network does not build adds nothing: its
gradient is zero, and ``l2_norm`` masks it by ``taps``.

The scalar measures are computed here; jacov, epe_nas and nwot end in a small float64
linear-algebra step on the host (``proxies.scores``) from the Jacobian and the kernel.
"""

from __future__ import annotations

import math
import zlib

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from flax.traverse_util import flatten_dict, unflatten_dict

ZEN_MIXUP = 1e-2  # Zen-NAS's perturbation scale (mixup_gamma)


def _flat(tree) -> dict[tuple, jnp.ndarray]:
    return flatten_dict(tree) if tree else {}


def kernels(params) -> dict[tuple, jnp.ndarray]:
    """The weights: every leaf named ``kernel``, by path."""
    return {path: w for path, w in _flat(params).items() if path[-1] == "kernel"}


def kernel_mask(path: tuple, kernel: jnp.ndarray, intermediates) -> jnp.ndarray:
    """1 if a plain network builds this kernel, else 0: a module that sows ``taps`` builds
    only its kernel with that many taps (none for 0); any other kernel is always built."""
    sown = _flat(intermediates)
    for cut in range(len(path) - 1, 0, -1):
        if (found := sown.get((*path[:cut], "taps"))) is not None:
            return (found[0] == math.prod(kernel.shape[:-2])).astype(kernel.dtype)
    return jnp.ones((), kernel.dtype)


def _loss(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()


def _zero_kernels_only(tree):
    """`tree` with every leaf that is not a weight set to zero."""
    flat = _flat(tree)
    kept = {k: v if k[-1] == "kernel" else jnp.zeros_like(v) for k, v in flat.items()}
    return unflatten_dict(kept)


def gradient_measures(model, variables, x, y) -> dict[str, jnp.ndarray]:
    """snip, grasp, fisher, grad_norm, plain from the cross-entropy of (x, y), float32 scalars.

    snip = sum |dL/dw * w| (Lee et al. 2019: the gradient w.r.t. a unit mask on w);
    plain = sum dL/dw * w; grad_norm = sum over weight tensors of ||dL/dw||_2;
    grasp = -sum w * (H g) with g = dL/dw held fixed (Wang et al. 2020, NASLib's sign);
    fisher = sum over marked layer outputs a, channels k: fan_in * 0.5 mean_n (sum over
    positions of a * dL/da)^2 (Turner et al. 2020), each channel's value counted once per
    weight of that channel, as NASLib broadcasts it to the weights.
    """
    params = variables["params"]
    perturbations = variables["perturbations"]
    rest = {k: v for k, v in variables.items() if k not in ("params", "perturbations")}

    def loss(p, e):
        logits, sown = model({**rest, "params": p, "perturbations": e}, x)
        return _loss(logits, y), sown

    (_, sown), (grads, out_grads) = jax.value_and_grad(loss, (0, 1), has_aux=True)(
        params, perturbations
    )
    w, g = kernels(params), kernels(grads)
    snip = sum(jnp.abs(g[k] * w[k]).sum() for k in w)
    plain = sum((g[k] * w[k]).sum() for k in w)
    grad_norm = sum(jnp.sqrt((g[k] ** 2).sum()) for k in w)

    # Hessian-vector product H g (forward over reverse), g restricted to the weights.
    def grad_fn(p):
        return jax.grad(lambda q: loss(q, perturbations)[0])(p)

    direction = jax.lax.stop_gradient(_zero_kernels_only(grads))
    hg = kernels(jax.jvp(grad_fn, (params,), (direction,))[1])
    grasp = -sum((w[k] * hg[k]).sum() for k in w)

    flat_sown, flat_out = _flat(sown), _flat(out_grads)
    fisher = jnp.zeros((), jnp.float32)
    for path, d_out in flat_out.items():
        act = flat_sown[(*path[:-1], "output")][0]
        fan_in = flat_sown[(*path[:-1], "fan_in")][0]
        per_channel = (act * d_out).reshape(act.shape[0], -1, act.shape[-1]).sum(1)
        fisher = fisher + fan_in * jnp.abs(0.5 * (per_channel**2).mean(0)).sum()
    return {"snip": snip, "grasp": grasp, "fisher": fisher, "grad_norm": grad_norm,
            "plain": plain}  # fmt: skip


def input_measures(model, variables, x) -> dict[str, jnp.ndarray]:
    """jacobian (n, features), nwot_kernel (n, n) and the sown intermediates of one forward
    pass on x.

    jacobian: d(sum of all outputs)/dx per example (Mellor et al. 2021 v1, as NASLib's
    jacov and epe_nas take it: ``y.backward(ones_like(y))``); nwot_kernel: K_H summed
    over the ReLUs a plain network builds, K_ij = codes on which examples i and j agree
    (both active or both inactive), i.e. units minus the Hamming distance (Mellor et al.
    2021 v2).
    """
    params = variables["params"]
    rest = {k: v for k, v in variables.items() if k not in ("params", "perturbations")}

    def total(inputs):
        logits, sown = model({**rest, "params": params}, inputs)
        return logits.sum(), sown

    jacobian, sown = jax.grad(total, has_aux=True)(x)
    n = x.shape[0]
    kernel = jnp.zeros((n, n), jnp.float32)
    flat = _flat(sown)
    for path, inputs in flat.items():
        if path[-1] != "relu_input":
            continue
        for value, active in zip(inputs, flat[(*path[:-1], "relu_active")], strict=True):
            code = (value > 0).reshape(n, -1).astype(jnp.float32)
            agree = code @ code.T + (1 - code) @ (1 - code).T
            kernel = kernel + jnp.where(active, agree, 0.0)
    return {"jacobian": jacobian.reshape(n, -1), "nwot_kernel": kernel, "sown": sown}


def l2_norm(variables, intermediates) -> jnp.ndarray:
    """Sum over the weight tensors a plain network builds of their L2 (Frobenius) norm."""
    return sum(
        kernel_mask(path, w, intermediates) * jnp.sqrt((w**2).sum())
        for path, w in kernels(variables["params"]).items()
    )


def _skip_norm(next_fun, args, kwargs, context):
    """Method interceptor: batch norm becomes the identity (NASLib's ``bn=False``)."""
    if isinstance(context.module, nn.BatchNorm) and context.method_name == "__call__":
        return args[0]
    return next_fun(*args, **kwargs)


def synflow(model, variables, input_shape: tuple[int, ...], dtype=jnp.float64) -> jnp.ndarray:
    """sum |w * dR/dw| with every parameter replaced by its absolute value, batch norm off,
    R = sum of the outputs for one all-ones input (Tanaka et al. 2020; NASLib's
    ``synflow`` with ``bn=False``, in double precision as there: pass ``dtype`` float64
    under ``jax.enable_x64``)."""
    params = jax.tree.map(lambda p: jnp.abs(p).astype(dtype), variables["params"])
    rest = {k: v for k, v in variables.items() if k not in ("params", "perturbations")}
    ones = jnp.ones((1, *input_shape), dtype)

    def flow(p):
        with nn.intercept_methods(_skip_norm):
            return model({**rest, "params": p}, ones)[0].sum()

    grads = kernels(jax.grad(flow)(params))
    return sum(jnp.abs(w * grads[k]).sum() for k, w in kernels(params).items())


def zen(model, variables, key, x_shape: tuple[int, ...]) -> jnp.ndarray:
    """Zen score (Lin et al., ICCV 2021): weights redrawn from N(0, 1) (biases 0), a Gaussian
    batch x and x' = x + 0.01 eps; log E_n sum |f(x) - f(x')| over the pre-pooling features
    f, plus sum over the batch norms a plain network builds of log sqrt(mean over channels
    of the batch variance of the norm's input on x) (the paper's BN variance; NASLib reads
    PyTorch's running variance after two passes instead)."""
    k_weights, k_x, k_eps = jax.random.split(key, 3)
    x = jax.random.normal(k_x, x_shape)
    mixed = x + ZEN_MIXUP * jax.random.normal(k_eps, x_shape)
    return zen_score(model, variables, gaussian_weights(k_weights, variables["params"]), x, mixed)


def gaussian_weights(key, params):
    """``params`` with every weight drawn from N(0, 1) and every other leaf 0 (Zen-NAS's
    initialisation). A weight's key depends on its path alone, so a network that holds more
    kernels (the masked cell) draws the same values for the weights it shares."""

    def draw(path, p):
        if path[-1] != "kernel":
            return jnp.zeros_like(p)
        tag = zlib.crc32("/".join(path).encode()) & 0x7FFFFFFF
        return jax.random.normal(jax.random.fold_in(key, tag), p.shape, p.dtype)

    return unflatten_dict({path: draw(path, p) for path, p in _flat(params).items()})


def zen_score(model, variables, params, x, mixed) -> jnp.ndarray:
    """The Zen score of ``zen`` for given weights ``params`` and inputs x and x' (mixed)."""
    rest = {k: v for k, v in variables.items() if k not in ("params", "perturbations")}
    variances = []

    def record(next_fun, args, kwargs, context):
        if isinstance(context.module, nn.BatchNorm) and context.method_name == "__call__":
            axes = tuple(range(args[0].ndim - 1))
            variances.append((context.module.path, args[0].var(axes).mean()))
        return next_fun(*args, **kwargs)

    with nn.intercept_methods(record):
        sown = model({**rest, "params": params}, x)[1]
    mixed_sown = model({**rest, "params": params}, mixed)[1]
    flat_sown, flat_mixed = _flat(sown), _flat(mixed_sown)
    features = next(v[0] for p, v in flat_sown.items() if p[-1] == "features")
    mixed_features = next(v[0] for p, v in flat_mixed.items() if p[-1] == "features")
    delta = jnp.abs(features - mixed_features).reshape(x.shape[0], -1).sum(1).mean()
    score = jnp.log(delta)
    for path, variance in variances:
        built = flat_sown.get((*path[:-1], "taps"))
        keep = True if built is None else built[0] > 0
        # A norm a plain network lacks sees an all-zero input: log 0 must not reach the sum.
        score = score + jnp.where(keep, 0.5 * jnp.log(jnp.where(keep, variance, 1.0)), 0.0)
    return score


def all_measures(model, variables, x, y, zen_key) -> dict[str, jnp.ndarray]:
    """Every measure computed in the network for one minibatch (x, y): the scalars of
    `gradient_measures`, l2_norm and zen, plus `input_measures`' jacobian and nwot_kernel
    (synflow runs apart, in double precision)."""
    out = gradient_measures(model, variables, x, y)
    out.update(input_measures(model, variables, x))
    out["l2_norm"] = l2_norm(variables, out.pop("sown"))
    out["zen"] = zen(model, variables, zen_key, x.shape)
    return out
