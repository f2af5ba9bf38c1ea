import torch

from shortcutbench.models import MODELS, create_model


def test_lazy_cnn_shapes_and_layer_names():
    m = create_model("lazy_cnn")
    x = torch.rand(2, 3, 28, 28)
    assert m(x).shape == (2, 10) and m.features(x).shape == (2, 64)
    names = dict(m.named_children())
    for n in ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "conv3", "relu3", "pool3", "gap", "fc"]:
        assert n in names
    assert "lazy_cnn" in MODELS.list("lazy*")
