import gzip
import struct

import numpy as np
import pytest
import torch

from shortcutbench.data import load_digits, load_embedded, read_idx_dir
from shortcutbench.data.mnist import IDX_FILES
from shortcutbench.errors import UsageError


def test_embedded_is_the_5k_real_digits():
    d = load_embedded()
    assert d.images.shape == (5000, 28, 28) and d.images.dtype == torch.uint8
    assert torch.bincount(d.labels).tolist() == [500] * 10
    assert int(d.images.max()) == 255 and int(d.images.min()) == 0
    assert d.fingerprint == load_embedded().fingerprint


def _write_idx(path, array, magic_ndim, gz=False, magic=None, truncate=0):
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", magic if magic is not None else (0x800 | magic_ndim))
    header += struct.pack(f">{array.ndim}I", *array.shape)
    raw = header + array.tobytes()
    raw = raw[: len(raw) - truncate] if truncate else raw
    opener = gzip.open if gz else open
    with opener(str(path) + (".gz" if gz else ""), "wb") as f:
        f.write(raw)


def _make_dir(tmp_path, n_train=30, n_test=20, gz=False, **bad):
    rng = np.random.default_rng(0)
    data = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": np.arange(n_train) % 10,
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": np.arange(n_test) % 10,
    }
    for key, arr in data.items():
        kw = bad.get(key, {})
        _write_idx(tmp_path / IDX_FILES[key], arr, 3 if "images" in key else 1, gz=gz, **kw)
    return data


@pytest.mark.parametrize("gz", [False, True])
def test_idx_reader_roundtrip(tmp_path, gz):
    data = _make_dir(tmp_path, gz=gz)
    train, test = read_idx_dir(tmp_path)
    np.testing.assert_array_equal(train.images.numpy(), data["train_images"])
    np.testing.assert_array_equal(test.labels.numpy(), data["test_labels"])
    both = load_digits(tmp_path)
    assert len(both) == 50 and both.labels.dtype == torch.int64


@pytest.mark.parametrize("bad, message", [
    ({"train_images": {"magic": 0x0801}}, "magic number 0x00000801, expected 0x00000803"),
    ({"test_labels": {"magic": 0x0803}}, "magic number"),
    ({"train_images": {"truncate": 100}}, "truncated"),
    ({"test_labels": {"truncate": 1}}, "truncated"),
])
def test_idx_reader_rejects_bad_files(tmp_path, bad, message):
    _make_dir(tmp_path, **bad)
    with pytest.raises(UsageError, match=message):
        read_idx_dir(tmp_path)


def test_idx_reader_rejects_missing_dir_and_files(tmp_path):
    with pytest.raises(UsageError, match="does not exist"):
        read_idx_dir(tmp_path / "nope")
    with pytest.raises(UsageError, match="has no train-images-idx3-ubyte"):
        read_idx_dir(tmp_path)


def test_idx_reader_rejects_count_mismatch(tmp_path):
    _make_dir(tmp_path)
    _write_idx(tmp_path / IDX_FILES["train_labels"], np.zeros(29), 1)
    with pytest.raises(UsageError, match="30 images but 29 labels"):
        read_idx_dir(tmp_path)


def test_idx_reader_rejects_truncated_gzip(tmp_path):
    _make_dir(tmp_path, gz=True)
    p = tmp_path / (IDX_FILES["train_images"] + ".gz")
    p.write_bytes(p.read_bytes()[:-30])
    with pytest.raises(UsageError, match="cannot read IDX file|truncated"):
        read_idx_dir(tmp_path)
