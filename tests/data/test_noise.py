"""The Gaussian-noise source of SimSiam 004's Table 1."""

import numpy as np
import pytest

from keras_ssl import data


def test_noise_images_have_the_requested_statistics_and_are_reproducible():
    noise = data.gaussian_noise(300, image_size=16, seed=3)
    assert noise.images.shape == (300, 16, 16, 3) and noise.images.dtype == np.uint8
    assert not noise.is_labeled
    pixels = noise.images.astype(np.float64)
    # N(127.5, 64²) clipped to [0, 255]: 4.7 % of pixels clip, which barely moves the moments.
    assert abs(pixels.mean() - 127.5) < 0.5
    assert 60 < pixels.std() < 64
    clipped = np.mean((noise.images == 0) | (noise.images == 255))
    assert 0.035 < clipped < 0.06
    # Pixels are independent: neighbouring pixels do not correlate.
    left, right = pixels[:, :, :-1].ravel(), pixels[:, :, 1:].ravel()
    assert abs(np.corrcoef(left, right)[0, 1]) < 0.01
    again = data.gaussian_noise(1500, image_size=16, seed=3)
    np.testing.assert_array_equal(again.images[:300], noise.images)  # same seed, more images
    assert not np.array_equal(data.gaussian_noise(300, image_size=16, seed=4).images, noise.images)


def test_noise_from_the_catalogue_and_bad_arguments():
    noise = data.load("gaussian_noise", count=10, image_size=(8, 12), seed=0)
    assert noise.images.shape == (10, 8, 12, 3)
    assert data.load("gaussian_noise", count=2).images.shape == (2, 32, 32, 3)
    with pytest.raises(ValueError, match="`count` must be an integer >= 1; got 0"):
        data.gaussian_noise(0)
    with pytest.raises(ValueError, match="`std` must be positive"):
        data.gaussian_noise(2, std=0)
    with pytest.raises(ValueError, match="`image_size` must be"):
        data.gaussian_noise(2, image_size=(8, 8, 3))
