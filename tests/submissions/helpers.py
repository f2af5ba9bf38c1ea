"""Write small submission directories for tests, and the environment a CLI subprocess needs."""
import os
import sys
import textwrap
import types
from pathlib import Path

import torch

TOML = {
    "name": '"tiny-linear"', "authors": '["Test Author"]', "link": '""', "architecture": '"linear"',
    "training_data": '"none (random init)"', "uses_group_labels": "false", "uses_color_labels": "false",
    "extra_data": "false", "licence": '"MIT"', "tracks": '["dummy_a"]',
}
LINEAR = """
import torch
import torch.nn as nn

class Net(nn.Module):
    def __init__(self, out=10):
        super().__init__()
        self.fc = nn.Linear(3 * 28 * 28, out)

    def forward(self, x):
        return self.fc(x.flatten(1))

def build():
    torch.manual_seed(0)
    return Net()
"""


def write_submission(root: Path, code: str = LINEAR, weights_from: str = None, drop=(), factory: str = "build",
                     **fields) -> Path:
    """A submission whose weights come from build() of `weights_from` (default: the same code)."""
    root.mkdir(parents=True, exist_ok=True)
    toml = {**TOML, **{k: v for k, v in fields.items()}}
    lines = [f"{k} = {v}" for k, v in toml.items() if k not in drop]
    lines += ["", "[model]", 'code = "model.py"', f'factory = "{factory}"', 'weights = "weights.pt"']
    (root / "submission.toml").write_text("\n".join(lines) + "\n")
    (root / "model.py").write_text(textwrap.dedent(code))
    mod = types.ModuleType("weights_source")
    exec(textwrap.dedent(weights_from or code), mod.__dict__)
    torch.save(mod.build().state_dict(), root / "weights.pt")
    return root


HERE = Path(__file__).parent
PYSRC = HERE.parents[1] / "pysrc"


def cli_env(**extra):
    """Environment of a `shortcutbench` subprocess that knows the dummy tracks."""
    env = {**os.environ, "SHORTCUTBENCH_TRACK_PLUGINS": "dummy_tracks",
           "PYTHONPATH": os.pathsep.join([str(PYSRC), str(HERE)]), "SHORTCUTBENCH_PROGRESS": "0"}
    env.pop("DUMMY_SLEEP_ON", None)
    return {**env, **extra}


sys.path.insert(0, str(HERE))
