"""Which SGD setting is the seed's ERM? Seed 000 §3.2 says only "SGD". We choose by the seed's
*published training curve* (§3.3), never by the hard number: per epoch, train accuracy
91.84 → 95.07 → 95.17 → 95.33 % and Easy Val 95.16 → 95.30 → 95.21 → 95.70 %, the signature of a
model that reads colour (95 % of the images wear their digit's colour). The setting whose
curves (mean over seeds) are closest in RMS over these 8 numbers is chosen; its hard accuracy
is then the test of the choice, set beside the seed's 11.52 %.
"""
from __future__ import annotations

import math
from typing import Dict, List, Mapping, Sequence, Tuple

SEED_TRAIN = (0.9184, 0.9507, 0.9517, 0.9533)  # seed 000 §3.3, "Train"
SEED_EASY_VAL = (0.9516, 0.9530, 0.9521, 0.9570)  # seed 000 §3.3, "Easy Val"
SEED_HARD = 0.1152  # seed 000 §3.3, epoch 4 "Hard"

Setting = Tuple[float, float]  # (lr, momentum)


def curve_distance(histories: Sequence[List[Dict]]) -> float:
    """RMS distance of the seed-mean per-epoch (train_acc, val_acc) curves from the seed's.
    Our train accuracy is measured after each epoch on a fixed training subset; the seed's is
    probably the running mean during the epoch, which lags by part of an epoch."""
    diffs = []
    for e, (t_seed, v_seed) in enumerate(zip(SEED_TRAIN, SEED_EASY_VAL)):
        t = sum(h[e]["train_acc"] for h in histories) / len(histories)
        v = sum(h[e]["val_acc"] for h in histories) / len(histories)
        diffs += [t - t_seed, v - v_seed]
    return math.sqrt(sum(d * d for d in diffs) / len(diffs))


def choose(histories: Mapping[Setting, Sequence[List[Dict]]]) -> Tuple[Setting, Dict[Setting, float]]:
    """(chosen setting, distance of every setting); ties go to the smaller lr, then momentum."""
    dist = {s: curve_distance(h) for s, h in histories.items() if h and all(len(x) >= 4 for x in h)}
    if not dist:
        raise ValueError("no sweep setting has 4 epochs of history")
    return min(dist, key=lambda s: (dist[s], s)), dist
