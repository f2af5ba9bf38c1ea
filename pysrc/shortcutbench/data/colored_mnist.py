"""Colored-MNIST (seed 000 §2.2): digit identity (signal) correlated with colour (shortcut).

Digit d's dominant colour is colour d (the seed's table below). Splits use exact per-cell
counts, never per-image Bernoulli draws, and a data seed of their own:

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

from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from ..errors import UsageError
from ..ops import colorize
from ..utils.fingerprint import hash_arrays
from ..utils.seeding import numpy_rng
from .mnist import Digits

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


@dataclass(frozen=True)
class ColoredMNISTConfig:
    rho: float = 0.95  # aligned (dominant-colour) share in train/val (seed: 95%)
    n_confusing_colors: int = 9  # non-dominant colours the other 1 − ρ is spread over
    color_jitter: float = 0.0  # std of per-image Gaussian noise on the RGB colour
    color_location: str = "stroke"  # "stroke" (seed) or "background"
    data_seed: int = 0
    test_per_class: int = 100  # held-out digits per class → easy: 100, hard: 900 per class
    val_per_class: int = 40
    val_balanced_per_class: int = 40
    train_per_class: Optional[int] = None  # None: every remaining digit

    def __post_init__(self) -> None:
        if not (0.0 < self.rho <= 1.0):
            raise UsageError(f"rho must be in (0, 1], got {self.rho}")
        if not (1 <= self.n_confusing_colors <= 9):
            raise UsageError(f"n_confusing_colors must be in 1..9, got {self.n_confusing_colors}")
        if self.color_jitter < 0:
            raise UsageError(f"color_jitter must be >= 0, got {self.color_jitter}")
        if self.color_location not in LOCATIONS:
            raise UsageError(f"color_location must be one of {LOCATIONS}, got {self.color_location!r}")
        for name in ("test_per_class", "val_per_class", "val_balanced_per_class"):
            if getattr(self, name) < 1:
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


def _partition(labels: np.ndarray, cfg: ColoredMNISTConfig) -> Dict[str, np.ndarray]:
    rng = numpy_rng(cfg.data_seed, 0)
    parts: Dict[str, List[np.ndarray]] = {k: [] for k in ("easy", "val", "val_balanced", "train")}
    sizes = [("easy", cfg.test_per_class), ("val", cfg.val_per_class), ("val_balanced", cfg.val_balanced_per_class)]
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


def build_colored_mnist(digits: Digits, config: ColoredMNISTConfig = ColoredMNISTConfig()) -> ColoredMNIST:
    labels = digits.labels.numpy()
    parts = _partition(labels, config)
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

    fp = hash_arrays(*[a for s in SPLITS for a in splits[s].arrays()], config=(config, digits.source))
    return ColoredMNIST(config, digits.source, {s: splits[s] for s in SPLITS}, fp)
