"""Images inside result records: uint8, zlib-compressed, base64 text. Panels and figures are drawn
from records alone, so the pixels travel with the numbers; zlib halves the NSPGD panels (a record
holds 100 images), which keeps each track's record file small enough to commit."""
from __future__ import annotations

import base64
import zlib
from typing import Any, Dict

import numpy as np
import torch


def encode_images(images: torch.Tensor) -> Dict[str, Any]:
    """Images in [0, 1] → {"shape", "uint8_zlib_b64"} (rounded to the nearest of 256 levels)."""
    a = (images.clamp(0, 1) * 255).round().to(torch.uint8).numpy()
    return {"shape": list(a.shape), "uint8_zlib_b64": base64.b64encode(zlib.compress(a.tobytes(), 9)).decode()}


def decode_images(blob: Dict[str, Any]) -> np.ndarray:
    """The uint8 array back; also reads the uncompressed ``uint8_b64`` blobs of older records."""
    if "uint8_zlib_b64" in blob:
        raw = zlib.decompress(base64.b64decode(blob["uint8_zlib_b64"]))
    else:
        raw = base64.b64decode(blob["uint8_b64"])
    return np.frombuffer(raw, dtype=np.uint8).reshape(blob["shape"])
