"""The model zoo: every trained model is an entry keyed by (architecture, method, training config,
hyperparameters, seed, data fingerprint).

- :mod:`.spec`: the key, the on-disk cache and ``load_or_train``;
- :mod:`.catalogue`: the seed-regime zoo (full MNIST, budgets in samples) that the tables use;
- :mod:`.shipped`: its weights, committed as safetensors with their SHA-256;
- :mod:`.runner`: ``shortcutbench zoo train``, sharded and resumable.
"""
from .spec import ZOO_VERSION, ZooEntry, ZooSpec, cache_dir, load_or_train

__all__ = ["ZOO_VERSION", "ZooEntry", "ZooSpec", "cache_dir", "load_or_train"]
