from dataclasses import replace

import torch

from shortcutbench.ssl.catalogue import EncoderRun, catalogue, encoder, jobs, ship
from shortcutbench.ssl.data import SSL_DATA
from shortcutbench.ssl.pretrain import PretrainConfig
from shortcutbench.tracks.ssl import PROTOCOLS


def test_catalogue_has_one_encoder_per_trained_method_and_dataset():
    p = PROTOCOLS["full"]
    runs = catalogue(p)
    names = [r.name for r in runs]
    assert "resnet_small.simclr.digits" in names and "resnet_small.supervised.colored_mnist" in names
    assert not any("linear_separated" in n for n in names)  # it reads supervised's encoder
    assert len(names) == len(set(names)) == 6 * len(p.datasets)
    epochs = {r.method: r.cfg.epochs for r in runs}
    assert epochs["simclr"] == p.ssl_epoch_factor * epochs["supervised"]
    assert len(jobs(runs)) == p.seeds * len(runs) and len(jobs(runs, shard=(1, 2))) == p.seeds * len(runs) // 2


def test_shipped_encoder_is_loaded_only_when_its_record_matches(tmp_path):
    toy = SSL_DATA.get("toy")()
    cfg = PretrainConfig(epochs=1, batch_size=32, train_size=64)
    rec = ship(EncoderRun("supervised", "toy", cfg, 1), toy, 0, root=tmp_path)
    assert len(rec["sha256"]) == 64 and rec["cpu_s"] > 0
    got = encoder("linear_separated_supervised", toy, cfg, 0, root=tmp_path)
    assert got.cached and got.history == rec["history"]
    other = encoder("supervised", toy, replace(cfg, epochs=2), 0, root=tmp_path)  # another budget: not the shipped one
    assert len(other.history) == 2
    assert not torch.equal(other.model.stem[0].weight, got.model.stem[0].weight)
