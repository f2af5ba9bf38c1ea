"""Procedural scenes with known causal factors (seed 001 §7), rendered with torch: no Blender, no download.

Two variants, 32×32 RGB (small enough to train on 2 CPU cores):

* ``light`` — one shaded object (5 shapes = classes) at position (x, y), size z, in-plane rotation α,
  object hue, on a background of its own hue, lit from direction θ ∈ [−π/2, π/2]. The light
  follows seed 001 eq. 27: it sits at (4 sin θ, 4 cos θ, h) above the image plane, so it sweeps a
  half circle; the object is a bevelled relief whose Lambertian shading shows where the light is.
* ``distance`` — two objects of one shape; the factor is the distance d between their centres
  (the dataset the seed's §7 ends by proposing, whose factor people can judge by eye).

Causal structure: like Causal3DIdent (von Kügelgen et al. 2021, "Self-Supervised Learning with Data
Augmentations Provably Isolates Content from Style", appendix B), the *root* factors (class, light
θ, background hue) are independent uniforms on [−1, 1], and every object factor is a normal,
truncated to [−1, 1], whose mean depends on the roots (:data:`PARENTS`; the coefficients are ours).
Every factor is stored as its latent in [−1, 1] and mapped linearly to its units (:class:`Factor`).
Hue ranges stop short of the full circle so a factor's latent and its colour are one-to-one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import torch

from ..errors import UsageError
from ..registry import Registry
from ..utils.atomic import atomic_torch_save
from ..utils.fingerprint import hash_config

RESOLUTION = 32
SCENE_VERSION = 1  # bump when rendering or sampling changes meaning (cache keys carry it)


@dataclass(frozen=True)
class Factor:
    name: str
    low: float
    high: float
    unit: str = ""

    def value(self, latent: torch.Tensor) -> torch.Tensor:
        """Latent in [−1, 1] → the factor in its units."""
        return self.low + (latent + 1) * (0.5 * (self.high - self.low))


@dataclass(frozen=True)
class Variant:
    name: str
    factors: Tuple[Factor, ...]  # continuous factors, column order of ``latents``
    roots: Tuple[str, ...]  # independent U[−1, 1] factors (the class is always a root)
    parents: Dict[str, Tuple[Tuple[str, float], ...]]  # child → ((parent, weight), ...): mean = Σ w·parent
    render: Callable[[Dict[str, torch.Tensor], int], torch.Tensor]  # (factor values, class) → [B, 3, H, W]

    def index(self, name: str) -> int:
        return [f.name for f in self.factors].index(name)

    def factor(self, name: str) -> Factor:
        return self.factors[self.index(name)]


SHAPES = ("ellipse", "triangle", "half_disc", "tee", "ell")  # no rotational symmetry within α's range
SIGMA = 0.5  # std of every dependent factor's truncated normal (latent units)
CLASS_LATENT = "class"  # the class enters the means as its latent 2c/(K−1) − 1


def _grid(n: int) -> Tuple[torch.Tensor, torch.Tensor]:
    """Pixel centres in pixel units, origin at the image centre, v pointing up."""
    c = torch.arange(n, dtype=torch.float32) - (n - 1) / 2
    return c.view(1, n), -c.view(n, 1)


def _box(u, v, hu, hv):
    """Signed distance to an axis-aligned box of half sizes (hu, hv) (negative inside)."""
    du, dv = u.abs() - hu, v.abs() - hv
    outside = torch.sqrt(du.clamp_min(0) ** 2 + dv.clamp_min(0) ** 2)
    return outside + torch.maximum(du, dv).clamp_max(0)


def _sdf(shape: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Signed distance (approximate outside thin features) of unit-size shapes centred at 0."""
    name = SHAPES[shape]
    if name == "ellipse":  # semi-axes 1 × 0.6, distance scaled by the minor axis
        return (torch.sqrt(u ** 2 + (v / 0.6) ** 2) - 1) * 0.6
    if name == "triangle":  # isosceles, apex up: three half-planes
        e1 = (0.894 * u + 0.447 * v) - 0.447  # right edge
        e2 = (-0.894 * u + 0.447 * v) - 0.447  # left edge
        return torch.maximum(torch.maximum(e1, e2), -v - 0.7)
    if name == "half_disc":  # upper half of the unit disc, shifted down so it is centred
        w = v + 0.4
        return torch.maximum(torch.sqrt(u ** 2 + w ** 2) - 1, -w)
    if name == "tee":
        return torch.minimum(_box(u, v - 0.6, 1.0, 0.3), _box(u, v + 0.2, 0.3, 0.8))
    if name == "ell":
        return torch.minimum(_box(u + 0.6, v, 0.3, 1.0), _box(u, v + 0.7, 0.9, 0.3))
    raise AssertionError(name)


def hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """h, s, v in [0, 1] (any equal shapes) → [..., 3] RGB (the standard piecewise-linear map)."""
    k = torch.tensor([5.0, 3.0, 1.0])
    kk = (k + h.unsqueeze(-1) * 6) % 6
    return v.unsqueeze(-1) - (v * s).unsqueeze(-1) * torch.clamp(torch.minimum(kk, 4 - kk), 0, 1)


def _light(theta: torch.Tensor, height: float = 3.0) -> torch.Tensor:
    """Unit vector towards the light at (4 sin θ, 4 cos θ, height) (seed 001 eq. 27, image plane u, v)."""
    lv = torch.stack([4 * torch.sin(theta), 4 * torch.cos(theta), torch.full_like(theta, height)], -1)
    return lv / lv.norm(dim=-1, keepdim=True)


def _image_gradient(d: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Central differences of [B, H, W] along image u (right) and v (up), one-sided at the border."""
    pad = torch.nn.functional.pad(d.unsqueeze(1), (1, 1, 1, 1), mode="replicate").squeeze(1)
    gx = 0.5 * (pad[:, 1:-1, 2:] - pad[:, 1:-1, :-2])
    gy = 0.5 * (pad[:, :-2, 1:-1] - pad[:, 2:, 1:-1])  # rows run downwards, v upwards
    return gx, gy


def _relief(shape: int, u: torch.Tensor, v: torch.Tensor, size: torch.Tensor, alpha: torch.Tensor,
            theta: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """(coverage, shade) of one object of class ``shape`` per sample: u, v are [B, H, W] offsets
    from its centre on the pixel grid.

    The object is a relief whose height rises over a rim of width ``size/2`` (a quarter-circle
    bevel), so its normals tilt everywhere but the middle; shade = Lambert(n · light)."""
    ca, sa = torch.cos(alpha).view(-1, 1, 1), torch.sin(alpha).view(-1, 1, 1)
    s = size.view(-1, 1, 1)
    d = _sdf(shape, (ca * u + sa * v) / s, (-sa * u + ca * v) / s) * s  # signed distance in pixels
    coverage = (0.5 - d).clamp(0, 1)  # one-pixel antialiased edge
    rim = 0.5 * s
    inset = (-d).clamp(0, None).clamp_max(rim)
    # height h = √(rim² − (rim − inset)²) rises inwards along −∇d with slope (rim − inset)/h
    h = torch.sqrt((rim ** 2 - (rim - inset) ** 2).clamp_min(1e-3))
    slope = ((rim - inset) / h).clamp_max(4.0)
    gx, gy = _image_gradient(d)
    g = torch.sqrt(gx ** 2 + gy ** 2).clamp_min(1e-6)
    lig = _light(theta)
    lx, ly, lz = (lig[:, i].view(-1, 1, 1) for i in range(3))
    # normal ∝ (slope·∇d/|∇d|, 1): the surface faces outwards where it slopes down
    cos = (slope * (gx * lx + gy * ly) / g + lz) / torch.sqrt(slope ** 2 + 1)
    shade = 0.2 + 0.8 * cos.clamp_min(0)
    return coverage, shade


def _compose(obj_rgb: torch.Tensor, coverage: torch.Tensor, shade: torch.Tensor, bg_rgb: torch.Tensor,
             theta: torch.Tensor, n: int) -> torch.Tensor:
    """Object over a background that the same light brightens towards its side (a soft spot)."""
    u, v = _grid(n)
    lig = _light(theta)
    spot = 0.8 + 0.2 * (lig[:, 0].view(-1, 1, 1) * u + lig[:, 1].view(-1, 1, 1) * v) / (n / 2)
    bg = bg_rgb.view(-1, 1, 1, 3) * spot.unsqueeze(-1)
    fg = obj_rgb.view(-1, 1, 1, 3) * shade.unsqueeze(-1)
    img = coverage.unsqueeze(-1) * fg + (1 - coverage.unsqueeze(-1)) * bg
    return img.permute(0, 3, 1, 2).clamp(0, 1)


def _colours(vals: Dict[str, torch.Tensor]) -> Tuple[torch.Tensor, torch.Tensor]:
    ones = torch.ones_like(vals["hue_obj"])
    return (hsv_to_rgb(vals["hue_obj"], 0.85 * ones, ones), hsv_to_rgb(vals["hue_bg"], 0.45 * ones, 0.55 * ones))


def _render_light(vals: Dict[str, torch.Tensor], shape: int, n: int = RESOLUTION) -> torch.Tensor:
    gu, gv = _grid(n)
    u = gu.unsqueeze(0) - vals["x"].view(-1, 1, 1)
    v = gv.unsqueeze(0) - vals["y"].view(-1, 1, 1)
    cov, shade = _relief(shape, u, v, vals["z"], vals["alpha"], vals["theta"])
    obj, bg = _colours(vals)
    return _compose(obj, cov, shade, bg, vals["theta"], n)


def _render_distance(vals: Dict[str, torch.Tensor], shape: int, n: int = RESOLUTION) -> torch.Tensor:
    gu, gv = _grid(n)
    half = 0.5 * vals["distance"]
    du, dv = half * torch.cos(vals["phi"]), half * torch.sin(vals["phi"])
    covs, shades = [], []
    for sign in (1.0, -1.0):
        u = gu.unsqueeze(0) - (vals["x"] + sign * du).view(-1, 1, 1)
        v = gv.unsqueeze(0) - (vals["y"] + sign * dv).view(-1, 1, 1)
        c, s = _relief(shape, u, v, vals["z"], vals["alpha"], vals["theta"])
        covs.append(c)
        shades.append(s)
    first = covs[0] >= covs[1]  # where the two (nearly never) overlap, the one covering the pixel more wins
    cov = torch.maximum(covs[0], covs[1])
    shade = torch.where(first, shades[0], shades[1])
    obj, bg = _colours(vals)
    return _compose(obj, cov, shade, bg, vals["theta"], n)


VARIANTS: Registry[Variant] = Registry("scene variant")

VARIANTS.register("light")(Variant(
    "light",
    (Factor("x", -6, 6, "px"), Factor("y", -6, 6, "px"), Factor("z", 4.5, 7.5, "px (size)"),
     Factor("alpha", -math.pi / 4, math.pi / 4, "rad"), Factor("theta", -math.pi / 2, math.pi / 2, "rad"),
     Factor("hue_obj", 0.0, 0.8, "turn"), Factor("hue_bg", 0.0, 0.8, "turn")),
    roots=("theta", "hue_bg"),
    # Causal3DIdent's pattern (appendix B): position follows the light, size and rotation the class,
    # object hue the background hue (here pushed away from it, so objects stay visible).
    parents={"x": (("theta", 0.5),), "y": ((CLASS_LATENT, 0.5),), "z": ((CLASS_LATENT, -0.5),),
             "alpha": ((CLASS_LATENT, 0.5),), "hue_obj": (("hue_bg", -0.6),)},
    render=_render_light,
))

VARIANTS.register("distance")(Variant(
    "distance",
    (Factor("distance", 9.0, 19.0, "px"), Factor("x", -2, 2, "px"), Factor("y", -2, 2, "px"),
     Factor("phi", -math.pi / 4, math.pi / 4, "rad"), Factor("z", 3.0, 4.0, "px (size)"),
     Factor("alpha", -math.pi / 4, math.pi / 4, "rad"), Factor("theta", -math.pi / 2, math.pi / 2, "rad"),
     Factor("hue_obj", 0.0, 0.8, "turn"), Factor("hue_bg", 0.0, 0.8, "turn")),
    roots=("distance", "theta", "hue_bg"),
    parents={"x": (("theta", 0.5),), "y": ((CLASS_LATENT, 0.5),), "phi": (("distance", 0.5),),
             "z": ((CLASS_LATENT, -0.5),), "alpha": ((CLASS_LATENT, 0.5),), "hue_obj": (("hue_bg", -0.6),)},
    render=_render_distance,
))


def truncated_normal(mean: torch.Tensor, sigma: float, gen: torch.Generator) -> torch.Tensor:
    """N(mean, σ²) truncated to [−1, 1] by the inverse CDF (one uniform per sample: deterministic)."""
    lo = torch.special.ndtr((-1 - mean) / sigma)
    hi = torch.special.ndtr((1 - mean) / sigma)
    u = lo + (hi - lo) * torch.rand(mean.shape, generator=gen)
    return (mean + sigma * torch.special.ndtri(u.clamp(1e-7, 1 - 1e-7))).clamp(-1, 1)


def sample_latents(variant: Variant, n: int, gen: torch.Generator) -> Tuple[torch.Tensor, torch.Tensor]:
    """(latents [n, F] in [−1, 1], class labels [n]) by the variant's causal graph."""
    labels = torch.randint(len(SHAPES), (n,), generator=gen)
    known = {CLASS_LATENT: 2 * labels.float() / (len(SHAPES) - 1) - 1}
    for r in variant.roots:
        known[r] = torch.rand(n, generator=gen) * 2 - 1
    for f in variant.factors:  # dependent factors in declaration order (parents are roots)
        if f.name not in known:
            mean = sum(w * known[p] for p, w in variant.parents.get(f.name, ()))
            known[f.name] = truncated_normal(torch.as_tensor(mean, dtype=torch.float32).expand(n), SIGMA, gen)
    return torch.stack([known[f.name] for f in variant.factors], 1), labels


def render(variant: Variant, latents: torch.Tensor, labels: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """uint8 images [n, 3, 32, 32] of the given latents: rendered class by class (each shape's
    distance function once per block), in chunks that bound memory."""
    out = torch.empty(latents.shape[0], 3, RESOLUTION, RESOLUTION, dtype=torch.uint8)
    for k in range(len(SHAPES)):
        rows = torch.nonzero(labels == k).squeeze(1)
        for i in range(0, rows.numel(), chunk):
            idx = rows[i:i + chunk]
            lat = latents[idx]
            vals = {f.name: f.value(lat[:, j]) for j, f in enumerate(variant.factors)}
            out[idx] = (variant.render(vals, k) * 255).round().to(torch.uint8)
    return out


@dataclass
class SceneSet:
    """One split: images (uint8), latents in [−1, 1], class labels, and where they came from."""

    variant: Variant
    images: torch.Tensor
    latents: torch.Tensor
    labels: torch.Tensor
    fingerprint: str

    def __len__(self) -> int:
        return self.images.shape[0]

    def float_images(self, idx: Optional[torch.Tensor] = None) -> torch.Tensor:
        imgs = self.images if idx is None else self.images[idx]
        return imgs.float() / 255

    def values(self, name: str) -> torch.Tensor:
        """The factor ``name`` in its units."""
        return self.variant.factor(name).value(self.latents[:, self.variant.index(name)])


def _cache_path(variant: str, n: int, seed: int, split: str) -> Path:
    from ..utils.cache import cache_dir

    return cache_dir() / "scenes" / f"{variant}-v{SCENE_VERSION}-{split}-n{n}-s{seed}.pt"


SPLIT_STREAMS = {"train": 0, "test": 1}


def load_scenes(variant: str, n: int, seed: int = 0, split: str = "train", cache: bool = True) -> SceneSet:
    """The ``split`` of ``variant`` with n images from ``seed``: rendered once, then read from the cache."""
    if split not in SPLIT_STREAMS:
        raise UsageError(f"unknown split {split!r} (known: {', '.join(SPLIT_STREAMS)})")
    if n <= 0:
        raise UsageError(f"scene count must be positive, got {n}")
    var = VARIANTS.get(variant)
    fp = hash_config({"variant": variant, "n": n, "seed": seed, "split": split, "v": SCENE_VERSION}, n=16)
    path = _cache_path(variant, n, seed, split)
    if cache and path.is_file():
        blob = torch.load(path, weights_only=True)
        return SceneSet(var, blob["images"], blob["latents"], blob["labels"], fp)
    gen = torch.Generator().manual_seed(1_000_003 * seed + SPLIT_STREAMS[split])
    latents, labels = sample_latents(var, n, gen)
    images = render(var, latents, labels)
    if cache:
        atomic_torch_save(path, {"images": images, "latents": latents, "labels": labels})
    return SceneSet(var, images, latents, labels, fp)


def describe(variant: Variant) -> List[str]:
    """One line per factor: range, units, and what its mean depends on."""
    lines = []
    for f in variant.factors:
        if f.name in variant.roots:
            dep = "root, U[−1, 1]"
        else:
            dep = "TN(" + " + ".join(f"{w:+g}·{p}" for p, w in variant.parents.get(f.name, ())) + f", σ={SIGMA})"
        lines.append(f"{f.name:>9}: [{f.low:.3g}, {f.high:.3g}] {f.unit}; latent {dep}")
    return lines
