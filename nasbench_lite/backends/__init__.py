"""Benchmarks behind one protocol: the tabular, live and surrogate backends and their registry."""
