"""Attribution throughput on 1,000 Colored-MNIST images (lazy CNN, random init — speed does not
depend on training).

Groups: ``gradcam`` and ``ig`` — ours batched (one forward/backward for the whole batch; IG: all
steps of all images in chunks) vs a per-image loop of the same code (``*_baseline``) vs Captum
(``LayerGradCam`` / ``IntegratedGradients`` with ``internal_batch_size``) when installed; IG also
batched in channels_last (``channels_last=True``, opt-in). Every benchmark asserts on its output;
the per-image loop and Captum are checked against ours.

On a loaded machine run with one thread and the CPU-time timer, so ratios do not depend on what
else runs: ``OMP_NUM_THREADS=1 pytest -c benchmarks/pytest.ini benchmarks/bench_explain.py
--benchmark-only --benchmark-timer=time.process_time``.
"""
import pytest
import torch

from shortcutbench.explain import attribute
from shortcutbench.models import create_model

N = 1000
IG_STEPS = 16


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    model = create_model("lazy_cnn").eval()
    x = torch.rand(N, 3, 28, 28, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        t = model(x).argmax(1)
    return model, x, t


def _loop(method, model, x, t, **kw):
    return torch.cat([attribute(method, model, x[i:i + 1], t[i:i + 1], **kw).raw for i in range(x.shape[0])])


@pytest.mark.benchmark(group="gradcam")
def bench_gradcam_batched(benchmark, setup):
    model, x, t = setup
    out = benchmark(lambda: attribute("gradcam", model, x, t, "conv3").raw)
    assert out.shape == (N, 7, 7) and torch.isfinite(out).all()


@pytest.mark.benchmark(group="gradcam")
def bench_gradcam_per_image_loop_baseline(benchmark, setup):
    model, x, t = setup
    out = benchmark.pedantic(_loop, args=("gradcam", model, x, t), kwargs={"layer": "conv3"}, rounds=2)
    torch.testing.assert_close(out, attribute("gradcam", model, x, t, "conv3").raw, atol=1e-5, rtol=1e-4)


@pytest.mark.benchmark(group="gradcam")
def bench_gradcam_captum_baseline(benchmark, setup):
    captum = pytest.importorskip("captum.attr")
    model, x, t = setup
    lgc = captum.LayerGradCam(model, model.conv3)
    out = benchmark(lambda: lgc.attribute(x, target=t, relu_attributions=True)[:, 0])
    torch.testing.assert_close(out, attribute("gradcam", model, x, t, "conv3").raw, atol=1e-5, rtol=1e-4)


@pytest.mark.benchmark(group="ig")
def bench_ig_batched(benchmark, setup):
    model, x, t = setup
    out = benchmark.pedantic(lambda: attribute("ig", model, x, t, n_steps=IG_STEPS), rounds=3)
    assert out.raw.shape == x.shape and out.delta.abs().mean() < 1.0


@pytest.mark.benchmark(group="ig")
def bench_ig_batched_channels_last(benchmark, setup):
    model, x, t = setup
    out = benchmark.pedantic(lambda: attribute("ig", model, x, t, n_steps=IG_STEPS, channels_last=True), rounds=3)
    ref = attribute("ig", model, x, t, n_steps=IG_STEPS).raw
    # tied max-pool windows near the black end of the path route the gradient differently (see
    # attribution._input_grad), so agreement is to a fraction of the map's scale, not to rounding
    torch.testing.assert_close(out.raw, ref, atol=1e-2 * float(ref.abs().max()), rtol=0)
    assert out.delta.abs().mean() < 1.0


@pytest.mark.benchmark(group="ig")
def bench_ig_per_image_loop_baseline(benchmark, setup):
    model, x, t = setup
    out = benchmark.pedantic(_loop, args=("ig", model, x, t), kwargs={"n_steps": IG_STEPS}, rounds=1)
    torch.testing.assert_close(out, attribute("ig", model, x, t, n_steps=IG_STEPS).raw, atol=1e-5, rtol=1e-4)


@pytest.mark.benchmark(group="ig")
def bench_ig_captum_baseline(benchmark, setup):
    captum = pytest.importorskip("captum.attr")
    model, x, t = setup
    ig = captum.IntegratedGradients(model)
    out = benchmark.pedantic(lambda: ig.attribute(x, target=t, n_steps=IG_STEPS, internal_batch_size=4096), rounds=3)
    torch.testing.assert_close(out, attribute("ig", model, x, t, n_steps=IG_STEPS).raw, atol=1e-5, rtol=1e-4)
