"""Search strategies shipped with nasbench-lite, one per module.

This folder installs as the subpackage `nasbench_lite.strategies` (pyproject.toml maps it),
so no top-level `strategies` package is installed to collide with a user's own. Each module
defines one ask/tell strategy class (protocol: `nasbench_lite.search.protocol.Strategy`) and is
registered under the entry-point group ``nasbench_lite.strategies`` in pyproject.toml as
``nasbench_lite.strategies.<module>:<Class>``; look them up with
`nasbench_lite.search.registry.get_strategy(name)` rather than importing them, so that ours and a
researcher's own strategies are found the same way. Modules whose name starts with an
underscore (`_policy`, `_model_based`) are helpers shared by several strategies, not
registered. Nothing is imported here.
"""
