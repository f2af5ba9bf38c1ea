"""SimCLR features for the causal track (seed 001 §7.1, Table 5: SimCLR trained on the scenes
without their factors; a linear or kernel-ridge readout of the frozen features regresses every
factor). The ssl package's SimCLR (NT-Xent τ = 0.5, LARS, cosine decay; issue #22) trains the
supervised CNN's body (``models.scene_cnn``), so SimCLR and supervised rows differ in how the
same architecture was trained, not in its size.

Views: seed §7.1 chose "the small random crop and color distortion data augmentations" as best
for the spotlight angle. Resized crop keeping ≥ 70 % of the area, colour distortion at SimCLR's
CIFAR strength s = 0.5, and no flip: a mirror image sends the light angle θ to −θ and x to −x, so
flipped positives would teach the features to forget the task's factor. Colour factors are
expected to be lost (the seed's Table 5 leaves them out for that reason).
"""
from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any, Dict, Tuple

import torch.nn as nn

from ..data.cifar import CifarSplit
from ..data.scenes import RESOLUTION, SceneSet
from ..ssl.augment import NO_AUGMENT, Augment
from ..ssl.data import SslData
from ..ssl.pretrain import PRETRAIN_VERSION, PretrainConfig, pretrain

SCENE_VIEWS = Augment(crop="resized", crop_scale=(0.7, 1.0), flip=False, color_strength=0.5)
PRETRAIN = PretrainConfig(arch="scene_cnn", batch_size=256, channels_last=True)


def scene_ssl_data(train: SceneSet) -> SslData:
    """The training scenes as the ssl package's data: images and shape labels (labels are used
    only by supervised SimCLR; plain SimCLR never reads them)."""
    split = CifarSplit(train.images, train.labels)
    return SslData(f"scenes_{train.variant.name}", {"train": split}, train.fingerprint, "generated:scenes", 3,
                   SCENE_VIEWS, NO_AUGMENT, (), 0.0)


def settings(epochs: int) -> Dict[str, Any]:
    """Everything besides data and seed that determines the trained features (part of the storage key)."""
    out = {"method": "simclr", "pretrain": asdict(replace(PRETRAIN, epochs=epochs)), "views": asdict(SCENE_VIEWS),
           "resolution": RESOLUTION}
    if PRETRAIN_VERSION != 2:  # the shipped weights were trained at v2 and keyed without it; a bump re-keys
        out["pretrain_version"] = PRETRAIN_VERSION
    return out


def simclr_features(train: SceneSet, seed: int, epochs: int) -> Tuple[nn.Sequential, Dict[str, Any]]:
    """(the trained body, {"history": per-epoch loss and time}) after ``epochs`` SimCLR epochs on
    ``train`` at ``seed``."""
    res = pretrain("simclr", scene_ssl_data(train), replace(PRETRAIN, epochs=epochs), seed,
                   desc=f"causal.{train.variant.name}.simclr seed {seed}")
    return res.model.features, {"history": res.history}
