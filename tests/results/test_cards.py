"""Model cards read the zoo's shipped JSON beside the safetensors and the records' provenance."""
import json

from shortcutbench.results.cards import model_card, shipped_meta, shipped_names
from shortcutbench.results.record import make_record
from shortcutbench.zoo.shipped import WEIGHTS_DIR


def _zoo_meta(seed, sha, commit):
    return {"name": "lazy_cnn.toy", "seed": seed, "arch": "lazy_cnn", "method": "erm", "group": "control",
            "hparams": {"optimizer": "adam"}, "sha256": sha, "samples": 240128, "steps": 1876, "epochs": 4,
            "train": {"lr": 0.001, "momentum": 0.0, "batch_size": 128, "weight_decay": 0.0, "epoch_samples": 60000},
            "data": {"source": "mnist", "fingerprint": "feedbeef", "train_size": 54000,
                     "config": {"rho": 0.95, "color_location": "stroke"}},
            "provenance": {"git_commit": commit}, "train_time_s": 12.4}


def test_card_of_a_shipped_zoo_model(tmp_path):
    d = tmp_path / "lazy_cnn.toy"
    d.mkdir()
    for seed in (1, 0):
        (d / f"seed{seed}.json").write_text(json.dumps(_zoo_meta(seed, f"{seed}" * 64, f"c{seed}")))
    recs = [make_record("shortcut", "lazy_cnn.toy", s, "full", p, {}, {}, "fp", 1.0)
            for s, p in ((0, "shortcut.full.v4"), (1, "shortcut.full.v4"), (0, "shortcut.full.v3"))]
    card = model_card("lazy_cnn.toy", recs, root=tmp_path, current=lambda r: r.protocol.endswith("v4"))
    facts = dict(card.facts)
    assert facts["architecture"] == "lazy_cnn" and facts["method"] == "erm"
    assert facts["optimiser"] == "Adam lr 0.001, batch 128, weight decay 0"
    assert facts["training budget"] == "240,128 samples, 1,876 steps, 4 epochs of 60,000"
    assert "fingerprint feedbeef" in facts["training data"]
    assert card.weights == [["0", "0" * 64, "c0", "12"], ["1", "1" * 64, "c1", "12"]]  # by seed
    assert [row[1] for row in card.provenance] == ["shortcut.full.v3", "shortcut.full.v4"]
    assert [row[3] for row in card.provenance] == ["0", "0, 1"]
    assert [row[-1] for row in card.provenance] == ["no (superseded protocol)", "yes"]


def test_causal_encoders_are_found_under_their_track_qualified_name(tmp_path):
    d = tmp_path / "causal.distance.linf_cnn"
    d.mkdir()
    (d / "seed0.json").write_text(json.dumps({"name": "causal.distance.linf_cnn", "seed": 0, "sha256": "ab" * 32,
                                             "params": 137897, "n_train": 12000, "data": "c446",
                                             "config": {"batch": 128, "epochs": 3, "gain": 16.0, "lr": 0.005}}))
    rec = make_record("causal", "distance/linf_cnn", 0, "full", "causal.full.v1", {}, {}, "fp", 1.0)
    card = model_card("distance/linf_cnn", [rec], root=tmp_path)
    facts = dict(card.facts)
    assert facts["architecture"] == "linf_cnn (137,897 parameters)"
    assert facts["training budget"] == "3 epochs over 12,000 training scenes, batch 128"
    assert facts["training data"] == "fingerprint c446" and card.weights[0][1] == "ab" * 32


def test_a_model_without_weights_says_so(tmp_path):
    card = model_card("lt/oracle", [], root=tmp_path)
    assert card.weights == [] and "not shipped" in dict(card.facts)["weights"]


def test_shipped_zoo_card_carries_the_hash_beside_the_safetensors():
    assert "lazy_cnn.erm" in shipped_names()
    on_disk = json.loads((WEIGHTS_DIR / "lazy_cnn.erm" / "seed0.json").read_text())
    card = model_card("lazy_cnn.erm", [])
    assert card.weights[0][:3] == ["0", on_disk["sha256"], on_disk["provenance"]["git_commit"]]
    assert len(shipped_meta("lazy_cnn.erm")) == len(list((WEIGHTS_DIR / "lazy_cnn.erm").glob("seed*.safetensors")))


def test_a_submission_card_names_its_kind_and_hash(tmp_path):
    rec = make_record("attack", "sub.x", 0, "quick", "attack.quick.v3", {},
                      {"submission": {"hash": "0123abcd", "kind": "verified: safetensors"}}, "fp", 1.0)
    assert dict(model_card("sub.x", [rec], root=tmp_path).facts)["submission"] == "verified: safetensors; hash 0123abcd"
