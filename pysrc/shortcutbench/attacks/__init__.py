"""Adversarial attacks: one registry, frozen named presets, inputs in [0, 1], device from inputs.

    from shortcutbench.attacks import create_attack, robust_accuracy, MinEpsSearch
    atk = create_attack("apgd-ce", eps=0.1)           # frozen; atk(model, x, y) -> AttackResult
    res = robust_accuracy(model, x, y, create_attack("standard", eps=0.1))
    res.robust.float().mean()                          # per-point worst case
    MinEpsSearch(eps_max=0.05, kappa=0.9).run(model, x, y, targets)   # ε_min per sample

Registered: fgsm, pgd, pgd40, apgd, apgd-ce, apgd-dlr, apgd-t, square, standard.
Losses (``loss=``): ce, dlr, conf (best other-class confidence, Stutz et al.'s F7P).
"""
from .base import ATTACKS, Attack, create_attack, register_attack
from .cascade import Cascade, CascadeResult, robust_accuracy, standard_stages
from .checks import masking_flag, model_flags
from .engine import AttackResult, apgd_checkpoints, iterate, reached
from .gradient import APGD, APGDT, FGSM, PGD
from .losses import LOSSES, ce_loss, dlr_loss, margin, other_confidence_loss, targeted_ce_loss, targeted_dlr_loss
from .search import MinEpsResult, MinEpsSearch, success_curve
from .square import Square

__all__ = ["ATTACKS", "Attack", "AttackResult", "APGD", "APGDT", "Cascade", "CascadeResult", "FGSM", "MinEpsResult",
           "MinEpsSearch", "PGD", "Square", "apgd_checkpoints", "ce_loss", "create_attack", "dlr_loss", "iterate",
           "LOSSES", "margin", "masking_flag", "other_confidence_loss", "model_flags", "reached", "register_attack", "robust_accuracy",
           "standard_stages", "success_curve", "targeted_ce_loss", "targeted_dlr_loss"]
