"""Model registry. ``create_model(name, **kwargs)``; each architecture registers itself."""
from . import conv_maxpool, lazy_cnn, lazy_cnn_temp, resnet, scene_cnn  # noqa: F401  (registers)
from .registry import MODELS, create_model

__all__ = ["MODELS", "create_model"]
