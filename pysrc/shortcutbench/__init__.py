"""shortcutbench: how image classifiers cheat, and whether a cure works.

Tracks (``shortcutbench run <track>``) evaluate zoo models and submissions under frozen
protocols and write result records; tables in ``leaderboard/`` are a pure function of them.
"""
__version__ = "0.1.0"
