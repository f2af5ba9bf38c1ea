import torch

from shortcutbench.ssl.augment import NO_AUGMENT, Augment


def _x(c=3):
    return torch.rand(8, c, 12, 12, generator=torch.Generator().manual_seed(0))


def test_same_seed_same_views_and_range():
    aug = Augment(crop="resized", crop_scale=(0.3, 1.0), flip=True, color_strength=0.5)
    a = aug(_x(), torch.Generator().manual_seed(1))
    b = aug(_x(), torch.Generator().manual_seed(1))
    c = aug(_x(), torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == _x().shape and a.min() >= 0 and a.max() <= 1


def test_no_augment_is_identity():
    assert torch.equal(NO_AUGMENT(_x(), torch.Generator()), _x())


def test_pad_crop_shifts_by_whole_pixels():
    x = _x(1)
    out = Augment(crop="pad", pad=2)(x, torch.Generator().manual_seed(0))
    for i in range(len(x)):  # every value is an original pixel or the zero border
        vals = set(out[i].flatten().tolist()) - {0.0}
        assert vals <= set(x[i].flatten().tolist())


def test_flip_only_when_asked():
    x = torch.zeros(64, 1, 4, 4)
    x[:, :, :, 0] = 1.0  # left column lit
    flipped = Augment(flip=True)(x, torch.Generator().manual_seed(0))
    assert (flipped[:, 0, 0, 3] == 1).any() and (flipped[:, 0, 0, 0] == 1).any()
    kept = Augment(crop="pad", pad=0)(x, torch.Generator().manual_seed(0))
    assert torch.equal(kept, x)


def test_colour_distortion_changes_colour_not_geometry():
    x = _x()
    out = Augment(color_strength=1.0, p_jitter=1.0, p_gray=0.0)(x, torch.Generator().manual_seed(0))
    assert not torch.allclose(out, x)
    gray = Augment(color_strength=1.0, p_jitter=0.0, p_gray=1.0)(x, torch.Generator().manual_seed(0))
    assert torch.allclose(gray[:, 0], gray[:, 1]) and torch.allclose(gray[:, 1], gray[:, 2])
