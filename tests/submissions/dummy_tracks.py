"""Two cheap tracks for submission tests (imported by the tests and, through
SHORTCUTBENCH_TRACK_PLUGINS, by the worker processes). DUMMY_SLEEP_ON=<track> makes that track's
evaluation hang so a test can kill the run half way."""
import os
import time
from pathlib import Path

import torch

from shortcutbench.results.tables import Table
from shortcutbench.tracks.base import TRACKS, Track


class _Dummy(Track):
    headline_metric = "mean_max_prob"

    def evaluate(self, model, ctx):
        if os.environ.get("DUMMY_SLEEP_ON") == self.name:
            time.sleep(600)
        x = torch.rand(16, 3, 28, 28, generator=torch.Generator().manual_seed(len(self.name)))
        with torch.no_grad():
            p = model(x).softmax(1)
        return {"mean_max_prob": float(p.max(1).values.mean()), "argmax": p.argmax(1).tolist()}

    def run(self, ctx):
        return iter(())

    def render(self, records, out_dir: Path):
        rows = [[r.model_id, f"{r.metrics['mean_max_prob']:.6f}", str(r.metrics["argmax"])] for r in records]
        return [Table(self.name, self.name, ["model", "mean max prob", "argmax"], sorted(rows))]


@TRACKS.register("dummy_a")
class DummyA(_Dummy):
    name = "dummy_a"


@TRACKS.register("dummy_b")
class DummyB(_Dummy):
    name = "dummy_b"


@TRACKS.register("dummy_own_models")
class DummyOwnModels(_Dummy):
    name = "dummy_own_models"
    accepts_submissions = False
