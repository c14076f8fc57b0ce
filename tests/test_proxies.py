"""Zero-cost proxies: every measure against an independent float64 NumPy computation (finite
differences, explicit Hamming distances and correlations) or a closed form on small networks,
the masked network against the plain reference network, batched against one pair."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from nasbench_lite.proxies import measures, scores
from nasbench_lite.spaces.network import mark_output, mark_relu_input

N, D, H, C = 8, 5, 6, 3
EPS = 1e-5  # flax BatchNorm's epsilon


class Layer(nn.Module):
    features: int
    use_bias: bool

    @nn.compact
    def __call__(self, x):
        return mark_output(self, nn.Dense(self.features, use_bias=self.use_bias)(x), x.shape[-1])


class MLP(nn.Module):
    """x -> dense -> batch norm (batch statistics) -> ReLU -> dense with bias."""

    @nn.compact
    def __call__(self, x):
        a = Layer(H, False, name="hidden")(x)
        z = nn.BatchNorm(use_running_average=False, use_bias=False, use_scale=False)(a)
        mark_relu_input(self, z)
        r = nn.relu(z)
        self.sow("intermediates", "features", r)
        return Layer(C, True, name="out")(r)


def _model(module):
    def model(variables, x):
        logits, state = module.apply(variables, x, mutable=["batch_stats", "intermediates"])
        return logits, state.get("intermediates", {})

    return model


@pytest.fixture(scope="module")
def mlp():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D)).astype(np.float32)
    y = rng.integers(0, C, N)
    variables = MLP().init(jax.random.PRNGKey(3), x)
    variables = {k: v for k, v in variables.items() if k != "intermediates"}
    p = variables["params"]
    w = {
        "W0": np.asarray(p["hidden"]["Dense_0"]["kernel"], np.float64),
        "W1": np.asarray(p["out"]["Dense_0"]["kernel"], np.float64),
        "b1": np.asarray(p["out"]["Dense_0"]["bias"], np.float64),
    }
    return x.astype(np.float64), y, variables, w


# -- the NumPy reference: forward pass and central differences in float64 ------------------


def _forward(w, x, e0=0.0, e1=0.0):
    a0 = x @ w["W0"] + e0
    z = (a0 - a0.mean(0)) / np.sqrt(a0.var(0) + EPS)
    r = np.maximum(z, 0)
    return a0, z, r, r @ w["W1"] + w["b1"] + e1


def _loss(w, x, y, e0=0.0, e1=0.0):
    logits = _forward(w, x, e0, e1)[3]
    logits = logits - logits.max(1, keepdims=True)
    return float(np.mean(np.log(np.exp(logits).sum(1)) - logits[np.arange(len(y)), y]))


def _numgrad(f, value, h=1e-5):
    grad = np.zeros_like(value)
    for i in np.ndindex(value.shape):
        up, down = value.copy(), value.copy()
        up[i] += h
        down[i] -= h
        grad[i] = (f(up) - f(down)) / (2 * h)
    return grad


def _param_grads(w, x, y):
    return {k: _numgrad(lambda v, k=k: _loss({**w, k: v}, x, y), w[k]) for k in w}


def test_gradient_measures_match_finite_differences(mlp):
    x, y, variables, w = mlp
    got = jax.jit(lambda v: measures.gradient_measures(_model(MLP()), v, x.astype(np.float32), y))(
        variables
    )
    g = _param_grads(w, x, y)
    weights = ("W0", "W1")  # the bias is not a weight
    snip = sum(np.abs(g[k] * w[k]).sum() for k in weights)
    assert float(got["snip"]) == pytest.approx(snip, rel=1e-3)
    assert float(got["plain"]) == pytest.approx(sum((g[k] * w[k]).sum() for k in weights), rel=1e-3)
    assert float(got["grad_norm"]) == pytest.approx(
        sum(np.linalg.norm(g[k]) for k in weights), rel=1e-3
    )
    # grasp: -w . (H v), v = the weights' gradient (bias 0), H v by differences of gradients.
    v = {k: g[k] if k in weights else np.zeros_like(g[k]) for k in w}
    delta = 1e-3
    plus = _param_grads({k: w[k] + delta * v[k] for k in w}, x, y)
    minus = _param_grads({k: w[k] - delta * v[k] for k in w}, x, y)
    hv = {k: (plus[k] - minus[k]) / (2 * delta) for k in w}
    grasp = -sum((w[k] * hv[k]).sum() for k in weights)
    assert float(got["grasp"]) == pytest.approx(grasp, rel=1e-2, abs=1e-6)
    # fisher: per layer output a and channel k, fan_in * 0.5 mean_n (a * dL/da)^2.
    a0, _, _, a1 = _forward(w, x)
    d0 = _numgrad(lambda e: _loss(w, x, y, e0=e), np.zeros_like(a0))
    d1 = _numgrad(lambda e: _loss(w, x, y, e1=e), np.zeros_like(a1))
    fisher = D * (0.5 * ((a0 * d0) ** 2).mean(0)).sum() + H * (0.5 * ((a1 * d1) ** 2).mean(0)).sum()
    assert float(got["fisher"]) == pytest.approx(fisher, rel=1e-3)


def test_input_measures_match_finite_differences_and_hamming_distances(mlp):
    x, _, variables, w = mlp
    got = jax.jit(lambda v: measures.input_measures(_model(MLP()), v, x.astype(np.float32)))(
        variables
    )
    jacobian = _numgrad(lambda v: _forward(w, v)[3].sum(), x.copy())
    np.testing.assert_allclose(got["jacobian"], jacobian, rtol=1e-3, atol=1e-4)
    codes = _forward(w, x)[1] > 0
    hamming = np.array([[np.sum(ci != cj) for cj in codes] for ci in codes])
    np.testing.assert_array_equal(got["nwot_kernel"], H - hamming)


def test_l2_norm_sums_the_weights_norms(mlp):
    x, _, variables, w = mlp
    got = measures.l2_norm(variables, _model(MLP())(variables, x.astype(np.float32))[1])
    assert float(got) == pytest.approx(np.linalg.norm(w["W0"]) + np.linalg.norm(w["W1"]), rel=1e-6)


def test_zen_score_matches_numpy(mlp):
    x, _, variables, _ = mlp
    gauss = measures.gaussian_weights(jax.random.PRNGKey(7), variables["params"])
    mixed = x + 0.01 * np.random.default_rng(1).normal(size=x.shape)
    got = measures.zen_score(_model(MLP()), variables, gauss, x.astype(np.float32),
                             mixed.astype(np.float32))  # fmt: skip
    w = {
        "W0": np.asarray(gauss["hidden"]["Dense_0"]["kernel"], np.float64),
        "W1": np.asarray(gauss["out"]["Dense_0"]["kernel"], np.float64),
        "b1": np.zeros(C),
    }
    assert np.all(w["W0"] != 0) and np.all(np.asarray(gauss["out"]["Dense_0"]["bias"]) == 0)
    a0, _, r, _ = _forward(w, x)
    delta = np.abs(r - _forward(w, mixed)[2]).sum(1).mean()
    expected = np.log(delta) + np.log(np.sqrt(a0.var(0).mean()))
    assert float(got) == pytest.approx(expected, rel=1e-4)


class Chain(nn.Module):
    """Three bias-free dense layers with batch norms between them."""

    @nn.compact
    def __call__(self, x):
        for k, width in enumerate((4, 3, 2)):
            if k:
                x = nn.relu(nn.BatchNorm(use_running_average=False)(x))
            x = nn.Dense(width, use_bias=False)(x)
        return x


def test_synflow_of_a_linear_chain_is_depth_times_the_path_sum():
    x = jnp.ones((1, 5))
    variables = Chain().init(jax.random.PRNGKey(0), x)
    model = _model(Chain())
    with jax.enable_x64(True):
        got = measures.synflow(model, variables, (5,), jnp.float64)
        assert got.dtype == jnp.float64
    ws = [np.abs(np.asarray(variables["params"][f"Dense_{k}"]["kernel"], np.float64))
          for k in range(3)]  # fmt: skip
    # With |w| and a positive input every ReLU passes everything and batch norm is off, so
    # R = 1 |W0| |W1| |W2| 1 is homogeneous of degree 1 in each layer: sum w dR/dw = R each.
    path_sum = np.ones(5) @ ws[0] @ ws[1] @ ws[2] @ np.ones(2)
    assert float(got) == pytest.approx(3 * path_sum, rel=1e-12)


# -- the host's scores against explicit formulas --------------------------------------------


def _pearson(a, b):
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum())


def test_jacov_from_the_correlation_eigenvalues():
    jac = np.random.default_rng(0).normal(size=(6, 20))
    corr = np.array([[_pearson(a, b) for b in jac] for a in jac])
    v = np.real(np.linalg.eig(corr)[0])  # the reference code's general eig
    assert scores.jacov(jac) == pytest.approx(-np.sum(np.log(v + 1e-5) + 1 / (v + 1e-5)))
    jac[2] = 0.0
    assert np.isnan(scores.jacov(jac))


def test_epe_nas_sums_the_per_class_log_correlations():
    rng = np.random.default_rng(1)
    jac, labels = rng.normal(size=(9, 12)), np.array([0, 1, 0, 2, 1, 0, 1, 1, 2])
    expected = 0.0
    for c in range(3):
        rows = jac[labels == c]
        s = sum(np.log(abs(_pearson(a, b)) + 1e-5) for a in rows for b in rows)
        expected += abs(s)
    assert scores.epe_nas(jac, labels, 10) == pytest.approx(expected)
    single = scores.epe_nas(jac[:2], labels[:2], 10)  # one example per class: C = [[1]]
    assert single == pytest.approx(2 * abs(np.log(1 + 1e-5)))


def kernel(codes: np.ndarray) -> np.ndarray:
    """K_H: units minus the Hamming distance of two examples' ReLU codes."""
    units = codes.shape[1]
    return np.array([[units - np.sum(a != b) for b in codes] for a in codes], np.float64)


def test_nwot_is_the_log_determinant():
    codes = np.random.default_rng(2).random((5, 30)) > 0.5
    k = kernel(codes)
    assert scores.nwot(k) == pytest.approx(np.log(abs(np.linalg.det(k))))


def test_nwot_of_two_equal_codes_is_minus_infinity_not_a_rounding_value():
    """Two examples with one ReLU code make K_H exactly singular; floating point often
    scores such kernels as finite numbers among the others' (checked: it does here)."""
    rng = np.random.default_rng(3)
    finite_before = 0
    for _ in range(40):
        codes = rng.random((32, 4000)) > 0.5
        codes[rng.integers(32)] = codes[rng.integers(32)]  # possibly the same row: then not
        k = kernel(codes)
        if len(np.unique(codes, axis=0)) == 32:
            assert np.isfinite(scores.nwot(k)) and scores.nwot(k) >= 0
            continue
        finite_before += bool(np.isfinite(np.linalg.slogdet(k)[1]))
        assert scores.nwot(k) == -np.inf
    assert finite_before > 0  # the floating-point log-determinant misses some


# -- the NB-201 network: masked (batched) against plain, and into a table --------------------

CELLS = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    # node 1 is dead: the plain cell builds neither conv out of it
    "|none~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|",
)


def _network_measures(network, cell, x, y):
    variables = network.init(jax.random.PRNGKey(0), x, cell, False)
    variables = {k: v for k, v in variables.items() if k != "intermediates"}

    def model(v, xb):
        logits, state = network.apply(v, xb, cell, True, mutable=["batch_stats", "intermediates"])
        return logits, state["intermediates"]

    out = measures.all_measures(model, variables, x, y, jax.random.PRNGKey(5))
    out["synflow"] = measures.synflow(model, variables, x.shape[1:], jnp.float32)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("text", CELLS)
def test_the_masked_network_gives_the_plain_networks_proxies(text):
    """Every op computed on every edge, unused kernels held: the same proxies as the plain
    network that builds only the cell's own layers (real flax Conv, no masks)."""
    from nasbench_lite.spaces import get_space
    from nasbench_lite.train.config import get_preset
    from nasbench_lite.train.reference import reference_network
    from nasbench_lite.train.trainer import make_network

    space, config = get_space(), get_preset("tiny")
    ops = space.cell(space.to_raw(text))
    x = jax.random.normal(jax.random.PRNGKey(1), (16, 40, 1))
    y = jnp.arange(16) % 10
    cell = jnp.asarray(ops, jnp.int32)
    masked = _network_measures(make_network(config, 10, branch=False), cell, x, y)
    plain = _network_measures(reference_network(tuple(map(int, ops)), config, 10), cell, x, y)
    for name, value in plain.items():
        np.testing.assert_allclose(masked[name], value, rtol=2e-4, atol=1e-6, err_msg=name)
    assert float(plain["fisher"]) > 0 and float(plain["l2_norm"]) > 0


def stopping_at_second_call(original):
    """`original` that raises KeyboardInterrupt (a Ctrl-C) on its second call."""
    calls = []

    def stop_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(*args, **kwargs)

    return stop_second


@pytest.fixture(scope="module")
def proxy_table(tmp_path_factory):
    """A 5-class, 2-seed table of the tiny recipe with its proxies, computed in chunks of 2
    classes and stopped (Ctrl-C) after the first chunk, then resumed."""
    from nasbench_lite.proxies import batched
    from nasbench_lite.proxies.writer import ProxiesConfig, compute_proxies
    from nasbench_lite.table.synthetic import synthetic_table
    from nasbench_lite.train.config import get_preset

    path = tmp_path_factory.mktemp("proxies") / "t.h5"
    config = get_preset("tiny").to_dict()
    synthetic_table(path, rows=5, seeds=2, epochs=config["epochs"], rng=3,
                    attrs={"config": config, "preset": "tiny"})  # fmt: skip
    options = {"xla_backend_optimization_level": 0}
    original = batched.proxy_cells
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batched, "COMPILER_OPTIONS", options)
        mp.setattr(batched, "proxy_cells", stopping_at_second_call(original))
        with pytest.raises(KeyboardInterrupt):
            compute_proxies(path, ProxiesConfig(chunk=2), progress=False)
        from nasbench_lite.table.reader import Table

        partial = Table.open(path)
        mp.setattr(batched, "proxy_cells", original)
        table = compute_proxies(path, ProxiesConfig(), progress=False)
    return path, partial, table


@pytest.mark.slow
def test_proxies_resume_after_an_interrupt_and_match_one_pair_alone(proxy_table):
    from nasbench_lite.proxies import COMPUTED, batched
    from nasbench_lite.proxies.writer import pending_rows
    from nasbench_lite.spaces import get_space
    from nasbench_lite.train.config import get_preset

    path, partial, table = proxy_table
    assert len(pending_rows(partial.arrays)) == 3  # the first chunk of 2 classes was kept
    assert np.isnan(partial.metric("proxy_snip")[pending_rows(partial.arrays)]).all()
    done = np.flatnonzero(partial.arrays["proxies/done"])
    for name in COMPUTED:  # the resumed run leaves the finished rows as they were
        np.testing.assert_array_equal(partial.metric(f"proxy_{name}")[done],
                                      table.metric(f"proxy_{name}")[done])  # fmt: skip
        assert np.isfinite(table.metric(f"proxy_{name}")).all(), name
    assert table.attrs["proxies"]["chunk_classes"] == 2 and len(pending_rows(table.arrays)) == 0
    # The batched value of one pair is that pair computed alone, un-batched, eagerly.
    probe, flow = batched.make_probe(get_preset("tiny"), 10, get_space())
    from nasbench_lite.datasets import load_dataset
    from nasbench_lite.train.config import splits

    x_train, y_train = splits(load_dataset("mnist1d"), get_preset("tiny"))[:2]
    row, seed = 3, 1
    cell = jnp.asarray(table.arrays["cells/ops"][row], jnp.int32)
    alone = probe(jax.random.PRNGKey(seed), cell, x_train, y_train)
    for name in ("snip", "grasp", "fisher", "grad_norm", "plain", "zen", "l2_norm"):
        assert table.metric(f"proxy_{name}")[row, seed] == pytest.approx(
            float(alone[name]), rel=1e-3
        ), name
    assert table.metric("proxy_nwot")[row, seed] == pytest.approx(
        scores.nwot(np.asarray(alone["nwot_kernel"])), rel=1e-6
    )
    # Same seed, same value; another seed, another value.
    assert table.metric("proxy_snip")[row, 0] != table.metric("proxy_snip")[row, 1]


@pytest.mark.slow
def test_proxies_reach_query_details_objective_synetune_and_card(proxy_table, capsys, tmp_path):
    from nasbench_lite.cli import main
    from nasbench_lite.table.proxy_stats import proxy_statistics

    path, _, table = proxy_table
    raw = int(table.row_raw[2])
    assert main(["query", str(path), str(raw), "--details"]) == 0
    out = capsys.readouterr().out
    assert "zero-cost proxies" in out and "synflow" in out and "proxy_jacov" in out
    record = table.details(raw)
    assert len(record["per_seed"]["proxy_zen"]) == 2
    from nasbench_lite.adapters.synetune import objective_names

    assert "metric_proxy_synflow" in objective_names(table)
    from nasbench_lite.adapters.objective import objective

    answer = objective(table, seed=0)(raw)
    assert answer["proxy_synflow"] in table.metric("proxy_synflow")[2]  # one seed's value
    stats = proxy_statistics(table)
    assert set(stats) >= {"synflow", "params", "vote"}
    assert main(["card", str(path), "--out", str(tmp_path / "card.md")]) == 0
    assert "## Zero-cost proxies" in (tmp_path / "card.md").read_text()


def test_a_second_writer_is_refused(tmp_path):
    from nasbench_lite.errors import InputError
    from nasbench_lite.generate.lock import writer_lock
    from nasbench_lite.proxies.writer import compute_proxies
    from nasbench_lite.table.synthetic import synthetic_table

    path = tmp_path / "t.h5"
    synthetic_table(path, rows=3, seeds=1)
    with writer_lock(path), pytest.raises(InputError, match="being written by another"):
        compute_proxies(path, progress=False)
    from nasbench_lite.errors import MissingFileError

    with pytest.raises(MissingFileError, match="does not exist"):
        compute_proxies(tmp_path / "none.h5", progress=False)


def test_a_file_of_another_proxy_set_is_not_resumed_and_versions_are_kept():
    """Resuming a file whose record lists fewer proxies would leave its done rows without
    the new ones: refused. A resume under other library versions keeps the earlier ones."""
    from nasbench_lite.errors import InputError
    from nasbench_lite.proxies import COMPUTED
    from nasbench_lite.proxies.writer import ProxiesConfig, _prepare
    from nasbench_lite.table.synthetic import synthetic_table

    table = synthetic_table(rows=10, epochs=2)
    arrays, attrs = dict(table.arrays), dict(table.attrs)
    attrs["proxies"] = {"batch": 32, "proxies": list(COMPUTED[:-1])}
    with pytest.raises(InputError, match=rf"this version computes .*{COMPUTED[-1]}"):
        _prepare(arrays, attrs, ProxiesConfig(), 32)
    attrs["proxies"] = {"batch": 32, "proxies": list(COMPUTED), "versions": {"numpy": "0.1"}}
    _prepare(arrays, attrs, ProxiesConfig(), 32)
    assert attrs["proxies"]["earlier_versions"] == [{"numpy": "0.1"}]
    assert attrs["proxies"]["versions"]["numpy"] == np.__version__


@pytest.mark.slow
def test_recompute_overwrites_only_the_named_proxy_and_resumes(proxy_table, tmp_path):
    """`--recompute nwot` on a finished file: nwot comes back as computed, every other column
    keeps its (here tampered) values, an interrupt keeps the finished chunks, and a plain
    resume finishes the recompute and records it."""
    import shutil

    from nasbench_lite.errors import InputError
    from nasbench_lite.proxies import batched
    from nasbench_lite.proxies.writer import REDO, ProxiesConfig, compute_proxies
    from nasbench_lite.table.reader import Table
    from nasbench_lite.table.storage import read_arrays, write_arrays

    source, _, table = proxy_table
    path = tmp_path / "t.h5"
    shutil.copy(source, path)
    arrays, attrs = read_arrays(path)
    arrays["metrics/proxy_nwot"][:] = 123.0
    arrays["metrics/proxy_snip"][:] = -7.0
    seconds = attrs["proxies"]["seconds"]
    write_arrays(path, arrays, attrs)
    with pytest.raises(InputError, match="--recompute nope: not a computed proxy"):
        compute_proxies(path, ProxiesConfig(recompute=("nope",)), progress=False)
    original = batched.proxy_cells
    options = {"xla_backend_optimization_level": 0}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batched, "COMPILER_OPTIONS", options)
        mp.setattr(batched, "proxy_cells", stopping_at_second_call(original))
        with pytest.raises(KeyboardInterrupt):
            compute_proxies(path, ProxiesConfig(chunk=2, recompute=("nwot",)), progress=False)
        partial = Table.open(path)
        redone = ~np.asarray(partial.arrays[REDO])
        assert redone.sum() == 2 and partial.attrs["proxies"]["redo"] == ["nwot"]
        np.testing.assert_array_equal(partial.metric("proxy_nwot")[redone],
                                      table.metric("proxy_nwot")[redone])  # fmt: skip
        assert (partial.metric("proxy_nwot")[~redone] == 123.0).all()
        with pytest.raises(InputError, match="half way through recomputing nwot"):
            compute_proxies(path, ProxiesConfig(recompute=("zen",)), progress=False)
        mp.setattr(batched, "proxy_cells", original)
        done = compute_proxies(path, ProxiesConfig(), progress=False)
    np.testing.assert_array_equal(done.metric("proxy_nwot"), table.metric("proxy_nwot"))
    assert (done.metric("proxy_snip") == -7.0).all()  # not named: kept as the file had it
    record = done.attrs["proxies"]
    assert REDO not in done.arrays and "redo" not in record
    assert [r["proxies"] for r in record["recomputed"]] == [["nwot"]]
    assert record["recomputed"][0]["seconds"] > 0 and record["seconds"] == seconds


class _FakeProxies:
    """Stands in for `batched.proxy_cells`: every proxy of pair i is `version` + its cell's
    first op + i's seed / 10; a Ctrl-C at call `stop_at`."""

    def __init__(self, version: float, stop_at: int | None = None):
        self.version, self.stop_at, self.calls = version, stop_at, 0

    def __call__(self, config, cells, seeds, data, space):
        from nasbench_lite.proxies import COMPUTED
        from nasbench_lite.proxies.batched import ProxyResult

        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        value = self.version + cells[:, 0].astype(np.float64) + np.asarray(seeds) / 10
        return ProxyResult({name: value for name in COMPUTED}, 1.0, 2.0, 5.0 * (self.calls == 1))


def _fake_table(tmp_path, rows=6):
    from nasbench_lite.proxies.writer import ProxiesConfig, compute_proxies
    from nasbench_lite.table.synthetic import synthetic_table
    from nasbench_lite.train.config import get_preset

    path = tmp_path / "t.h5"
    synthetic_table(path, rows=rows, seeds=2, epochs=get_preset("tiny").epochs, rng=3,
                    attrs={"config": get_preset("tiny").to_dict(), "preset": "tiny"})  # fmt: skip
    return path, ProxiesConfig, compute_proxies


def test_recompute_of_a_file_with_pending_rows_and_what_readers_see(tmp_path, monkeypatch):
    """Pending rows get every proxy, finished ones only the named; until the recompute is
    finished its rows read as not computed (lookup, statistics, info); its cost is its own;
    a Ctrl-C before its first chunk still leaves it started."""
    from nasbench_lite.backends.proxy_lookup import ProxyLookup
    from nasbench_lite.proxies import batched
    from nasbench_lite.proxies.writer import REDO
    from nasbench_lite.table.proxy_stats import current_rows, proxy_scores, redo_note
    from nasbench_lite.table.reader import Table
    from nasbench_lite.table.storage import read_arrays, write_arrays

    path, ProxiesConfig, compute_proxies = _fake_table(tmp_path)
    monkeypatch.setattr(batched, "proxy_cells", _FakeProxies(0.0))
    first = compute_proxies(path, ProxiesConfig(chunk=2), progress=False)
    arrays, attrs = read_arrays(path)
    arrays["proxies/done"][[1, 4]] = False  # two rows not computed yet
    for name in ("proxy_nwot", "proxy_snip"):
        arrays[f"metrics/{name}"][[1, 4]] = np.nan
    write_arrays(path, arrays, attrs)
    main_cost = dict(attrs["proxies"])
    # Interrupted in its first chunk: the file says a recompute of nwot is under way.
    monkeypatch.setattr(batched, "proxy_cells", _FakeProxies(100.0, stop_at=1))
    with pytest.raises(KeyboardInterrupt):
        compute_proxies(path, ProxiesConfig(chunk=2, recompute=("nwot",)), progress=False)
    table = Table.open(path)
    assert table.attrs["proxies"]["redo"] == ["nwot"] and table.arrays[REDO].sum() == 4
    assert not current_rows(table).any()  # 4 await the recompute, 2 were never computed
    lookup = ProxyLookup.from_table(table)
    rng = np.random.default_rng(0)
    assert np.isnan(lookup.scores("snip", table.row_raw, rng)).all()
    assert len(proxy_scores(table)[0]) == 0
    assert redo_note(table).startswith("nwot of 4 classes await an unfinished")
    # Resumed without --recompute: finished.
    monkeypatch.setattr(batched, "proxy_cells", _FakeProxies(100.0))
    done = compute_proxies(path, ProxiesConfig(), progress=False)
    ops = done.arrays["cells/ops"][:, 0].astype(np.float64)
    new = 100.0 + ops[:, None] + np.array([0.0, 0.1])
    old = ops[:, None] + np.array([0.0, 0.1])
    np.testing.assert_allclose(done.metric("proxy_nwot"), new)  # every row: recomputed
    fresh = np.isin(np.arange(6), [1, 4])[:, None]
    np.testing.assert_allclose(done.metric("proxy_snip"), np.where(fresh, new, old))
    record = done.attrs["proxies"]
    assert REDO not in done.arrays and "redo" not in record and redo_note(done) == ""
    entry = record["recomputed"][-1]
    assert entry["proxies"] == ["nwot"] and entry["cpu_seconds"] > 0
    assert record["cpu_seconds"] > main_cost["cpu_seconds"]  # the two fresh rows' share
    # Each chunk's cost split by rows: 4 recomputed + 2 fresh rows of 2 cpu s a 2-row call.
    assert entry["cpu_seconds"] + record["cpu_seconds"] - main_cost["cpu_seconds"] == (
        pytest.approx(2.0 * 6 / 2)
    )
    assert first.attrs["proxies"]["compile_seconds"] == 5.0


def test_recompute_on_a_file_with_no_finished_row_starts_nothing(tmp_path, monkeypatch):
    from nasbench_lite.proxies import batched
    from nasbench_lite.proxies.writer import REDO

    path, ProxiesConfig, compute_proxies = _fake_table(tmp_path, rows=3)
    monkeypatch.setattr(batched, "proxy_cells", _FakeProxies(0.0))
    table = compute_proxies(path, ProxiesConfig(recompute=("nwot",)), progress=False)
    assert REDO not in table.arrays and "recomputed" not in table.attrs["proxies"]
    assert np.isfinite(table.metric("proxy_nwot")).all()


def test_a_failed_rebuild_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    """The recompute is written to the file only once the examples are rebuilt: a failed
    rebuild (a missing data_dir, other examples) leaves every proxy current."""
    import nasbench_lite.datasets as datasets
    from nasbench_lite.errors import InputError
    from nasbench_lite.proxies import batched
    from nasbench_lite.proxies.writer import REDO, _finish_redo
    from nasbench_lite.table.proxy_stats import current_rows, proxy_section
    from nasbench_lite.table.reader import Table

    path, ProxiesConfig, compute_proxies = _fake_table(tmp_path, rows=4)
    monkeypatch.setattr(batched, "proxy_cells", _FakeProxies(0.0))
    compute_proxies(path, ProxiesConfig(), progress=False)

    def refuse(*args, **kwargs):
        raise InputError("proxies for t.h5: the rebuilt 'mnist1d' examples are not the ones")

    monkeypatch.setattr(datasets, "rebuild_dataset", refuse)
    with pytest.raises(InputError, match="are not the ones"):
        compute_proxies(path, ProxiesConfig(recompute=("nwot",)), progress=False)
    table = Table.open(path)
    assert REDO not in table.arrays and current_rows(table).all()
    # While a recompute leaves no row current, the card keeps the section and says why.
    table.arrays[REDO] = np.ones(4, bool)
    table.attrs["proxies"]["redo"] = ["nwot"]
    section = proxy_section(table)
    assert section[0] == "## Zero-cost proxies" and "await an unfinished" in section[2]
    # A recompute left unfinished by a version that kept only its seconds finishes.
    arrays = {REDO: np.zeros(4, bool)}
    attrs = {"proxies": {"redo": ["nwot"], "redo_seconds": 12.0}}
    _finish_redo(arrays, attrs, "cmd")
    assert attrs["proxies"]["recomputed"][0]["seconds"] == 12.0 and REDO not in arrays
