"""The diagnostics pipeline end to end at toy size: metrics → record → tables and figures."""
from dataclasses import asdict

import torch

from shortcutbench.explain.evaluate import (DiagnosticsConfig, attribution_scores, microscope_scores, prototypes,
                                            randomisation_scores, sae_scores, two_case)
from shortcutbench.explain.featviz import FeatVizConfig
from shortcutbench.explain.sae import SAEConfig
from shortcutbench.models import create_model
from shortcutbench.results.record import make_record
from shortcutbench.tracks.common import colored_mnist
from shortcutbench.tracks.diagnostics import DiagnosticsProtocol, DiagnosticsTrack

TINY = DiagnosticsConfig(images_per_side=6, methods=("gradcam", "saliency"), ig_steps=4, randomisation_images=4,
                         randomisation_methods=("gradcam",), sae=SAEConfig(epochs=1, steps_per_epoch=3, batch_size=32),
                         sae_sites=(("relu3", "spatial_mean"), ("gap", "spatial_mean")), sae_train_images=64,
                         sae_eval_per_cell=1, featviz=FeatVizConfig(steps=2), featviz_layers=("conv1", "fc"),
                         microscope_layers=("relu1",), ablation_images=20)


def test_pipeline_to_tables(tmp_path):
    torch.manual_seed(0)
    model = create_model("lazy_cnn").eval()
    data = colored_mnist()
    metrics = {"attribution": attribution_scores(model, data, TINY),
               "randomisation": randomisation_scores(model, data, TINY),
               "sae": sae_scores(model, data, TINY), "microscope": microscope_scores(model, data, TINY),
               "two_case": two_case(model, data), "prototypes": prototypes(model, data, TINY)}
    assert set(metrics["attribution"]) >= {"gradcam", "saliency", "random", "sobel", "constant"}
    assert abs(metrics["attribution"]["constant"]["ratio_aligned"] - 1.0) < 1e-6
    tc = metrics["two_case"]
    assert tc["aligned"]["colour"] == 0 and tc["conflicting"]["colour"] == 1 and tc["aligned"]["digit"] == 0
    from shortcutbench.tracks.diagnostics import PROTOCOLS

    records = [make_record("diagnostics", "lazy_cnn.erm", s, "quick", PROTOCOLS["quick"].name,
                           metrics, {"protocol": asdict(DiagnosticsProtocol("diagnostics.test", TINY))}, "fp", 0.0)
               for s in (0, 1)]
    tables = DiagnosticsTrack().render(records, tmp_path)
    assert [t.name for t in tables] == ["diagnostics_summary", "diagnostics", "diagnostics_selectivity",
                                        "diagnostics_randomisation"]
    summary, attr, sel, _ = tables
    assert [r[0] for r in summary.rows] == ["lazy_cnn.erm"] and summary.rows[0][1] == "2"
    methods = [r[2] for r in attr.rows]
    assert methods == ["gradcam", "saliency", "baseline:random", "baseline:sobel", "baseline:constant"]
    assert [r[2] for r in sel.rows] == ["relu3/spatial_mean", "gap/spatial_mean"]
    assert any("Seed check" in n for n in attr.notes)
    for f in attr.figures:
        assert (tmp_path / f).is_file()
