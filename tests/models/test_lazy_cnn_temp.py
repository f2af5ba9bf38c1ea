import copy
import pickle

import torch

from shortcutbench.models import create_model


def test_tempered_logits_and_a_copy_after_a_training_pass():
    torch.manual_seed(0)
    model = create_model("lazy_cnn_temp")
    x = torch.rand(4, 3, 28, 28)
    z = model(x)
    t = model.last_temperature
    assert t.requires_grad and t.shape == (4, 1) and bool((t > 0.05).all())
    assert torch.allclose(z * t, model.fc(model.features(x)), atol=1e-6)
    twin = copy.deepcopy(model)  # the graph tensor of the last pass made this raise
    assert twin.last_temperature is None and model.last_temperature is t
    assert torch.equal(twin(x), model(x))
    assert torch.equal(pickle.loads(pickle.dumps(model))(x), model(x))
