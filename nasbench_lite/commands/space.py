"""`nasbench-lite space`: what a search space holds."""

from __future__ import annotations

import argparse

# Example cells come from this fixed seed, so the output is the same on every run and machine.
EXAMPLE_SEED = 0


def cmd_space(args: argparse.Namespace) -> int:
    """`nasbench-lite space [NAME] [--examples N]`: print what the space holds."""
    import numpy as np

    from nasbench_lite.errors import InputError
    from nasbench_lite.spaces import get_space

    space = get_space(args.name)
    examples = args.examples
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 0:
        raise InputError(f"--examples {examples!r} is not a non-negative integer")
    print(f"space {space.name}")
    facts = space.summary()
    width = max(len(key) for key in facts)
    for key, value in facts.items():
        print(f"  {key:<{width}}  {value}")
    if examples:
        rng = np.random.default_rng(EXAMPLE_SEED)
        print(f"example cells (seed {EXAMPLE_SEED}):")
        print(f"  {'raw':>6}  {'class':>6}  cell")
        for raw in space.sample(rng, examples):
            print(f"  {raw:>6}  {space.canonical(raw):>6}  {space.format(raw)}")
    return 0
