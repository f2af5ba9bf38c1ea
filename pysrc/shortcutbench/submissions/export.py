"""Export a zoo model as a submission directory: the worked example of the format, and the check
that a submitted model and the same zoo model get the same numbers from every track."""
from __future__ import annotations

import io
import json
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Optional

import torch

from ..errors import UsageError
from ..utils.atomic import atomic_write_bytes, atomic_write_text

TEMPLATE_DIR = Path(__file__).with_name("template")

_MODEL_PY = '''"""Exported from the shortcutbench zoo: {model_id}, seed {seed}, zoo key {key}."""
from shortcutbench.models import create_model


def build():
    return create_model({arch!r}, **{arch_kwargs!r})
'''


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)  # a JSON string is a valid TOML basic string


def export_zoo(model_id: str, seed: int, dest: str | Path, profile: str = "quick",
               mnist_dir: Optional[str] = None) -> Path:
    """Write ``dest`` (which must not exist or be empty) from the zoo entry ``model_id`` (``arch.method``)
    trained under the shortcut track's ``profile`` preset; trains it if the cache lacks it."""
    from ..models import MODELS
    from ..train import METHODS
    from ..tracks.common import colored_mnist
    from ..tracks.shortcut import PROTOCOLS, load_zoo_entry, zoo_spec

    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"export target {str(dest)!r} exists and is not an empty directory")
    arch, _, method = model_id.partition(".")
    if not method or "." in method:
        raise UsageError(f"--export-zoo takes ARCH.METHOD such as lazy_cnn.erm, got {model_id!r}")
    MODELS.get(arch)
    method_cls = METHODS.get(method)
    protocol = PROTOCOLS[profile]
    data = colored_mnist(mnist_dir, protocol.data)
    # the shortcut track's own entry (its method schedule, its per-epoch history), not a look-alike
    spec = replace(zoo_spec(protocol, method, seed), arch=arch)
    entry = load_zoo_entry(spec, data, desc="export")
    card = {
        "name": f"{model_id}.seed{seed}",
        "authors": ["shortcutbench zoo"],
        "link": "",
        "architecture": arch + (f" {spec.arch_kwargs}" if spec.arch_kwargs else ""),
        "training_data": f"Colored-MNIST train split ({protocol.name}, data {data.fingerprint}), "
                         f"{method} for {spec.train.epochs} epochs, seed {seed}",
        "uses_group_labels": bool(method_cls.uses_group_labels),
        "uses_color_labels": bool(method_cls.uses_color_labels),
        "extra_data": False,
        "licence": "MIT",
        "tracks": ["all"],
    }
    toml = "".join(f"{k} = {_toml_value(v)}\n" for k, v in card.items())
    toml += '\n[model]\ncode = "model.py"\nfactory = "build"\nweights = "weights.pt"\n'
    buf = io.BytesIO()
    torch.save(entry.model.state_dict(), buf)
    # build next to dest, then move into place: never a half-written submission
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        atomic_write_text(tmp / "submission.toml", toml)
        atomic_write_text(tmp / "model.py", _MODEL_PY.format(model_id=model_id, seed=seed, key=entry.key, arch=arch,
                                                             arch_kwargs=dict(spec.arch_kwargs)))
        atomic_write_bytes(tmp / "weights.pt", buf.getvalue())
        if dest.exists():
            dest.rmdir()
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
