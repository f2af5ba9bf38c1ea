"""Export a zoo model as a submission directory: the worked example of the format, and the check
that a submitted model and the same zoo model get the same numbers from every track."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Optional

from safetensors.torch import save as safetensors_save

from ..errors import UsageError
from ..utils.atomic import atomic_write_bytes, atomic_write_text, current_umask

TEMPLATE_DIR = Path(__file__).with_name("template")


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(v)  # a JSON string is a valid TOML basic string


def export_zoo(model_id: str, seed: int, dest: str | Path, mnist_dir: Optional[str] = None) -> Path:
    """Write ``dest`` (which must not exist or be empty) from the shipped zoo model ``model_id``
    (e.g. ``lazy_cnn.erm``; see ``shortcutbench zoo list``), its weights hash-checked; nothing trains."""
    from ..train import METHODS
    from ..zoo import catalogue
    from ..zoo.shipped import load_shipped_model

    dest = Path(dest)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise UsageError(f"export target {str(dest)!r} exists and is not an empty directory")
    if model_id not in catalogue.shipped_names():
        raise UsageError(f"--export-zoo: unknown zoo model {model_id!r} (see: shortcutbench zoo list)")
    model, rec = load_shipped_model(model_id, seed)
    arch, method = rec["arch"], rec["method"]
    method_cls = METHODS.get(method)
    card = {
        "name": f"{model_id}.seed{seed}",
        "authors": ["shortcutbench zoo"],
        "link": "",
        "architecture": arch,
        "training_data": f"Colored-MNIST train split ({rec['data']['source']}, data {rec['data']['fingerprint']}), "
                         f"{method} for {rec['samples']:,} samples ({rec['epochs']} × 60,000-sample epochs), seed {seed}",
        "uses_group_labels": bool(method_cls.uses_group_labels),
        "uses_color_labels": bool(method_cls.uses_color_labels),
        "extra_data": False,
        "licence": "MIT",
        "tracks": ["all"],
    }
    toml = "".join(f"{k} = {_toml_value(v)}\n" for k, v in card.items())
    # verified: a registry architecture and safetensors weights, no Python of ours to trust either
    toml += f'\n[model]\narch = {_toml_value(arch)}\nweights = "weights.safetensors"\n'
    weights = safetensors_save({k: v.detach().contiguous() for k, v in model.state_dict().items()},
                               metadata={"zoo_key": rec["zoo_key"], "zoo_sha256": rec["sha256"]})
    # build next to dest, then move into place: never a half-written submission
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{dest.name}."))
    try:
        atomic_write_text(tmp / "submission.toml", toml)
        atomic_write_bytes(tmp / "weights.safetensors", weights)
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes 0700
        if dest.exists():
            dest.rmdir()
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
