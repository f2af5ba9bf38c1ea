"""The submission format: a directory with ``submission.toml`` and a model in one of four forms.

Verified (no submitted Python runs anywhere): ``arch`` (a model-registry name, optional
``arch_kwargs``) + ``weights`` (safetensors), or ``program`` (an exported ATen graph, see
``program.py``). Code (runs only in the sandbox, ``server.py``): ``code`` + ``factory`` +
``weights`` (``torch.load(weights_only=True)`` or safetensors), or ``torchscript``.

Fields follow what RobustBench's model cards carry (research/adversarial.md §2: name, authors,
link, architecture, extra data, licence) plus what a shortcut benchmark must know to compare on
equal terms (research/shortcut.md §1: which training data, whether group or colour labels were
used). See ``template/submission.toml`` for a filled-in example with comments.
"""
from __future__ import annotations

import hashlib
import importlib.util
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List

import torch
import torch.nn as nn

from ..errors import UsageError

TOML = "submission.toml"
# field → (type, meaning); every one is required so a board row never has a blank flag
FIELDS: Dict[str, tuple] = {
    "name": (str, "short id, [a-z0-9][a-z0-9_.-]*; the model appears as sub.<name>"),
    "authors": (list, "list of author names"),
    "link": (str, "paper, code or model card URL (may be empty)"),
    "architecture": (str, "e.g. 'lazy CNN 16/32/64' or 'ResNet-18'"),
    "training_data": (str, "what the model was trained on, e.g. 'Colored-MNIST train split, rho 0.99'"),
    "uses_group_labels": (bool, "trained with (digit, colour) group labels"),
    "uses_color_labels": (bool, "trained with colour labels"),
    "extra_data": (bool, "trained on data beyond the benchmark's train split"),
    "licence": (str, "licence of the weights, e.g. 'MIT'"),
    "tracks": (list, "track names to run, or ['all'] for every track that accepts submissions"),
}
# [model] keys of each source; the first whose keys are all present is the submission's
SOURCES = {"program": ("program",), "safetensors": ("arch", "weights"), "code": ("code", "factory", "weights"),
           "torchscript": ("torchscript",)}
VERIFIED = ("program", "safetensors")
_FORMS = ("program = FILE (exported graph); arch = NAME + weights = FILE.safetensors; "
          "code = FILE + factory = NAME + weights = FILE; or torchscript = FILE")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
INPUT_SHAPE = (3, 28, 28)
# how a submission was scored, as records and tables show it
KINDS = {"program": "verified: export", "safetensors": "verified: safetensors", "exported": "verified: exported from code",
         "code": "code"}
NUM_CLASSES = 10


@dataclass(frozen=True)
class Submission:
    root: Path
    meta: Dict[str, Any]  # the validated top-level fields
    model_spec: Dict[str, str]  # the [model] table
    files: List[Path]  # every file that defines the model (hashed)
    source: str = "code"  # a key of SOURCES
    arch_kwargs: Dict[str, Any] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        """No submitted Python is needed to build the model."""
        return self.source in VERIFIED

    @property
    def model_id(self) -> str:
        return f"sub.{self.meta['name']}"

    @property
    def hash(self) -> str:
        """sha256 over submission.toml and every model file (name and bytes), 16 hex digits."""
        h = hashlib.sha256()
        for p in [self.root / TOML] + self.files:
            h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
        return h.hexdigest()[:16]

    def card(self, kind: str) -> Dict[str, Any]:
        """What records carry about the submission (flags shown on the board); ``kind`` is how it
        was scored (``KINDS``)."""
        return {**{k: self.meta[k] for k in FIELDS if k != "tracks"}, "hash": self.hash, "kind": kind}


def _fail(root: Path, msg: str) -> UsageError:
    return UsageError(f"submission {str(root)!r}: {msg}")


def read_submission(root: str | Path) -> Submission:
    """Parse and check the manifest (fields, types, files present); the model is not loaded."""
    root = Path(root)
    if not (root / TOML).is_file():
        raise _fail(root, f"no {TOML} in the directory")
    try:
        doc = tomllib.loads((root / TOML).read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _fail(root, f"{TOML} is not valid TOML: {str(exc).splitlines()[0]}") from None
    missing = [k for k in FIELDS if k not in doc]
    if missing:
        raise _fail(root, f"{TOML} lacks required field(s): {', '.join(missing)}")
    for key, (typ, meaning) in FIELDS.items():
        if not isinstance(doc[key], typ):
            raise _fail(root, f"{TOML} field {key!r} must be a {typ.__name__} ({meaning})")
    if not NAME_RE.match(doc["name"]):
        raise _fail(root, f"{TOML} field 'name' must match {NAME_RE.pattern}, got {doc['name']!r}")
    spec = doc.get("model")
    if not isinstance(spec, dict):
        raise _fail(root, f"{TOML} lacks a [model] table ({_FORMS})")
    source = next((name for name, keys in SOURCES.items() if set(keys) <= set(spec)), None)
    if source is None:
        raise _fail(root, f"[model] needs one of: {_FORMS}")
    kwargs = spec.get("arch_kwargs", {})
    if source == "safetensors":
        from ..models import MODELS

        if str(spec["arch"]) not in MODELS:
            raise _fail(root, f"[model] arch {spec['arch']!r} is not in the model registry ({', '.join(MODELS.list())})")
        if not isinstance(kwargs, dict):
            raise _fail(root, "[model] arch_kwargs must be a table")
    files = []
    for k in [k for k in SOURCES[source] if k not in ("factory", "arch")]:
        p = root / str(spec[k])
        if not p.is_file():
            raise _fail(root, f"[model] {k} file {str(spec[k])!r} not found")
        files.append(p)
    model_spec = {k: str(v) for k, v in spec.items() if k != "arch_kwargs"}
    return Submission(root, {k: doc[k] for k in FIELDS}, model_spec, files, source, dict(kwargs))


def load_verified(sub: Submission) -> nn.Module:
    """A verified submission's model, built by our code alone (registry architecture or ATen graph)."""
    from .program import ProgramError, load_program, read_safetensors

    spec, root = sub.model_spec, sub.root
    try:
        if sub.source == "program":
            return load_program(root / spec["program"]).eval()
        from ..models import create_model

        model = create_model(spec["arch"], **sub.arch_kwargs)
        state = read_safetensors(root / spec["weights"])
    except ProgramError as exc:
        raise _fail(root, f"{next(k for k in ('program', 'weights') if k in spec)} {str(exc)}") from None
    except TypeError as exc:  # arch_kwargs the architecture does not take
        raise _fail(root, f"[model] arch_kwargs do not fit {spec['arch']!r}: {exc}") from None
    _check_state(root, model, state, spec["weights"])
    model.load_state_dict(state)
    return model.eval()


def load_model(sub: Submission) -> nn.Module:
    """Build a code submission's model and load its weights, in eval mode. Runs the submission's
    code: only the sandboxed server calls this."""
    spec, root = sub.model_spec, sub.root
    if sub.verified:
        return load_verified(sub)
    if sub.source == "torchscript":
        try:
            return torch.jit.load(str(root / spec["torchscript"]), map_location="cpu").eval()
        except Exception as exc:  # a corrupt or non-TorchScript file
            raise _fail(root, f"cannot load TorchScript {spec['torchscript']!r}: {_first_line(exc)}") from None
    code = root / spec["code"]
    module_spec = importlib.util.spec_from_file_location(f"shortcutbench_submission_{sub.hash}", code)
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise _fail(root, f"importing {spec['code']!r} failed: {_first_line(exc)}") from None
    factory = getattr(module, spec["factory"], None)
    if not callable(factory):
        raise _fail(root, f"factory {spec['factory']!r} not found in {spec['code']!r}")
    try:
        model = factory()
    except Exception as exc:
        raise _fail(root, f"factory {spec['factory']!r} raised: {_first_line(exc)}") from None
    if not isinstance(model, nn.Module):
        raise _fail(root, f"factory {spec['factory']!r} returned {type(model).__name__}, not a torch.nn.Module")
    try:
        if spec["weights"].endswith(".safetensors"):
            from .program import read_safetensors

            state = read_safetensors(root / spec["weights"])
        else:
            state = torch.load(root / spec["weights"], map_location="cpu", weights_only=True)
    except Exception as exc:
        raise _fail(root, f"cannot load weights {spec['weights']!r} with weights_only=True: {_first_line(exc)}") from None
    if not isinstance(state, dict):
        raise _fail(root, f"weights {spec['weights']!r} must hold a state_dict, got {type(state).__name__}")
    _check_state(root, model, state, spec["weights"])
    model.load_state_dict(state)
    return model.eval()


def _check_state(root: Path, model: nn.Module, state: Dict[str, Any], name: str) -> None:
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k} {list(state[k].shape)} vs {list(own[k].shape)}" for k in own
              if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)]
    problems = ([f"missing {', '.join(missing[:3])}"] if missing else []) + \
               ([f"unexpected {', '.join(unexpected[:3])}"] if unexpected else []) + \
               ([f"shape {'; '.join(shapes[:3])}"] if shapes else [])
    if problems:
        raise _fail(root, f"weights {name!r} do not match the architecture: {' | '.join(problems)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"
