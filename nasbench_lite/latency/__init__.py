"""Measured inference latency per class (`nasbench-lite latency`): `measure` times a cell's
network on this machine, `writer` records it in a table file, resumably."""
