import math

import torch

from shortcutbench.models import create_model
from shortcutbench.results.record import make_record
from shortcutbench.tracks import TRACKS, RunContext
from shortcutbench.tracks.attack import AttackProtocol, fair_selection, min_eps_study, model_specs, robustness, subset
from shortcutbench.tracks.common import colored_mnist

TINY = AttackProtocol("attack.test", n_per_split=10, linf_eps=(0.05, 0.3), l2_eps=(1.0,), pgd_steps=3, apgd_steps=4,
                      n_targets=2, square_queries=5, n_min_eps=3, min_eps_restarts=1, min_eps_steps=3,
                      select_conf=0.0)


def test_subset_is_fixed_and_stratified():
    data = colored_mnist()
    idx = subset(data["hard"], 90)
    assert len(idx) == 90 and torch.equal(idx, subset(data["hard"], 90))
    assert set(data["hard"].digit[idx].tolist()) == set(range(10))


def test_specs_include_erm_and_adversarial_training():
    methods = {s.method for s in model_specs("quick", [0])}
    assert {"erm", "pgd_at", "fgsm_at"} <= methods


def test_robustness_min_eps_and_render(tmp_path):
    torch.manual_seed(0)
    model = create_model("lazy_cnn").eval()
    data = colored_mnist()
    rob = robustness(model, TINY, data)
    rows = rob["robust"]
    for split in TINY.splits:
        for norm in ("linf", "l2"):
            accs = [r["acc"] for r in sorted((r for r in rows if r["split"] == split and r["norm"] == norm
                                              and r["attack"] == "standard"), key=lambda r: r["eps"])]
            clean = next(r["clean"] for r in rows if r["split"] == split)
            assert all(a <= clean for a in accs) and accs == sorted(accs, reverse=True)
    split, idx = fair_selection([model], TINY, data)
    me = min_eps_study(model, TINY, data, split, idx)
    assert me["n"] == len(idx)
    assert all(e is None or math.isinf(e) or e <= TINY.eps_max for e in me["eps_min"])
    rec = make_record("attack", "lazy_cnn.erm", 0, "quick", TINY.name, {**rob, "min_eps": me, "train_time_s": 0.0},
                      {"protocol": __import__("dataclasses").asdict(TINY)}, "fp", 1.0)
    tables = TRACKS.get("attack")().render([rec], tmp_path)
    assert [t.name for t in tables] == ["attack", "attack_min_eps"]
    assert len(tables[0].rows) == 2 * 3 and (tmp_path / "figures" / "attack").is_dir()


def test_options_override_protocol():
    from shortcutbench.tracks.attack import protocol_for

    p = protocol_for(RunContext(options={"n_per_split": "7", "linf_eps": "0.1,0.2"}))
    assert p.n_per_split == 7 and p.linf_eps == (0.1, 0.2)


def test_models_option_chooses_the_zoo():
    from shortcutbench.tracks.attack import model_methods

    assert model_methods(RunContext()) == ("erm", "pgd_at", "fgsm_at")
    assert model_methods(RunContext(options={"models": "erm"})) == ("erm",)
    assert set(model_methods(RunContext(options={"models": "all"}))) >= {"erm", "dfr", "pgd_at", "fgsm_at"}
    import pytest

    from shortcutbench.errors import UsageError
    with pytest.raises(UsageError, match="nope"):
        model_methods(RunContext(options={"models": "erm,nope"}))


class _Sevens(torch.nn.Module):
    """Says 7 (P ≈ 0.94) where the image is brighter than ``t`` (t = -1: always), else 0."""

    def __init__(self, t: float):
        super().__init__()
        self.t = t

    def forward(self, x):
        bright = (x.mean(dim=(1, 2, 3)) - self.t).clamp(-0.2, 0.2) * 25 + 5  # 10 when bright, 0 when dark
        logits = torch.zeros(x.shape[0], 10) + x.flatten(1)[:, :10]  # depends on x: gradients flow
        logits[:, 7] = logits[:, 7] + bright
        logits[:, 0] = logits[:, 0] + 10 - bright
        return logits


def test_evaluate_attacks_the_reference_images(monkeypatch):
    """A model evaluated alone (a submission) gets the 7→3 study on the images selected over the
    run's zoo models, not on its own selection: the zoo's code path and image set."""
    from shortcutbench.tracks import attack

    data = colored_mnist()
    sevens = data["hard"].images((data["hard"].digit == 7).nonzero().squeeze(1))
    zoo = [_Sevens(-1.0), _Sevens(float(sevens.mean(dim=(1, 2, 3)).median()))]
    monkeypatch.setitem(attack.PROTOCOLS, "quick", __import__("dataclasses").replace(TINY, splits=("hard",), linf_eps=(0.05,), l2_eps=()))
    track = TRACKS.get("attack")()
    monkeypatch.setattr(track, "_zoo", lambda ctx, p, data: [(None, type("E", (), {"model": m})) for m in zoo])
    ref_split, ref = fair_selection(zoo, TINY, data)
    own_split, own = fair_selection(zoo[:1], TINY, data)
    assert ref_split == own_split == "hard" and len(ref) == len(own) == TINY.n_min_eps
    assert ref.tolist() != own.tolist()  # the test can tell them apart
    got = track.evaluate(zoo[0], RunContext())["min_eps"]
    assert (got["split"], got["indices"]) == (ref_split, ref.tolist())
