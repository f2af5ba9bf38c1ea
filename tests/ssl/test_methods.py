"""Every pre-training method trains a few steps: its loss goes down and the encoder keeps its shape."""
import pytest
import torch

from shortcutbench.models import create_model
from shortcutbench.ssl.data import SSL_DATA
from shortcutbench.ssl.methods import PRETRAIN_METHODS, SimCLR, create_method
from shortcutbench.ssl.pretrain import PretrainConfig, encoder_method, load_or_pretrain, pretrain

TRAINED = [m for m in PRETRAIN_METHODS.list() if not create_method(m).encoder_of]


@pytest.fixture(scope="module")
def toy():
    return SSL_DATA.get("toy")()


@pytest.mark.parametrize("method", TRAINED)
def test_loss_decreases_and_encoder_shape(toy, method):
    # LARS moves each weight tensor by lr·η·‖w‖ a step (η = 1e-3): at batch 64 the paper's rate shows
    # no trend in a few steps, so the SimCLR family runs at 30× its rate here
    scale = 30.0 if isinstance(create_method(method), SimCLR) else 1.0
    cfg = PretrainConfig(epochs=6, batch_size=64, train_size=128, lr_scale=scale)
    res = pretrain(method, toy, cfg, seed=0)
    first, last = res.history[0]["loss"], res.history[-1]["loss"]
    assert last < first, [round(h["loss"], 4) for h in res.history]
    x = toy["test"].images(torch.arange(5))
    assert res.model.features(x).shape == (5, 64) and not res.model.training
    assert res.model(x).shape == (5, 10)


def test_pretraining_is_deterministic(toy):
    cfg = PretrainConfig(epochs=1, batch_size=32, train_size=64)
    a, b = pretrain("simclr", toy, cfg, seed=3), pretrain("simclr", toy, cfg, seed=3)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    for (k, va), vb in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(va, vb), k


def test_linear_separated_shares_the_supervised_encoder(toy):
    cfg = PretrainConfig(epochs=1, batch_size=32, train_size=64)
    assert encoder_method("linear_separated_supervised") == "supervised"
    a = load_or_pretrain("supervised", toy, cfg, 0)
    b = load_or_pretrain("linear_separated_supervised", toy, cfg, 0)
    assert b.cached and torch.equal(a.model.stem[0].weight, b.model.stem[0].weight)


def test_resnet18_is_the_seeds_backbone():
    m = create_model("resnet18")
    assert m.feature_dim == 512 and m.features(torch.rand(2, 3, 32, 32)).shape == (2, 512)
    assert sum(p.numel() for p in m.parameters()) == pytest.approx(11.17e6, rel=0.01)  # CIFAR ResNet-18


def test_heads_are_sized_as_the_seed():
    def linears(method):
        return [(l.in_features, l.out_features) for l in create_method(method).heads(512).modules()
                if isinstance(l, torch.nn.Linear)]

    assert linears("simclr") == [(512, 2048), (2048, 128)]
    assert linears("simsiam") == [(512, 2048), (2048, 2048), (2048, 512), (512, 2048)]
    assert linears("barlow_twins") == [(512, 2048), (2048, 2048)]


def test_too_few_images_for_a_batch_is_a_usage_error(toy):
    from shortcutbench.errors import UsageError

    with pytest.raises(UsageError, match="at least batch_size = 64"):
        pretrain("supervised", toy, PretrainConfig(epochs=1, batch_size=64, train_size=32), seed=0)


def test_batchnorm_statistics_are_the_final_weights():
    from shortcutbench.ssl.pretrain import recalibrate_batchnorm

    m = create_model("resnet_small", seed=0, in_channels=1)
    x = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 3 + 1
    recalibrate_batchnorm(m, x, batch=16)
    stem_out = m.stem[0](x)  # what the first BatchNorm normalises
    assert torch.allclose(m.stem[1].running_mean, stem_out.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(m.stem[1].running_var, stem_out.var((0, 2, 3)), rtol=1e-3)
    assert m.stem[1].momentum == 0.1


class _Killed(Exception):
    pass


@pytest.mark.parametrize("method", ["simclr", "simsiam"])  # LARS and SGD-momentum states, cosine schedule
def test_killed_pretraining_resumes_to_identical_weights(toy, tmp_path, monkeypatch, method):
    cfg = PretrainConfig(epochs=3, batch_size=32, train_size=64)  # 2 steps an epoch
    whole = pretrain(method, toy, cfg, seed=2)
    path = tmp_path / "resume.pt"
    cls, calls, kill = type(create_method(method)), [], [1]
    loss = cls.loss

    def dying(self, *a):
        calls.append(1)
        if len(calls) == 4 and kill:  # the second step of epoch 2: epoch 1 is saved, epoch 2 is lost
            raise _Killed
        return loss(self, *a)

    monkeypatch.setattr(cls, "loss", dying)
    with pytest.raises(_Killed):
        pretrain(method, toy, cfg, seed=2, resume_path=path)
    kill.clear()
    assert path.is_file()
    calls.clear()
    resumed = pretrain(method, toy, cfg, seed=2, resume_path=path)
    assert len(calls) == 4  # epochs 2 and 3 only
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in whole.history]
    for k, v in whole.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_a_finished_pretraining_leaves_no_resume_state(toy):
    from shortcutbench.zoo.spec import cache_dir

    load_or_pretrain("barlow_twins", toy, PretrainConfig(epochs=1, batch_size=32, train_size=64), seed=5)
    assert (cache_dir() / "ssl-resume").is_dir() and not any((cache_dir() / "ssl-resume").iterdir())
