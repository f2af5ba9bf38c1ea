"""The method interface every training method implements, and the registry that names them."""
from __future__ import annotations

import abc
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Dict, Iterator, Optional

import torch
import torch.nn as nn

from ..registry import Registry


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser schedule shared by every method. Seed 000 §3.2 trains the lazy CNN with SGD for
    4 epochs (§3.3); it gives no learning rate or batch size, so 0.01 / momentum 0.9 / 64 are our
    documented defaults."""

    epochs: int = 4
    batch_size: int = 64
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    # Samples per epoch. None: one pass over the training split. 60,000: the seed's epoch (seed
    # 000 trains on MNIST's 60,000 digits), so a budget is epochs × 60,000 samples whatever the
    # training split's size; an epoch then ends after ceil(epoch_samples / batch_size) steps.
    epoch_samples: Optional[int] = None
    channels_last: bool = False  # NHWC activations: ~25 % faster lazy-CNN steps on CPU, same maths

    @property
    def samples(self) -> Optional[int]:
        """The budget in samples seen (None when epochs are passes over the split)."""
        return None if self.epoch_samples is None else self.epochs * self.steps_per_epoch * self.batch_size

    @property
    def steps_per_epoch(self) -> Optional[int]:
        return None if self.epoch_samples is None else -(-self.epoch_samples // self.batch_size)

    def key_dict(self) -> Dict[str, Any]:
        """Fields for cache keys: the fields added after the first zoo only when set, so every
        older key stays as it was."""
        out = asdict(self)
        for name in ("epoch_samples", "channels_last"):
            if out[name] == getattr(TrainConfig, name):
                del out[name]
        return out


@dataclass
class Batch:
    x: torch.Tensor  # [B, 3, 28, 28] float in [0, 1]
    y: torch.Tensor  # digit
    color: torch.Tensor  # colour id
    index: torch.Tensor  # row in the training split

    @property
    def group(self) -> torch.Tensor:
        return self.y * 10 + self.color


class Method(abc.ABC):
    """A training method. ``training_step`` owns its optimisers: it computes the loss, calls
    backward and steps, so adversarial and two-network methods fit the same loop as ERM.

    Class attributes state what the method needs; tables report them.
    """

    name: ClassVar[str] = "?"
    uses_group_labels: ClassVar[bool] = False
    uses_color_labels: ClassVar[bool] = False
    # Bumped when what the method does changes, so its cached zoo entries are never reused
    # (zoo.ZooSpec.key); 1 adds nothing to the key.
    zoo_version: ClassVar[int] = 1
    default_hparams: ClassVar[Dict[str, Any]] = {}

    def __init__(self, model: nn.Module, cfg: TrainConfig, data: Any, **hparams: Any):
        unknown = set(hparams) - set(self.default_hparams)
        if unknown:
            from ..errors import UsageError

            raise UsageError(f"method {self.name!r} has no hyperparameter(s) {sorted(unknown)}")
        self.model = model
        self.cfg = cfg
        self.data = data
        self.hparams = {**self.default_hparams, **hparams}
        self.optimizer = self.make_optimizer(model.parameters())

    def make_optimizer(self, params) -> torch.optim.Optimizer:
        return torch.optim.SGD(params, lr=self.cfg.lr, momentum=self.cfg.momentum, weight_decay=self.cfg.weight_decay)

    def epoch_order(self, n: int, generator: torch.Generator, epoch: int) -> Optional[Iterator[torch.Tensor]]:
        """Batches of training-set indices; None means a uniform shuffle (the default)."""
        return None

    def on_epoch_start(self, epoch: int) -> None:
        pass

    @abc.abstractmethod
    def training_step(self, batch: Batch, epoch: int, step: int) -> Dict[str, float]:
        """One optimisation step on ``batch``; returns at least {"loss": float}."""

    def final_model(self) -> nn.Module:
        return self.model


METHODS: Registry[type] = Registry("method")
