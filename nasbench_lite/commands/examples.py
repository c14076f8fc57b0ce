"""One example command line per `nasbench-lite` command, shown at the end of its --help."""

CELL = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)
EXAMPLES = {
    "space": "nasbench-lite space nb201 --examples 3",
    "generate": "nasbench-lite generate --preset tiny --cells 40 --seeds 2 --out tiny.h5\n"
    "  (the same command resumes an interrupted run)",
    "merge": "nasbench-lite merge all.h5 part0.h5 part1.h5",
    "info": "nasbench-lite info data/nb201_mnist1d_cpu.h5",
    "query": f"nasbench-lite query '{CELL}'\n  nasbench-lite query my.h5 1234 --epoch 4 --json"
    "\n  nasbench-lite query my.h5 1234 --details   # per seed, spread, class, cost",
    "compare": "nasbench-lite compare --strategies random_search regularized_evolution "
    "--seeds 10 --budget 100evals --out runs/rs_vs_re",
    "card": "nasbench-lite card my.h5            # writes my_card.md and my_accuracy.png",
    "suite-card": "nasbench-lite suite-card --tasks mnist1d mnist1d_v2 --out suite_card.md",
    "proxies": "nasbench-lite proxies --table my.h5   # the same command resumes a stopped run",
    "latency": "nasbench-lite latency --table my.h5   # resumable; run it niced, in the background",
    "surrogate": "nasbench-lite surrogate fit --table my.h5 --out my_surrogate --train-fraction 0.1"
    "\n  nasbench-lite surrogate eval --table my.h5 --model my_surrogate",
}
