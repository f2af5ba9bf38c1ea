"""`python benchmarks/studies/causal_simclr_epochs.py [EPOCHS] [VARIANT]`: how the causal track's
SimCLR pre-training loss levels off (one seed, one thread, the full profile's 12,000 training
scenes), and the linear-readout R² of every factor at the end. The full profile's SimCLR epochs
(``tracks/causal.py: PRETRAIN_EPOCHS_FULL``) are chosen from this loss curve, never from R² or
robustness. Prints one line per epoch (mean NT-Xent loss, CPU seconds) and the R² dict."""
import sys
import time

import torch

from shortcutbench.causal.fit import features
from shortcutbench.causal.readouts import readout_report
from shortcutbench.causal.simclr import simclr_features
from shortcutbench.data.scenes import SHAPES, load_scenes

torch.set_num_threads(1)
EPOCHS = int(sys.argv[1]) if len(sys.argv) > 1 else 100
VARIANT = sys.argv[2] if len(sys.argv) > 2 else "light"

train, test = load_scenes(VARIANT, 12000, 0, "train"), load_scenes(VARIANT, 3000, 0, "test")
t0 = time.process_time()
body, info = simclr_features(train, 0, EPOCHS)
print(f"CPU s {time.process_time() - t0:.0f}")
for e in info["history"]:
    print(e["epoch"], round(e["loss"], 4), round(e["cpu_s"], 1))
names = [f.name for f in train.variant.factors]
report, _ = readout_report(features(body, train), train.latents, train.labels, features(body, test), test.latents,
                           test.labels, names, len(SHAPES))
print({k: round(v, 3) for k, v in report["r2"]["linear"].items()})
