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
