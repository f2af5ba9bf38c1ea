"""`python benchmarks/studies/ssl_pretrain_cpu_time.py [STEPS]`: CPU seconds per pre-training step
of every ssl method (one thread, process CPU time, so the load of a shared machine distorts it
least), on generated data of each dataset's shape, for resnet_small at batch 256 and ResNet-18 at
batch 32 (scaled ×8 to batch 256: the cost is linear in the batch); channels_last against the
contiguous layout as a ratio in the same run. Prints per-epoch CPU estimates for the ssl track's
full profile (55,000 digits / 50,000 CIFAR-10 images an epoch)."""
import json
import sys
from dataclasses import replace

import torch

from shortcutbench.data.cifar import CifarSplit
from shortcutbench.ssl.data import DIGIT_SUPERVISED, DIGIT_VIEWS, SSL_DATA
from shortcutbench.ssl.methods import PRETRAIN_METHODS, create_method
from shortcutbench.ssl.pretrain import PretrainConfig, pretrain

torch.set_num_threads(1)
STEPS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
SHAPES = {"digits": (1, 28, 55_000), "colored_mnist": (3, 28, 54_000), "cifar10": (3, 32, 45_000)}


def fake(channels, side, n):
    g = torch.Generator().manual_seed(0)
    px = torch.randint(0, 256, (n, channels, side, side), generator=g, dtype=torch.uint8)
    y = torch.arange(n) % 10
    toy = SSL_DATA.get("toy")()
    return replace(toy, splits={"train": CifarSplit(px, y)}, in_channels=channels, views=DIGIT_VIEWS,
                   supervised=DIGIT_SUPERVISED)


def cpu_per_step(method, data, cfg):
    h = pretrain(method, data, cfg, seed=0).history[0]
    return h["cpu_s"] / h["steps"]


out = {}
methods = [m for m in PRETRAIN_METHODS.list() if not create_method(m).encoder_of]
for ds, (c, side, n_epoch) in SHAPES.items():
    for arch, batch in (("resnet_small", 256), ("resnet18", 32)):
        if arch == "resnet18" and ds != "cifar10":
            continue
        data = fake(c, side, batch * STEPS)
        for m in methods if arch == "resnet_small" else ("simclr", "supervised"):
            cfg = PretrainConfig(arch=arch, epochs=1, batch_size=batch, train_size=batch * STEPS)
            s = cpu_per_step(m, data, cfg) * 256 / batch
            out[f"{ds}/{arch}/{m}"] = {"cpu_s_per_step_b256": round(s, 3),
                                      "cpu_s_per_epoch": round(s * n_epoch / 256, 1)}
            print(f"{ds:14s} {arch:13s} {m:18s} {s:8.3f} CPU-s/step (B=256)  {s * n_epoch / 256 / 60:8.1f} CPU-min/epoch",
                  flush=True)
data = fake(1, 28, 256 * STEPS)
cl = cpu_per_step("simclr", data, PretrainConfig(epochs=1, batch_size=256, train_size=256 * STEPS))
nc = cpu_per_step("simclr", data, PretrainConfig(epochs=1, batch_size=256, train_size=256 * STEPS, channels_last=False))
out["channels_last_speedup_simclr_digits"] = round(nc / cl, 3)
print(f"channels_last: {nc / cl:.2f}× the contiguous layout's speed (simclr, digits, resnet_small)")
print(json.dumps(out, indent=1))
