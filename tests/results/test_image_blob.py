import base64

import numpy as np
import torch

from shortcutbench.results.image_blob import decode_images, encode_images


def test_round_trip_keeps_the_nearest_of_256_levels():
    x = torch.rand(5, 3, 28, 28, generator=torch.Generator().manual_seed(0))
    back = decode_images(encode_images(x))
    assert back.shape == (5, 3, 28, 28) and back.dtype == np.uint8
    assert np.abs(back.astype(np.float64) / 255 - x.double().numpy()).max() <= 0.5 / 255 + 1e-9


def test_out_of_range_pixels_are_clamped():
    back = decode_images(encode_images(torch.tensor([[-0.5, 1.5, 0.5]])))
    assert back.tolist() == [[0, 255, 128]]


def test_reads_the_uncompressed_blobs_of_older_records():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    legacy = {"shape": [2, 3, 4], "uint8_b64": base64.b64encode(a.tobytes()).decode()}
    assert np.array_equal(decode_images(legacy), a)


def test_flat_backgrounds_compress():
    x = torch.zeros(100, 3, 28, 28)
    x[:, :, 10:18, 10:18] = 1.0
    blob = encode_images(x)
    assert len(blob["uint8_zlib_b64"]) < x.numel() // 20
