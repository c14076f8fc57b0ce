"""The nb201 space as configurations: edge names, both conversions over all 15,625 cells (plain
dicts and ConfigSpace Configurations), the ConfigurationSpace itself, and every error."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from nasbench_lite.errors import InputError
from nasbench_lite.extras import MissingExtra

EDGES = ("1<-0", "2<-0", "2<-1", "3<-0", "3<-1", "3<-2")


def test_edge_names_follow_the_edges(space):
    assert space.edge_names == EDGES
    assert [f"{j}<-{i}" for i, j in space.edges] == list(EDGES)
    config = space.raw_to_config("|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|"
                                 "nor_conv_1x1~1|none~2|")  # fmt: skip
    assert config == {"1<-0": "nor_conv_3x3", "2<-0": "none", "2<-1": "skip_connect",
                      "3<-0": "avg_pool_3x3", "3<-1": "nor_conv_1x1", "3<-2": "none"}  # fmt: skip


def test_dict_round_trip_over_every_cell(space):
    cells = space.cells(np.arange(space.num_cells))
    for raw in range(space.num_cells):
        config = space.raw_to_config(raw)
        assert list(config) == list(EDGES)
        assert [space.ops.index(config[e]) for e in EDGES] == cells[raw].tolist()
        assert space.config_to_raw(config) == raw
        assert space.to_raw(config) == raw  # every cell argument accepts a configuration


def test_configspace_round_trip_over_every_cell(space):
    import ConfigSpace

    cs = space.configspace(seed=0)
    assert isinstance(cs, ConfigSpace.ConfigurationSpace)
    assert list(cs.keys()) == list(EDGES)
    for name in EDGES:
        assert list(cs[name].choices) == list(space.ops)
    seen = set()
    for raw in range(space.num_cells):
        config = space.raw_to_config(raw, cs)
        assert isinstance(config, ConfigSpace.Configuration)
        seen.add(space.config_to_raw(config))
    assert seen == set(range(space.num_cells))
    # The space's own samples convert too, and its seed makes them reproducible.
    draws = [space.config_to_raw(c) for c in cs.sample_configuration(50)]
    again = [space.config_to_raw(c) for c in space.configspace(seed=0).sample_configuration(50)]
    other = [space.config_to_raw(c) for c in space.configspace(seed=1).sample_configuration(50)]
    assert draws == again and draws != other and len(set(draws)) > 40


def test_bad_configurations_are_named(space):
    good = space.raw_to_config(1234)
    with pytest.raises(InputError, match="unknown edge '4<-0'; the edges are 1<-0, 2<-0"):
        space.config_to_raw({**good, "4<-0": "none"})
    missing = {k: v for k, v in good.items() if k not in ("2<-1", "3<-2")}
    with pytest.raises(InputError, match="missing edge '2<-1', '3<-2'"):
        space.config_to_raw(missing)
    with pytest.raises(InputError, match="unknown op 'conv_5x5' on edge '3<-0'; ops: none,"):
        space.config_to_raw({**good, "3<-0": "conv_5x5"})
    with pytest.raises(InputError, match="unknown op 2 on edge '1<-0'"):
        space.config_to_raw({**good, "1<-0": 2})
    with pytest.raises(InputError, match="is a list, expected a mapping"):
        space.config_to_raw(list(good.values()))
    with pytest.raises(InputError, match="out of range"):
        space.raw_to_config(space.num_cells)


def test_the_space_imports_no_configspace():
    code = (
        "import sys, nasbench_lite as nbl\n"
        "s = nbl.get_space('nb201'); s.config_to_raw(s.raw_to_config(5))\n"
        "print('ConfigSpace' in sys.modules, 'optuna' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_configspace_without_the_extra(space, monkeypatch):
    monkeypatch.setitem(sys.modules, "ConfigSpace", None)
    with pytest.raises(
        MissingExtra, match=r"ConfigSpace adapter needs .*nasbench-lite\[adapters\]"
    ):
        space.configspace()
    assert space.config_to_raw(space.raw_to_config(77)) == 77  # dicts need no extra
