"""Attribution throughput (mirrors shortcutbench.explain): batched vs per-image loop."""
import torch

from shortcutbench.explain import attribute
from shortcutbench.models import create_model

from .common import SCALE, Benchmark


class Attribution(Benchmark):
    param_names = ["method", "mode"]
    params = (["gradcam", "ig"], ["batched", "per_image"])

    def setup(self, method, mode):
        torch.manual_seed(0)
        self.model = create_model("lazy_cnn").eval()
        n = 250 * SCALE
        self.x = torch.rand(n, 3, 28, 28, generator=torch.Generator().manual_seed(1))
        self.kw = {"layer": "conv3"} if method == "gradcam" else {"n_steps": 16}

    def time_attribute(self, method, mode):
        if mode == "batched":
            attribute(method, self.model, self.x, 0, **self.kw)
        else:
            for i in range(self.x.shape[0]):
                attribute(method, self.model, self.x[i:i + 1], 0, **self.kw)
