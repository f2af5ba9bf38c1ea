"""The elastic-net GLM objective and its duality-gap certificate. The definitions live in
:mod:`shortcutbench.ops._objective` because the ops' references certify with them and ops sit below
glm in the layers (tests/test_layers.py); this is their public home."""
from ..ops._objective import (MIN_ALPHA, Certificate, class_major_logits, data_loss, duality_gap,  # noqa: F401
                              lambda_max, logits, objective, one_hot, penalty, target_index)
