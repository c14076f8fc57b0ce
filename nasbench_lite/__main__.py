"""``python -m nasbench_lite``: the same CLI as the ``nasbench-lite`` script."""

from nasbench_lite.cli import run

run()
