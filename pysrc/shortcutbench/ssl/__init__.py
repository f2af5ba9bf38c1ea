"""Self-supervised pre-training and its robustness (seed 001 §4, §2.7.1), used by the ssl track.

- :mod:`.losses`: NT-Xent (SimCLR, supervised SimCLR), SimSiam, Barlow Twins;
- :mod:`.augment`: seeded batched views (crop, flip where the data allow it, colour distortion);
- :mod:`.methods`: the pre-training methods, a registry; :mod:`.pretrain`: the loop and the cache;
- :mod:`.readout`: standard and adversarial linear readouts; :mod:`.evaluate`: attacks, ‖Δf‖₂,
  Colored-MNIST probes; :mod:`.data`: the datasets (digits, Colored-MNIST, CIFAR-10, toy).
"""
from .losses import barlow_twins, nt_xent, simsiam
from .methods import PRETRAIN_METHODS, create_method
from .pretrain import PretrainConfig, load_or_pretrain, pretrain

__all__ = ["PRETRAIN_METHODS", "PretrainConfig", "barlow_twins", "create_method", "load_or_pretrain", "nt_xent",
           "pretrain", "simsiam"]
