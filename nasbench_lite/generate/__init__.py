"""Generate a table: train every class in chunks, resumably, on this machine or on Ray."""

from nasbench_lite.generate.merge import merge
from nasbench_lite.generate.run import GenerateConfig, generate

__all__ = ["GenerateConfig", "generate", "merge"]
