"""Moved to :mod:`shortcutbench.data.cifar` (the invariance and ssl tracks both read it); this
name stays importable for code written against it."""
from ..data.cifar import RECORD, TEST_FILE, TRAIN_FILES, Cifar10, CifarSplit, load_cifar10, read_batch  # noqa: F401
