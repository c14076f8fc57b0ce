"""``python -m nasbench_lite``: the same CLI as the ``nasbench-lite`` script."""

import sys

from nasbench_lite.cli import main

sys.exit(main())
