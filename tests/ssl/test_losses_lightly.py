"""Our SSL losses against lightly's (a maintained SSL library). lightly is installed with
``--no-deps`` (``make`` does; its dependencies would replace the pinned torch): its package
``__init__`` then fails on the missing torchvision, so its three loss modules are loaded on their
own, with ``torchvision.ops.StochasticDepth`` (only named at import, never called) stubbed."""
import importlib
import importlib.util
import sys
import types
from pathlib import Path

import pytest
import torch

from shortcutbench.ssl import losses


@pytest.fixture(scope="module")
def lightly_losses():
    spec = importlib.util.find_spec("lightly")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("lightly not installed (make installs lightly==1.6.0 --no-deps)")
    root = Path(list(spec.submodule_search_locations)[0])
    saved = {k: v for k, v in sys.modules.items() if k == "lightly" or k.startswith(("lightly.", "torchvision"))}
    try:
        for name, sub in (("lightly", ""), ("lightly.loss", "loss"), ("lightly.models", "models"),
                          ("lightly.models.modules", "models/modules"), ("lightly.utils", "utils")):
            pkg = types.ModuleType(name)
            pkg.__path__ = [str(root / sub)]
            sys.modules[name] = pkg
        if importlib.util.find_spec("torchvision") is None:
            tv, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
            ops.StochasticDepth, tv.ops = type("StochasticDepth", (), {}), ops
            sys.modules["torchvision"], sys.modules["torchvision.ops"] = tv, ops
        mods = {n: importlib.import_module(f"lightly.loss.{n}")
                for n in ("ntx_ent_loss", "barlow_twins_loss", "negative_cosine_similarity")}
        yield mods
    finally:
        for k in [k for k in sys.modules if k == "lightly" or k.startswith(("lightly.", "torchvision"))]:
            del sys.modules[k]
        sys.modules.update(saved)


def _z(seed, n=32, d=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g, dtype=torch.float64), torch.randn(n, d, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_nt_xent_equals_lightly(lightly_losses, tau):
    z1, z2 = _z(0)
    ref = lightly_losses["ntx_ent_loss"].NTXentLoss(temperature=tau)(z1, z2)
    assert losses.nt_xent(z1, z2, tau).item() == pytest.approx(ref.item(), rel=1e-10)


def test_barlow_twins_equals_lightly(lightly_losses):
    z1, z2 = _z(1)
    ref = lightly_losses["barlow_twins_loss"].BarlowTwinsLoss(lambda_param=losses.BARLOW_LAMBDA)(z1, z2)
    assert losses.barlow_twins(z1, z2).item() == pytest.approx(ref.item(), rel=1e-10)


def test_simsiam_equals_lightly(lightly_losses):
    (z1, z2), (p1, p2) = _z(2), _z(3)
    d = lightly_losses["negative_cosine_similarity"].NegativeCosineSimilarity()
    ref = 0.5 * d(p1, z2.detach()) + 0.5 * d(p2, z1.detach())
    assert losses.simsiam(p1, p2, z1, z2).item() == pytest.approx(ref.item(), rel=1e-10)
