"""Epochs of a fixed sample count, and a run killed between epochs that resumes to the very same
weights as an uninterrupted run (methods with second networks, own batch orders and adversaries too)."""
import pytest
import torch

from shortcutbench.data import ColoredMNISTConfig, build_colored_mnist, load_embedded
from shortcutbench.models import create_model
from shortcutbench.train import TrainConfig, fit
from shortcutbench.train.loop import BatchStream


@pytest.fixture(scope="module")
def small():
    cfg = ColoredMNISTConfig(train_per_class=30, test_per_class=10, val_per_class=10, val_balanced_per_class=10)
    return build_colored_mnist(load_embedded(), cfg)  # 300 training images


CFG = TrainConfig(epochs=3, batch_size=32, lr=1e-3, momentum=0.0, epoch_samples=400, channels_last=True)


class Killed(Exception):
    pass


def _run(small, method, resume_path=None, kill_at=None):
    def evaluate(model):
        if kill_at is not None and evaluate.calls == kill_at:
            raise Killed  # the process dies after training epoch `kill_at + 1`, before saving it
        evaluate.calls += 1
        return {"fc_sum": float(model.fc.weight.sum())}

    evaluate.calls = 0
    return fit(create_model("lazy_cnn", seed=1), method, small, CFG, 1, evaluate=evaluate, resume_path=resume_path)


@pytest.mark.parametrize("method", ["erm", "dann_fixa", "jtt"])
def test_killed_run_resumes_to_identical_weights(small, tmp_path, method):
    whole = _run(small, method)
    path = tmp_path / "resume.pt"
    with pytest.raises(Killed):
        _run(small, method, path, kill_at=1)
    assert path.is_file()
    resumed = _run(small, method, path)
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]  # nothing lost, nothing twice
    for k, v in whole.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k
    assert [h["fc_sum"] for h in whole.history] == [h["fc_sum"] for h in resumed.history]


def test_epoch_is_a_sample_count_not_a_pass(small):
    res = fit(create_model("lazy_cnn", seed=0), "erm", small, CFG, 0)
    steps = -(-400 // 32)  # 13 full batches per epoch
    assert [h["steps"] for h in res.history] == [steps, 2 * steps, 3 * steps]
    assert [h["samples"] for h in res.history] == [steps * 32 * k for k in (1, 2, 3)]
    assert CFG.samples == 3 * steps * 32


def test_stream_sees_every_image_once_before_any_twice():
    gen = torch.Generator().manual_seed(0)
    stream = BatchStream(n=50, batch_size=16, generator=gen)
    seen = torch.cat([stream._uniform() for _ in range(6)])  # 96 draws straddle a pass boundary
    assert all(b.numel() == 16 for b in [stream._uniform()])
    assert sorted(seen[:50].tolist()) == list(range(50))
    assert len(set(seen[50:96].tolist())) == 46
