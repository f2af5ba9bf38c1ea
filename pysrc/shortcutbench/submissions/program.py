"""Verified models: an exported ATen graph or registry-architecture weights, loaded without
running any submitted Python.

``torch.export.load`` unpickles (``weights_only=False``) and would run code, so exported programs
use our own file: one safetensors file whose tensors are the program's weights and constants and
whose metadata holds torch's JSON serialisation of the graph. Before torch deserialises the JSON
we keep only what cannot run code: every node's target must be an ``aten`` operator or a pure
arithmetic/comparison function of ``operator``, symbolic sizes must be plain sympy arithmetic on
size symbols (torch parses them with ``sympify``, an ``eval``), and node metadata and guard code
(both resolved or compiled by torch) are dropped. The result is a pure function of its input:
no Python state to carry between calls.
"""
from __future__ import annotations

import json
import operator
import re
from pathlib import Path
from typing import Any, Dict

import torch
import torch.nn as nn

FORMAT = "shortcutbench.export.v1"
MAX_BATCH = 1 << 16
_TARGET = re.compile(r"^torch\.ops\.aten\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")
# pure Python operators torch.export emits for size arithmetic (x.view(x.shape[0], -1)) and tuple outputs
_OPERATORS = {f"_operator.{name}": getattr(operator, name) for name in
              ("getitem", "add", "sub", "mul", "floordiv", "truediv", "mod", "neg", "pow", "eq", "ne", "lt", "le",
               "gt", "ge")}
_SYMPY_TOKENS = re.compile(r"Symbol\('[a-z]\d+', (?:positive=True, )?integer=True\)|"
                           r"\b(?:Integer|Mul|Add|Pow|Max|Min|FloorDiv|Mod|PythonMod|CeilToInt|FloorToInt)\(")
_SYMPY_REST = re.compile(r"^[0-9\s(),\-]*$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_FORBIDDEN_KEYS = ("as_graph", "as_custom_obj", "as_operator", "as_complex")


class ProgramError(ValueError):
    """The file is not a program we can load without running code; the message says why."""


def export_to_file(model: nn.Module, path: Path) -> None:
    """torch.export the model with a dynamic batch dimension and write our safetensors file."""
    from safetensors.torch import save_file
    from torch._export.serde.serialize import serialize
    from torch.export import Dim

    from .format import INPUT_SHAPE

    x = torch.rand((8,) + INPUT_SHAPE, generator=torch.Generator().manual_seed(0))
    ep = torch.export.export(model.eval(), (x,), dynamic_shapes=({0: Dim("batch", min=1, max=MAX_BATCH)},),
                             strict=False).run_decompositions()  # functional: in-place ops become outputs
    art = serialize(ep, serialize_state_dict=False, serialize_constants=False, serialize_example_inputs=False)
    tensors = {f"state/{k}": v.detach().clone().contiguous() for k, v in ep.state_dict.items()}
    for k, v in ep.constants.items():
        if not isinstance(v, torch.Tensor):
            raise ProgramError(f"constant {k!r} is a {type(v).__name__}, not a tensor")
        tensors[f"const/{k}"] = v.detach().clone().contiguous()
    save_file(tensors, str(path), metadata={"format": FORMAT, "program": art.exported_program.decode()})


def _check_json(obj: Any, path: str = "") -> None:
    if isinstance(obj, dict):
        for key, value in obj.items():
            where = f"{path}.{key}"
            if key in _FORBIDDEN_KEYS:
                raise ProgramError(f"{where}: {key} (subgraphs, custom objects, operator arguments) is not allowed")
            if key == "target" and isinstance(value, str) and not (_TARGET.match(value) or value in _OPERATORS):
                raise ProgramError(f"{where}: operator {value[:80]!r} is not an aten operator")
            if key == "expr_str" and not _SYMPY_REST.match(_SYMPY_TOKENS.sub("", str(value))):
                raise ProgramError(f"{where}: symbolic size {str(value)[:80]!r} is not plain arithmetic")
            if key == "name" and isinstance(value, str) and not _NAME.match(value):
                raise ProgramError(f"{where}: name {value[:80]!r} is not an identifier")
            _check_json(value, where)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            _check_json(value, f"{path}[{i}]")


def _strip(obj: Any) -> Any:
    """Drop node metadata (stack traces, module paths torch would resolve) and guard code."""
    if isinstance(obj, dict):
        return {k: ({} if k == "metadata" else [] if k == "guards_code" else _strip(v)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_strip(v) for v in obj]
    return obj


def load_program(path: Path) -> nn.Module:
    """The exported program in ``path`` as a module, after the checks in the module docstring."""
    from safetensors import SafetensorError, safe_open
    from torch._export.serde import schema
    from torch._export.serde.serialize import ExportedProgramDeserializer, _dict_to_dataclass

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ProgramError(f"is not a safetensors file ({exc})") from None
    if meta.get("format") != FORMAT or "program" not in meta:
        raise ProgramError(f"has no {FORMAT!r} program in its safetensors metadata")
    try:
        doc = json.loads(meta["program"])
    except ValueError as exc:
        raise ProgramError(f"holds no JSON program ({exc})") from None
    if not isinstance(doc, dict) or doc.get("graph_module", {}).get("graph", {}).get("custom_obj_values"):
        raise ProgramError("holds custom objects")
    _check_json(doc)
    if not set(doc.get("verifiers") or []) <= {"", "ATEN", "TRAINING"}:
        raise ProgramError(f"unknown verifiers {doc.get('verifiers')}")
    consts = {k[6:]: v for k, v in tensors.items() if k.startswith("const/")}
    try:
        params = {s["parameter"]["parameter_name"] for s in doc["graph_module"]["signature"]["input_specs"]
                  if "parameter" in s}
        state = {k[6:]: (nn.Parameter(v, requires_grad=False) if k[6:] in params else v)
                 for k, v in tensors.items() if k.startswith("state/")}
        serialized = _dict_to_dataclass(schema.ExportedProgram, _strip(doc))
        ep = ExportedProgramDeserializer().deserialize(serialized, state, consts, None)
        mutated = {**ep.graph_signature.buffers_to_mutate, **ep.graph_signature.user_inputs_to_mutate}
        module = None if mutated else ep.module()
    except Exception as exc:  # malformed graph: torch's own error, one line
        text = str(exc).strip().splitlines()
        raise ProgramError(f"cannot rebuild the graph: {type(exc).__name__}: {text[0] if text else ''}") from None
    if mutated:  # state carried from one call to the next: not a function of its input
        raise ProgramError(f"the graph writes to {', '.join(sorted(mutated.values()))[:120]}")
    for node in module.graph.nodes:
        schema = getattr(node.target, "_schema", None)
        if schema is not None and schema.is_mutable:  # writes a tensor in place: state, or a changed input
            raise ProgramError(f"node {node.name} calls {node.target}, which writes in place")
        if node.op == "call_function" and not (node.target in _OPERATORS.values() or
                                               (isinstance(node.target, torch._ops.OpOverload)
                                                and node.target.namespace == "aten")):
            raise ProgramError(f"node {node.name} calls {node.target}, not an aten operator")
        if node.op in ("call_module", "call_method"):
            raise ProgramError(f"node {node.name} is a {node.op}")
    return ExportedGraph(module)


class ExportedGraph(nn.Module):
    """The graph as a module that tracks may put in eval mode: it was exported in eval mode and
    has no train mode to switch to (torch's module refuses ``eval()``)."""

    def __init__(self, graph: nn.Module):
        super().__init__()
        self.graph = graph

    def train(self, mode: bool = True) -> "ExportedGraph":
        self.training = mode
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.graph(x)


def read_safetensors(path: Path) -> Dict[str, torch.Tensor]:
    """A state_dict from a safetensors file (no pickle)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ProgramError(f"is not a safetensors file ({exc})") from None
