import pytest
import torch

from shortcutbench.data.scenes import (SHAPES, VARIANTS, hsv_to_rgb, load_scenes, render, sample_latents,
                                       truncated_normal)
from shortcutbench.errors import UsageError


@pytest.mark.parametrize("variant", ["light", "distance"])
def test_same_seed_same_images_other_seed_other_images(variant):
    a = load_scenes(variant, 64, seed=3, cache=False)
    b = load_scenes(variant, 64, seed=3, cache=False)
    c = load_scenes(variant, 64, seed=4, cache=False)
    assert torch.equal(a.images, b.images) and torch.equal(a.latents, b.latents)
    assert not torch.equal(a.images, c.images)
    assert a.images.shape == (64, 3, 32, 32) and a.images.dtype == torch.uint8


def test_cache_round_trip(tmp_path, monkeypatch):
    monkeypatch.setenv("SHORTCUTBENCH_CACHE", str(tmp_path))
    a = load_scenes("light", 32, seed=1)
    assert list(tmp_path.glob("scenes/*.pt"))
    b = load_scenes("light", 32, seed=1)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)


def test_train_and_test_splits_differ():
    assert not torch.equal(load_scenes("light", 16, 0, "train", cache=False).latents,
                           load_scenes("light", 16, 0, "test", cache=False).latents)


def test_bad_input_is_a_usage_error():
    with pytest.raises(UsageError):
        load_scenes("light", 0, cache=False)
    with pytest.raises(UsageError):
        load_scenes("light", 10, split="val", cache=False)
    with pytest.raises(UsageError):
        load_scenes("nope", 10, cache=False)


def test_latents_in_range_and_roots_uniform():
    v = VARIANTS.get("light")
    lat, labels = sample_latents(v, 20000, torch.Generator().manual_seed(0))
    assert lat.min() >= -1 and lat.max() <= 1
    theta = lat[:, v.index("theta")]
    # a root is U[-1, 1]: mean 0, variance 1/3
    assert abs(float(theta.mean())) < 0.02 and abs(float(theta.var()) - 1 / 3) < 0.01
    assert torch.bincount(labels, minlength=len(SHAPES)).min() > 3600


def test_dependent_factor_follows_its_parent():
    """x's mean depends on θ (appendix-B style), y's on the class; hue_bg is independent of θ."""
    v = VARIANTS.get("light")
    lat, labels = sample_latents(v, 20000, torch.Generator().manual_seed(1))
    corr = torch.corrcoef(lat.T)
    assert corr[v.index("x"), v.index("theta")] > 0.3
    assert abs(float(corr[v.index("hue_bg"), v.index("theta")])) < 0.03
    c = 2 * labels.float() / (len(SHAPES) - 1) - 1
    assert torch.corrcoef(torch.stack([c, lat[:, v.index("y")]]))[0, 1] > 0.3


def test_truncated_normal_stays_in_range_and_centres_on_mean():
    z = truncated_normal(torch.zeros(50000), 0.3, torch.Generator().manual_seed(0))
    assert z.abs().max() <= 1 and abs(float(z.mean())) < 0.01 and abs(float(z.std()) - 0.3) < 0.02


def test_hsv_primaries():
    h = torch.tensor([0.0, 1 / 3, 2 / 3])
    rgb = hsv_to_rgb(h, torch.ones(3), torch.ones(3))
    assert torch.allclose(rgb, torch.eye(3), atol=1e-6)


def test_light_direction_shades_the_object():
    """Same scene, light from the left vs from the right: the object's left half is brighter when lit
    from the left; the background of a scene without the object does not carry the whole effect."""
    v = VARIANTS.get("light")
    lat = torch.zeros(2, len(v.factors))
    lat[0, v.index("theta")], lat[1, v.index("theta")] = -0.9, 0.9  # θ = −0.9·π/2 (left) and +0.9·π/2 (right)
    img = render(v, lat, torch.zeros(2, dtype=torch.long)).float()
    left, right = img[:, :, 10:22, 9:16].mean((1, 2, 3)), img[:, :, 10:22, 16:23].mean((1, 2, 3))
    assert left[0] - right[0] > 10 and right[1] - left[1] > 10


def test_distance_factor_is_the_gap_between_the_objects():
    v = VARIANTS.get("distance")
    lat = torch.zeros(2, len(v.factors))
    lat[0, v.index("distance")], lat[1, v.index("distance")] = -1.0, 1.0
    phi = v.factor("phi")
    lat[:, v.index("phi")] = (0 - phi.low) / (0.5 * (phi.high - phi.low)) - 1  # φ = 0
    img = render(v, lat, torch.zeros(2, dtype=torch.long)).float()
    row = img[:, :, 14:18].mean((1, 2))  # [2, W] brightness profile through the objects' centres
    bg = row[:, :2].mean(1, keepdim=True)
    occupied = ((row - bg).abs() > 8).float()

    def extent(o):
        cols = torch.nonzero(o).squeeze(1)
        return int(cols.max() - cols.min())

    d = v.factor("distance")
    # the pair's outer extent grows by the change in distance (19 − 9 = 10 px), up to antialiasing
    assert abs((extent(occupied[1]) - extent(occupied[0])) - (d.high - d.low)) <= 2


@pytest.mark.slow
def test_fifty_thousand_images_render():
    """The issue's size (timing lives in benchmarks/; here only that it completes and varies)."""
    s = load_scenes("light", 50000, seed=0, cache=False)
    assert s.images.shape[0] == 50000 and s.images.float().std() > 20


def test_data_show_entries_describe_the_factors():
    from shortcutbench.data import DATASETS

    view = DATASETS.get("scenes_distance")({"n": "4", "seed": "2"}, None)
    assert view.images.shape == (4, 3, 32, 32) and len(view.captions) == 4
    text = view.summary()
    assert "distance: [9, 19] px; latent root" in text and "TN(+0.5·distance" in text
    with pytest.raises(UsageError):
        DATASETS.get("scenes_light")({"n": "0"}, None)
