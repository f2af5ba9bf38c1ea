"""Shared asv pieces (scikit-learn's asv_benchmarks pattern): a profile from
SHORTCUTBENCH_ASV_PROFILE (fast | regular) that scales problem sizes, fixed seeds."""
import os

PROFILE = os.environ.get("SHORTCUTBENCH_ASV_PROFILE", "fast")
SCALE = {"fast": 1, "regular": 4}[PROFILE]


class Benchmark:
    timer = None  # asv default wall-clock timer
    processes = 1
    timeout = 500
