"""CIFAR-10 from a local directory in its binary format (https://www.cs.toronto.edu/~kriz/cifar.html:
records of 1 label byte + 3072 pixel bytes, channel-major 3 × 32 × 32), validated; nothing is
downloaded. Wrapped in the split interface the zoo and the tracks read (``images(idx)``, ``digit``,
``color``), so zoo methods train on it unchanged; the invariance and ssl tracks read it."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from ..errors import UsageError
from ..utils.fingerprint import hash_config

RECORD = 1 + 3 * 32 * 32
TRAIN_FILES = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
TEST_FILE = "test_batch.bin"


def read_batch(path: Path) -> Tuple[np.ndarray, np.ndarray]:
    """uint8 images [N, 3, 32, 32] and int64 labels [N] of one ``*.bin`` file."""
    if not path.is_file():
        raise UsageError(f"CIFAR-10 file missing: {path}")
    raw = np.fromfile(path, dtype=np.uint8)
    if raw.size == 0 or raw.size % RECORD:
        raise UsageError(f"{path}: {raw.size} bytes is not a positive multiple of the {RECORD}-byte CIFAR-10 record")
    rec = raw.reshape(-1, RECORD)
    labels = rec[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise UsageError(f"{path}: label {int(labels.max())} outside 0..9 (not CIFAR-10 binary format?)")
    return rec[:, 1:].reshape(-1, 3, 32, 32), labels


@dataclass
class CifarSplit:
    pixels: torch.Tensor  # uint8 [N, 3, 32, 32]
    digit: torch.Tensor  # class label (named like Colored-MNIST's splits)
    color: torch.Tensor = field(default=None)

    def __post_init__(self):
        if self.color is None:
            self.color = torch.zeros_like(self.digit)

    def __len__(self) -> int:
        return self.pixels.shape[0]

    def images(self, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        px = self.pixels if index is None else self.pixels[index]
        return px.float() / 255.0


@dataclass
class Cifar10:
    splits: Dict[str, CifarSplit]
    fingerprint: str
    source: str

    def __getitem__(self, name: str) -> CifarSplit:
        return self.splits[name]


def load_cifar10(directory: str, val_size: int = 1000) -> Cifar10:
    """train = data batches minus their last ``val_size`` images, val = those, easy = test batch."""
    d = Path(directory)
    if not d.is_dir():
        raise UsageError(f"CIFAR-10 directory not found: {directory}")
    parts = [read_batch(d / f) for f in TRAIN_FILES if (d / f).is_file()]
    if not parts:
        raise UsageError(f"{directory}: no data_batch_*.bin files (CIFAR-10 binary version expected)")
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    xt, yt = read_batch(d / TEST_FILE)
    if len(x) <= val_size:
        raise UsageError(f"{directory}: {len(x)} training images, need more than val_size = {val_size}")
    t = lambda a: torch.from_numpy(np.ascontiguousarray(a))  # noqa: E731
    splits = {"train": CifarSplit(t(x[:-val_size]), t(y[:-val_size])), "val": CifarSplit(t(x[-val_size:]), t(y[-val_size:])),
              "easy": CifarSplit(t(xt), t(yt))}
    fp = hash_config({"cifar10": [int(np.frombuffer(p[0][:64].tobytes(), np.uint8).sum()) for p in parts],
                      "n": [len(x), len(xt)], "val": val_size}, n=16)
    return Cifar10(splits, fp, f"cifar10:{d.name}")
