import numpy as np
import pytest
import torch

from shortcutbench.errors import UsageError
from shortcutbench.data.cifar import RECORD, load_cifar10, read_batch


def _write(path, labels, seed):
    rng = np.random.default_rng(seed)
    rec = np.zeros((len(labels), RECORD), dtype=np.uint8)
    rec[:, 0] = labels
    rec[:, 1:] = rng.integers(0, 256, size=(len(labels), RECORD - 1), dtype=np.uint8)
    rec.tofile(path)
    return rec


def test_reads_a_tiny_synthetic_cifar_directory(tmp_path):
    rec = _write(tmp_path / "data_batch_1.bin", [3, 1, 4, 1, 5], 0)
    _write(tmp_path / "test_batch.bin", [9, 2], 1)
    x, y = read_batch(tmp_path / "data_batch_1.bin")
    assert x.shape == (5, 3, 32, 32) and y.tolist() == [3, 1, 4, 1, 5]
    # channel-major layout: byte 1 + c·1024 + r·32 + col
    assert x[2, 1, 5, 7] == rec[2, 1 + 1024 + 5 * 32 + 7]
    data = load_cifar10(str(tmp_path), val_size=2)
    assert len(data["train"]) == 3 and len(data["val"]) == 2 and len(data["easy"]) == 2
    img = data["val"].images(torch.tensor([1]))
    assert img.dtype == torch.float32 and img.max() <= 1 and img.shape == (1, 3, 32, 32)
    assert data["val"].digit.tolist() == [1, 5]


def test_rejects_bad_files(tmp_path):
    (tmp_path / "data_batch_1.bin").write_bytes(b"\x00" * (RECORD + 5))
    with pytest.raises(UsageError, match="multiple"):
        load_cifar10(str(tmp_path))
    _write(tmp_path / "data_batch_1.bin", [12], 0)
    with pytest.raises(UsageError, match="label 12"):
        read_batch(tmp_path / "data_batch_1.bin")
    with pytest.raises(UsageError, match="not found"):
        load_cifar10(str(tmp_path / "nope"))


def test_cli_cifar_dir_is_validated_before_any_work(capsys, tmp_path):
    from shortcutbench.cli import main

    assert main(["run", "invariance", "--cifar-dir", str(tmp_path / "nope"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "CIFAR-10 directory not found" in err[0]
    assert not (tmp_path / "out").exists()
