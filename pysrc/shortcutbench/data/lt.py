"""L-T and triangle-square toy datasets and their *extended* sets (seed 001 §6).

Base images: a k×k binary pattern placed at every offset of an empty n×n canvas (background 0,
pattern 1), order ``for i: for j: for class`` as in the thesis code (make_T_L_dataset.py), so the
classes alternate and are exactly balanced.

Extended set (§6.2, assumptions 1–2): every perturbed pixel of every base image takes one
offset from a finite value set. It is enumerated by index, never stored: sample ``i`` is base
``i // K**P`` with perturbation code ``i % K**P`` written in base K; digit ``d`` (least
significant first) picks ``offsets[b, d, digit]`` for canvas pixel ``pixels[b, d]``. Value sets:

- ``full``: every canvas pixel, {−ε, 0, +ε} (3^16·8 = 344,373,768 for L-T),
- ``corners``: every canvas pixel, {−ε, +ε} (the thesis's "exclude standard images", 2^16·8),
- ``inbound``: assumption 3, every pixel, a 0 pixel takes {0, +ε}, a 1 pixel {−ε, 0},
- ``pattern``: assumption 4, only the 3×3 (k×k) window of the pattern, {−ε, 0, +ε},
- ``inbound_pattern``: assumptions 3 and 4 together (the thesis's first counterexample).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, Tuple

import torch

from ..errors import UsageError

# seed 001 §6.2 Figure 21 / make_T_L_dataset.py: 5 ones each.
L_PATTERN = ((1, 0, 0), (1, 0, 0), (1, 1, 1))
T_PATTERN = ((1, 1, 1), (0, 1, 0), (0, 1, 0))
# seed 001 §6.1 Figure 17, as in the thesis code (kfarivar/Masters_thesis Toy_DS/triangle_square.py,
# make_DS): 5×5, 16 ones each — the same pixel count on purpose, so counting ones does not work.
TRIANGLE_PATTERN = ((0, 1, 1, 0, 0), (0, 0, 1, 0, 0), (0, 1, 1, 1, 0), (1, 1, 1, 1, 1), (1, 1, 1, 1, 1))
SQUARE_PATTERN = ((1, 1, 1, 1, 1), (1, 0, 0, 0, 1), (1, 0, 0, 0, 1), (1, 0, 0, 0, 1), (1, 1, 1, 1, 1))

PATTERNS: Dict[str, Tuple[Tuple[Tuple[int, ...], ...], ...]] = {
    "lt": (L_PATTERN, T_PATTERN),
    "triangle_square": (TRIANGLE_PATTERN, SQUARE_PATTERN),
}
DEFAULT_CANVAS = {"lt": 4, "triangle_square": 10}
CLASS_NAMES = {"lt": ("L", "T"), "triangle_square": ("triangle", "square")}
VALUE_SETS = ("full", "corners", "inbound", "pattern", "inbound_pattern")


@dataclass(frozen=True)
class ToyDataset:
    """Base images [N, n, n] in {0, 1}, labels [N], the offset of each pattern, the patterns."""

    name: str
    images: torch.Tensor
    labels: torch.Tensor
    offsets: torch.Tensor  # [N, 2] (row, col) of the pattern's top-left corner
    patterns: torch.Tensor  # [2, k, k]

    @property
    def canvas(self) -> int:
        return self.images.shape[-1]

    @property
    def kernel(self) -> int:
        return self.patterns.shape[-1]

    def __len__(self) -> int:
        return self.images.shape[0]


def toy_dataset(name: str = "lt", canvas: int | None = None, dtype: torch.dtype = torch.float32) -> ToyDataset:
    if name not in PATTERNS:
        raise UsageError(f"unknown toy dataset {name!r} (known: {', '.join(PATTERNS)})")
    pats = torch.tensor(PATTERNS[name], dtype=dtype)
    k = pats.shape[-1]
    n = DEFAULT_CANVAS[name] if canvas is None else int(canvas)
    if n < k:
        raise UsageError(f"canvas {n} is smaller than the {k}×{k} pattern")
    images, labels, offs = [], [], []
    for i in range(n - k + 1):
        for j in range(n - k + 1):
            for c in range(2):
                img = torch.zeros(n, n, dtype=dtype)
                img[i:i + k, j:j + k] = pats[c]
                images.append(img)
                labels.append(c)
                offs.append((i, j))
    return ToyDataset(name, torch.stack(images), torch.tensor(labels), torch.tensor(offs), pats)


def oracle_filters(data: ToyDataset) -> torch.Tensor:
    """The hand-made robust model (§6.1 Figure 16): filter c = pattern c / number of ones."""
    p = data.patterns
    return p / p.flatten(1).sum(1)[:, None, None]


@dataclass(frozen=True)
class ExtendedSpec:
    """What ``lt_extended`` enumerates: per base image the perturbed pixels and their offsets."""

    bases: torch.Tensor  # [B, n, n]
    labels: torch.Tensor  # [B] int64
    pixels: torch.Tensor  # [B, P] int64 flat canvas index of each code digit
    offsets: torch.Tensor  # [B, P, K] the value each digit selects
    value_set: str
    eps: float

    @property
    def digits(self) -> int:
        return self.pixels.shape[1]

    @property
    def radix(self) -> int:
        return self.offsets.shape[2]

    @property
    def per_base(self) -> int:
        return self.radix ** self.digits

    @property
    def size(self) -> int:
        """Number of samples B·K^P as a Python int (may exceed int64; see check_index_space)."""
        return self.bases.shape[0] * self.per_base


INT64_MAX = 2**63 - 1


def check_index_space(spec: ExtendedSpec) -> int:
    n = spec.size
    if n > INT64_MAX:
        raise UsageError(f"extended set has {n:.3e} samples ({spec.bases.shape[0]} bases × {spec.radix}^{spec.digits}), "
                         f"which overflows the int64 index space; shrink the canvas or use fewer perturbed pixels")
    return n


def extended_spec(data: ToyDataset, eps: float, value_set: str = "full") -> ExtendedSpec:
    if value_set not in VALUE_SETS:
        raise UsageError(f"unknown value set {value_set!r} (known: {', '.join(VALUE_SETS)})")
    if not eps > 0:
        raise UsageError(f"dataset eps must be > 0, got {eps}")
    n, k = data.canvas, data.kernel
    dtype = data.images.dtype
    rows = []
    for b in range(len(data)):
        if value_set in ("pattern", "inbound_pattern"):
            i, j = data.offsets[b].tolist()
            pix = [(i + u) * n + (j + v) for u in range(k) for v in range(k)]
        else:
            pix = list(range(n * n))
        rows.append(pix)
    pixels = torch.tensor(rows, dtype=torch.int64)
    base_vals = data.images.flatten(1).gather(1, pixels)  # [B, P]
    if value_set in ("full", "pattern"):
        offsets = torch.tensor([-eps, 0.0, eps], dtype=dtype).expand(*pixels.shape, 3).clone()
    elif value_set == "corners":
        offsets = torch.tensor([-eps, eps], dtype=dtype).expand(*pixels.shape, 2).clone()
    else:  # assumption 3: stay inside [0, 1]; a 0 pixel may rise by ε, a 1 pixel may fall by ε
        up = torch.stack([torch.zeros_like(base_vals), torch.full_like(base_vals, eps)], -1)
        down = torch.stack([torch.full_like(base_vals, -eps), torch.zeros_like(base_vals)], -1)
        offsets = torch.where((base_vals > 0.5)[..., None], down, up)
    return ExtendedSpec(data.images, data.labels.to(torch.int64), pixels, offsets, value_set, float(eps))


def decode(spec: ExtendedSpec, index: torch.Tensor, clip: bool = False) -> torch.Tensor:
    """Materialise samples ``index`` [M] (int64) → images [M, n, n] (see ops.lt_extended.lt_decode)."""
    from ..ops.lt_extended import lt_decode

    return lt_decode(spec.bases, spec.pixels, spec.offsets, index, clip)
