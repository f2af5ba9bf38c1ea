"""Deep Feature Reweighting (Kirichenko et al. 2023): train ERM exactly as the ``erm`` row (SGD,
seed 000 §3), then refit only the last layer on group-balanced held-out data (``val_balanced``:
every digit spread evenly over the 10 colours) with the features frozen.

The refit is multinomial logistic regression on standardised features (sklearn lbfgs, L2, C = 1).
DFR's paper uses an L1 penalty with C tuned on half the held-out set and averages 20 refits;
we keep one L2 refit without tuning (documented deviation). The refit runs after every epoch, so
every checkpoint is a DFR model. Balanced-val selection reads the same data DFR fits on, so that
rule is optimistic for this row.
"""
from __future__ import annotations

import copy

import numpy as np
import torch

from .erm import ERM
from .method import METHODS, TrainConfig


@torch.no_grad()
def split_features(model, split, batch_size: int = 1000) -> torch.Tensor:
    model.eval()
    out = [model.features(split.images(i)) for i in torch.arange(len(split)).split(batch_size)]
    model.train()
    return torch.cat(out)


def refit_last_layer(features: torch.Tensor, y: torch.Tensor, n_classes: int, C: float = 1.0):
    """(weight [K, D], bias [K]) of an L2 logistic regression on standardised features, folded
    back to act on the raw features."""
    from sklearn.linear_model import LogisticRegression

    f = features.double().numpy()
    mu, sd = f.mean(0), f.std(0) + 1e-8
    clf = LogisticRegression(C=C, max_iter=2000).fit((f - mu) / sd, y.numpy())
    coef = np.zeros((n_classes, f.shape[1]))
    icpt = np.zeros(n_classes)
    coef[clf.classes_], icpt[clf.classes_] = clf.coef_, clf.intercept_
    w = coef / sd
    b = icpt - (w * mu).sum(1)
    return torch.from_numpy(w).float(), torch.from_numpy(b).float()


@METHODS.register("dfr")
class DFR(ERM):
    name = "dfr"
    uses_group_labels = True  # the held-out refit set is group-balanced
    default_train = TrainConfig()  # the ERM row's schedule, so the features are the ERM model's
    default_hparams = {"C": 1.0, "refit_split": "val_balanced"}

    def final_model(self):
        split = self.data[self.hparams["refit_split"]]
        w, b = refit_last_layer(split_features(self.model, split), split.digit, self.model.fc.out_features,
                                self.hparams["C"])
        out = copy.deepcopy(self.model)
        with torch.no_grad():
            out.fc.weight.copy_(w)
            out.fc.bias.copy_(b)
        return out
