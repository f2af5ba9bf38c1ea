"""Shipped weights: the record names the file's SHA-256 and loading refuses any other bytes."""
import pytest
import torch

from shortcutbench.errors import UsageError
from shortcutbench.models import create_model
from shortcutbench.zoo.shipped import load_shipped, save_shipped, shipped_paths


def test_round_trip_is_exact(tmp_path):
    state = create_model("lazy_cnn", seed=0).to(memory_format=torch.channels_last).state_dict()
    save_shipped("lazy_cnn.x", 2, state, {"epochs": 4}, tmp_path)
    loaded, record = load_shipped("lazy_cnn.x", 2, tmp_path)
    assert record["epochs"] == 4 and record["name"] == "lazy_cnn.x" and len(record["sha256"]) == 64
    assert set(loaded) == set(state)
    assert all(torch.equal(loaded[k], state[k]) for k in state)


def test_changed_bytes_are_refused(tmp_path):
    save_shipped("lazy_cnn.x", 0, create_model("lazy_cnn", seed=0).state_dict(), {}, tmp_path)
    weights, _ = shipped_paths("lazy_cnn.x", 0, tmp_path)
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 1  # one bit of one weight
    weights.write_bytes(bytes(blob))
    with pytest.raises(UsageError, match=r"lazy_cnn.x seed 0: seed0.safetensors has SHA-256 \w+…, its record says"):
        load_shipped("lazy_cnn.x", 0, tmp_path)


def test_missing_model_says_how_to_train_it(tmp_path):
    with pytest.raises(UsageError, match="not shipped .*zoo train --only lazy_cnn.nope"):
        load_shipped("lazy_cnn.nope", 0, tmp_path)
