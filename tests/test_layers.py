"""The package's layers, each importing only from layers below it (issue 19), read from the source
with ``ast`` (no import-linter needed):

    cli → submissions → tracks → (zoo, train, explain, attacks, invariance, glm, certify, ssl, causal)
        → (models, data, results, metrics) → utils → ops → _ext → (errors, registry, the package root)

Packages within one layer may import each other, but never in a circle. ``<pkg>.command`` modules are
the CLI's subcommands and ``results.overall``, ``results.site``, ``results.cards`` (model cards) and
``results.findings`` / ``results.findings_claims`` (the seed-claims table) and ``results.runtimes`` (run
times per track) render every track's records together, so they sit with the CLI, above the tracks.
"""
import ast
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

import shortcutbench

ROOT = Path(shortcutbench.__file__).parent
LAYERS: List[Set[str]] = [
    {"cli", "__main__", "explain.command", "zoo.command", "ssl.command", "results.overall", "results.site",
     "results.cards", "results.findings", "results.findings_claims", "results.runtimes"},
    {"submissions"},
    {"tracks"},
    {"zoo", "train", "explain", "attacks", "invariance", "glm", "certify", "ssl", "causal"},
    {"models", "data", "results", "metrics", "testing"},
    {"utils"},
    {"ops"},
    {"_ext", "_C"},
    {"errors", "registry", ""},
]


def unit(module: str) -> str:
    """The layer unit of a dotted module below ``shortcutbench`` ("" for the package root)."""
    parts = module.split(".")[1:]
    for n in (2, 1):
        if ".".join(parts[:n]) in set().union(*LAYERS) and len(parts) >= n:
            return ".".join(parts[:n])
    return parts[0] if parts else ""


def layer_of(u: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if u in layer)


def _module_name(path: Path) -> Tuple[str, str]:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), ".".join(parts)
    return ".".join(parts), ".".join(parts[:-1])


def _submodule_or_package(package: str, name: str) -> str:
    """``from PACKAGE import name``: the submodule when there is one, else the package (an attribute)."""
    path = ROOT.parent.joinpath(*package.split("."), name)
    return f"{package}.{name}" if path.with_suffix(".py").is_file() or path.is_dir() else package


def imports() -> List[Tuple[str, str, str]]:
    """(importer module, imported shortcutbench module, file:line) for every import in the package,
    lazy ones inside functions included."""
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        module, package = _module_name(path)
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                names = [target] if node.module else [_submodule_or_package(target, a.name) for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            out += [(module, t, f"{path.relative_to(ROOT)}:{node.lineno}") for t in names
                    if t == "shortcutbench" or t.startswith("shortcutbench.")]
    return out


def test_every_unit_has_a_layer():
    units = {unit(m) for m, _, _ in imports()} | {unit(t) for _, t, _ in imports()}
    unplaced = sorted(u for u in units if not any(u in layer for layer in LAYERS))
    assert not unplaced, f"place these in LAYERS: {unplaced}"


def test_no_module_imports_from_a_layer_above_it():
    upward = [f"{where}: {m} imports {t}" for m, t, where in imports()
              if layer_of(unit(t)) < layer_of(unit(m))]
    assert not upward, "\n".join(upward)


def test_no_circles_between_packages():
    graph: Dict[str, Set[str]] = {}
    for m, t, _ in imports():
        a, b = unit(m), unit(t)
        if a != b:
            graph.setdefault(a, set()).add(b)
    state: Dict[str, int] = {}
    stack: List[str] = []

    def visit(u: str) -> None:  # depth-first search; a grey node met again closes a circle
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, ())):
            if state.get(v) == 1:
                pytest.fail("import circle: " + " → ".join(stack[stack.index(v):] + [v]))
            if v not in state:
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if u not in state:
            visit(u)


def test_the_checker_sees_an_upward_import(tmp_path):
    """The AST reading catches relative, lazy imports (the shape every fixed violation had)."""
    src = "def f():\n    from ..tracks.common import colored_mnist\n"
    tree = ast.parse(src)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom))
    assert node.level == 2 and node.module == "tracks.common"
    assert layer_of(unit("shortcutbench.tracks.common")) < layer_of(unit("shortcutbench.data.scenes"))
