"""Tests of the augmentation layers against NumPy / tf.image references."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_ssl.augment import (
    AugmentPipeline,
    ColorJitter,
    GaussianBlur,
    RandomApply,
    RandomResizedCrop,
)

LUMA = np.array([0.299, 0.587, 0.114])
RGB_TO_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])

LAYERS = {
    "crop_32": lambda seed: RandomResizedCrop(32, 32, seed=seed),
    "crop_32_to_48_flip": lambda seed: RandomResizedCrop(48, 48, horizontal_flip=True, seed=seed),
    "jitter": lambda seed: ColorJitter(0.4, 0.4, 0.4, 0.1, seed=seed),
    "jitter_gray": lambda seed: ColorJitter(0.8, 0.8, 0.8, 0.2, grayscale_rate=0.2, seed=seed),
    "blur": lambda seed: GaussianBlur(5, sigma=(0.5, 2.0), seed=seed),
    "apply_jitter": lambda seed: RandomApply(
        ColorJitter(0.4, 0.4, 0.4, 0.1, seed=seed), rate=0.8, seed=seed
    ),
    "pipeline": lambda seed: AugmentPipeline(
        [RandomResizedCrop(40, 40, seed=seed), ColorJitter(0.4, 0.4, 0.4, 0.1, seed=seed)]
    ),
}


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


@pytest.fixture(scope="module")
def images(cifar_small):
    """16 real CIFAR-10 images, uint8 [16, 32, 32, 3], two per class of the first eight."""
    return cifar_small[0][::25][:16]


# ----------------------------------------------------------------- contract of every layer


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_shape_dtype_and_range(name, dtype, images):
    layer = LAYERS[name](1)
    out = to_numpy(layer(images.astype(dtype), training=True))
    expected_side = {"crop_32_to_48_flip": 48, "pipeline": 40}.get(name, 32)
    assert out.shape == (16, expected_side, expected_side, 3)
    assert out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 255.0
    assert out.max() > 100.0  # still an image, not a black square


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_image_and_each_call_gets_its_own_randomness(name, images):
    layer = LAYERS[name](1)
    same = np.repeat(images[3:4], 12, axis=0)
    first = to_numpy(layer(same, training=True))
    flat = first.reshape(12, -1)
    distinct = {tuple(np.round(row[:200], 3)) for row in flat}
    # RandomApply leaves about a fifth of the images as they are, so they can repeat.
    assert len(distinct) >= (8 if name == "apply_jitter" else 12)
    second = to_numpy(layer(same, training=True))
    assert np.abs(first - second).mean() > 1.0


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_seed_makes_fresh_layers_reproducible(name, images):
    a = to_numpy(LAYERS[name](7)(images, training=True))
    b = to_numpy(LAYERS[name](7)(images, training=True))
    c = to_numpy(LAYERS[name](8)(images, training=True))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).mean() > 1.0


@pytest.mark.parametrize("name", ["jitter", "jitter_gray", "blur", "apply_jitter"])
def test_inference_is_identity(name, images):
    out = to_numpy(LAYERS[name](1)(images, training=False))
    np.testing.assert_array_equal(out, images.astype("float32"))


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_symbolic_input_and_config_round_trip(name, images):
    layer = LAYERS[name](3)
    symbolic = layer(keras.Input((32, 32, 3), dtype="uint8"))
    assert symbolic.shape[1:] == to_numpy(layer(images[:2])).shape[1:]
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    fresh = LAYERS[name](3)
    np.testing.assert_array_equal(
        to_numpy(clone(images, training=True)), to_numpy(fresh(images, training=True))
    )


@pytest.mark.parametrize("name", ["crop_32_to_48_flip", "jitter", "blur"])
def test_mixed_precision_layer_matches_float32(name, images):
    layer = LAYERS[name](5)
    half = layer.__class__.from_config({**layer.get_config(), "dtype": "mixed_float16"})
    out16 = to_numpy(half(images, training=True))
    out32 = to_numpy(LAYERS[name](5)(images, training=True))
    assert out16.dtype == np.float16
    assert out16.min() >= 0 and out16.max() <= 255
    assert np.abs(out16.astype("float32") - out32).mean() < 0.5


BAD_INPUTS = [
    (np.zeros((32, 32, 3), "uint8"), "rank 4"),
    (np.zeros((2, 1, 32, 32, 3), "uint8"), "rank 4"),
    (np.zeros((2, 32, 32, 1), "uint8"), "3 channels"),
    (np.zeros((2, 32, 32, 4), "float32"), "3 channels"),
    (np.full((2, 8, 8, 3), "a"), "numeric"),
    (tf.fill((2, 8, 8, 3), "a"), "numeric"),
    (np.zeros((2, 8, 8, 3), bool), "numeric"),
]


@pytest.mark.parametrize("name", sorted(LAYERS))
@pytest.mark.parametrize("bad, message", BAD_INPUTS)
def test_bad_input_raises(name, bad, message):
    with pytest.raises(ValueError, match=message):
        LAYERS[name](1)(bad, training=True)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_bad_symbolic_input_raises(name):
    with pytest.raises(ValueError, match=r"3 channels.*\(None, 32, 32, 1\)"):
        LAYERS[name](1)(keras.Input((32, 32, 1)))


# ---------------------------------------------------------------------- RandomResizedCrop


def numpy_resize_bilinear(image, out_h, out_w):
    """Bilinear resize with half-pixel centres, one output pixel at a time."""
    in_h, in_w = image.shape[:2]
    out = np.empty((out_h, out_w, image.shape[2]))
    for i in range(out_h):
        y = min(max((i + 0.5) * in_h / out_h - 0.5, 0.0), in_h - 1.0)
        y0 = int(math.floor(y))
        y1, fy = min(y0 + 1, in_h - 1), y - y0
        for j in range(out_w):
            x = min(max((j + 0.5) * in_w / out_w - 0.5, 0.0), in_w - 1.0)
            x0 = int(math.floor(x))
            x1, fx = min(x0 + 1, in_w - 1), x - x0
            top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
            bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
            out[i, j] = top * (1 - fy) + bottom * fy
    return out


def test_full_box_equals_plain_bilinear_resize(images):
    crop = RandomResizedCrop(96, 80, scale=(1.0, 1.0), ratio=(1.0, 1.0), seed=0)
    out = to_numpy(crop(images, training=True))
    floats = images.astype("float32")
    np.testing.assert_allclose(out, to_numpy(keras.ops.image.resize(floats, (96, 80))), atol=1e-3)
    np.testing.assert_allclose(out, tf.image.resize(floats, (96, 80)).numpy(), atol=1e-3)
    same_size = RandomResizedCrop(32, 32, scale=(1.0, 1.0), ratio=(1.0, 1.0), seed=0)
    np.testing.assert_array_equal(to_numpy(same_size(images, training=True)), floats)


def test_known_box_equals_crop_then_resize(images):
    crop = RandomResizedCrop(24, 40, seed=0)
    floats = tf.constant(images[:3].astype("float32"))
    boxes = np.array([[3, 5, 10, 20], [0, 0, 32, 32], [20, 7, 12, 25]], "float32")
    out = to_numpy(crop.transform_images(floats, {"boxes": boxes}))
    for image, (top, left, height, width), result in zip(
        images[:3], boxes.astype(int), out, strict=True
    ):
        patch = image[top : top + height, left : left + width].astype("float64")
        np.testing.assert_allclose(result, numpy_resize_bilinear(patch, 24, 40), atol=1e-3)
        np.testing.assert_allclose(result, tf.image.resize(patch, (24, 40)).numpy(), atol=1e-3)


def test_box_of_output_size_is_an_exact_crop_like_tf_crop_and_resize(images):
    crop = RandomResizedCrop(12, 16, seed=0)
    floats = images[:2].astype("float32")
    boxes = np.array([[4, 9, 12, 16], [20, 0, 12, 16]], "float32")
    out = to_numpy(crop.transform_images(tf.constant(floats), {"boxes": boxes}))
    np.testing.assert_array_equal(out[0], floats[0, 4:16, 9:25])
    normalised = np.array([[4 / 31, 9 / 31, 15 / 31, 24 / 31], [20 / 31, 0, 31 / 31, 15 / 31]])
    reference = tf.image.crop_and_resize(floats, normalised, [0, 1], (12, 16)).numpy()
    np.testing.assert_allclose(out, reference, atol=1e-3)


def test_box_statistics_follow_scale_and_ratio():
    crop = RandomResizedCrop(32, 32, scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), seed=3)
    boxes = to_numpy(crop.get_random_transformation(np.zeros((4000, 48, 48, 3), "uint8"))["boxes"])
    top, left, height, width = boxes.T
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + height <= 48).all() and (left + width <= 48).all()
    np.testing.assert_array_equal(boxes, np.round(boxes))
    area = height * width / 48**2
    # Whole-pixel sides round the area by a few percent at the smallest boxes.
    assert area.min() >= 0.08 * 0.85 and area.max() <= 1.0
    assert abs(area.mean() - 0.54) < 0.02  # uniform on [0.08, 1]: mean 0.54
    assert 0.2 < np.mean(area < 0.5) < 0.6
    ratio = width / height
    assert ratio.min() >= 0.75 * 0.85 and ratio.max() <= 4 / 3 / 0.85
    assert abs(np.log(ratio).mean()) < 0.02  # log-uniform, symmetric around 1
    assert top.max() > 30 and left.max() > 30  # small boxes reach the far side


def test_fixed_scale_and_ratio_gives_fixed_box():
    crop = RandomResizedCrop(8, 8, scale=(0.25, 0.25), ratio=(1.0, 1.0), seed=0)
    boxes = to_numpy(crop.get_random_transformation(np.zeros((500, 32, 32, 3), "uint8"))["boxes"])
    np.testing.assert_array_equal(boxes[:, 2:], 16.0)
    assert set(np.unique(boxes[:, :2])) == set(range(17))  # every offset 0..16 appears


def test_horizontal_flip_mirrors_about_half_of_the_images(images):
    crop = RandomResizedCrop(32, 32, scale=(1, 1), ratio=(1, 1), horizontal_flip=True, seed=2)
    batch = np.repeat(images[:1], 64, axis=0)
    out = to_numpy(crop(batch, training=True))
    original = np.all(out == batch[0].astype("float32"), axis=(1, 2, 3))
    mirrored = np.all(out == batch[0, :, ::-1].astype("float32"), axis=(1, 2, 3))
    assert np.all(original ^ mirrored)
    assert 20 <= mirrored.sum() <= 44


def test_crop_inference_resizes_the_whole_image(images):
    crop = RandomResizedCrop(64, 64, horizontal_flip=True, seed=0)
    np.testing.assert_allclose(
        to_numpy(crop(images, training=False)),
        tf.image.resize(images.astype("float32"), (64, 64)).numpy(),
        atol=1e-3,
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"scale": (0.0, 1.0)}, r"`scale` must be a \(min, max\) pair.*scale=\(0.0, 1.0\)"),
        ({"scale": (0.6, 0.2)}, r"`scale` must be .*min <= max"),
        ({"scale": (0.1, 1.5)}, r"`scale`.*Received: scale=\(0.1, 1.5\)"),
        ({"scale": 0.5}, r"`scale` must be a \(min, max\) pair"),
        ({"scale": "ab"}, r"`scale` must be a \(min, max\) pair"),
        ({"ratio": (0.0, 1.0)}, r"`ratio` must be"),
        ({"ratio": (2.0, 1.0)}, r"`ratio` must be"),
        ({"height": 0}, r"RandomResizedCrop: `height` must be an integer >= 1; got 0\."),
        ({"width": 2.5}, r"`width` must be an integer >= 1; got 2.5"),
    ],
)
def test_crop_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RandomResizedCrop(**{"height": 32, "width": 32, **kwargs})


def test_sizes_and_strengths_take_numpy_scalars():
    crop = RandomResizedCrop(np.int64(8), np.int32(8))
    assert (crop.height, crop.width) == (8, 8) and type(crop.height) is int
    assert ColorJitter(np.float32(0.5)).brightness == 0.5


# ---------------------------------------------------------------------------- ColorJitter


def numpy_jitter(image, brightness, contrast, saturation, hue, order):
    """SimCLR-style jitter applied one step at a time, in float64."""
    x = image.astype("float64")
    for step in order:
        if step == 0:
            x = x * brightness
        elif step == 1:
            mean = x.mean(axis=(0, 1))
            x = (x - mean) * contrast + mean
        elif step == 2:
            x = saturation * x + (1 - saturation) * (x @ LUMA)[..., None]
        else:
            yiq = x @ RGB_TO_YIQ.T
            angle = -2 * math.pi * hue
            i = yiq[..., 1] * math.cos(angle) - yiq[..., 2] * math.sin(angle)
            q = yiq[..., 1] * math.sin(angle) + yiq[..., 2] * math.cos(angle)
            x = np.stack([yiq[..., 0], i, q], axis=-1) @ np.linalg.inv(RGB_TO_YIQ).T
    return np.clip(x, 0, 255)


def test_jitter_equals_step_by_step_reference_in_every_order(images):
    rng = np.random.default_rng(0)
    n = len(images)
    transformation = {
        "brightness": rng.uniform(0.5, 1.5, n).astype("float32"),
        "contrast": rng.uniform(0.5, 1.5, n).astype("float32"),
        "saturation": rng.uniform(0.0, 2.0, n).astype("float32"),
        "hue": rng.uniform(-0.3, 0.3, n).astype("float32"),
        "order": np.stack([rng.permutation(4) for _ in range(n)]).astype("int32"),
    }
    layer = ColorJitter(0.5, 0.5, 1.0, 0.3)
    out = to_numpy(layer.transform_images(tf.constant(images.astype("float32")), transformation))
    for k in range(n):
        expected = numpy_jitter(
            images[k],
            *(
                transformation[key][k]
                for key in ("brightness", "contrast", "saturation", "hue", "order")
            ),
        )
        np.testing.assert_allclose(out[k], expected, atol=0.05)


def test_jitter_draws_factors_in_range_and_random_orders():
    layer = ColorJitter(0.4, 0.8, 1.2, 0.1, seed=0)
    t = {
        k: to_numpy(v)
        for k, v in layer.get_random_transformation(np.zeros((2000, 4, 4, 3))).items()
    }
    assert 0.6 <= t["brightness"].min() and t["brightness"].max() <= 1.4
    assert 0.2 <= t["contrast"].min() and t["contrast"].max() <= 1.8
    assert 0.0 <= t["saturation"].min() and t["saturation"].max() <= 2.2
    assert -0.1 <= t["hue"].min() and t["hue"].max() <= 0.1 and t["hue"].min() < -0.09
    np.testing.assert_array_equal(np.sort(t["order"], axis=1), np.tile(np.arange(4), (2000, 1)))
    assert len({tuple(row) for row in t["order"]}) == 24  # all permutations appear
    fixed = ColorJitter(0.4, random_order=False).get_random_transformation(np.zeros((5, 4, 4, 3)))
    np.testing.assert_array_equal(to_numpy(fixed["order"]), np.tile(np.arange(4), (5, 1)))


def test_brightness_alone_scales_each_image_by_one_factor(images):
    mid = (images.astype("float32") * 0.4 + 60).astype("uint8")  # no clipping at 1.5x
    out = to_numpy(ColorJitter(brightness=0.5, seed=0)(mid, training=True))
    ratio = out / np.maximum(mid, 1)
    per_image = ratio.reshape(len(mid), -1)
    assert np.all(per_image.max(axis=1) - per_image.min(axis=1) < 0.02)
    assert per_image.min() >= 0.5 - 0.01 and per_image.max() <= 1.5 + 0.01
    assert per_image.std() > 0.1


def test_hue_rotation_keeps_luma_and_shifts_hsv_hue(images):
    floats = images.astype("float32")
    out = to_numpy(ColorJitter(hue=0.5, random_order=False, seed=0)(floats, training=True))
    unclipped = np.all((out > 0.5) & (out < 254.5), axis=-1)
    np.testing.assert_allclose((out @ LUMA)[unclipped], (floats @ LUMA)[unclipped], atol=0.05)
    # A fixed 0.1 turn moves the HSV hue of saturated pixels the same way as tf.image.
    n = len(images)
    ones = np.ones(n, "float32")
    t = {"brightness": ones, "contrast": ones, "saturation": ones, "hue": 0.1 * ones}
    t["order"] = np.tile(np.arange(4), (n, 1))
    shifted = to_numpy(ColorJitter(hue=0.5).transform_images(tf.constant(floats), t))
    hsv = tf.image.rgb_to_hsv(floats / 255).numpy()
    saturated = (hsv[..., 1] > 0.3) & (hsv[..., 2] > 0.2)
    shift = (tf.image.rgb_to_hsv(shifted / 255).numpy()[..., 0] - hsv[..., 0] + 0.5) % 1 - 0.5
    assert 0.06 < np.median(shift[saturated]) < 0.11


def test_rate_and_grayscale_rate(images):
    floats = images.astype("float32")
    identity = ColorJitter(0.8, 0.8, 0.8, 0.2, rate=0.0, seed=0)
    np.testing.assert_allclose(to_numpy(identity(images, training=True)), floats, atol=1e-3)
    gray = ColorJitter(0.8, 0.8, 0.8, 0.2, rate=0.0, grayscale_rate=1.0, seed=0)
    expected = np.repeat(tf.image.rgb_to_grayscale(floats).numpy(), 3, axis=-1)
    np.testing.assert_allclose(to_numpy(gray(images, training=True)), expected, atol=0.05)
    batch = np.repeat(images[:1], 400, axis=0)
    out = to_numpy(ColorJitter(0.4, 0.4, 0.4, 0.1, rate=0.8, grayscale_rate=0.2, seed=1)(batch))
    is_gray = np.all(np.ptp(out, axis=-1) < 1e-3, axis=(1, 2))
    untouched = np.all(np.abs(out - batch.astype("float32")) < 1e-3, axis=(1, 2, 3))
    assert 0.14 < is_gray.mean() < 0.26
    assert 0.12 < untouched.mean() < 0.22  # not jittered and not gray: 0.2 * 0.8 = 0.16


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"brightness": -0.1},
            r"ColorJitter: `brightness` must be a number >= 0.0; got -0.1\.",
        ),
        ({"contrast": "a"}, r"`contrast` must be a number >= 0.0; got 'a'"),
        ({"saturation": float("nan")}, r"`saturation` must be a number >= 0.0; got nan"),
        ({"hue": 0.6}, r"`hue` must be a number in \[0.0, 0.5\]; got 0.6\."),
        ({"rate": 1.5}, r"`rate` must be a number in \[0.0, 1.0\]; got 1.5"),
        ({"grayscale_rate": -0.2}, r"`grayscale_rate` must be a number in \[0.0, 1.0\]; got -0.2"),
    ],
)
def test_jitter_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ColorJitter(**kwargs)


# --------------------------------------------------------------------------- GaussianBlur


def numpy_blur(image, sigma, radius):
    """Separable Gaussian blur, kernel truncated at `radius` and renormalised at borders."""
    out = image.astype("float64")
    for axis in (0, 1):
        moved = np.moveaxis(out, axis, 0)
        result = np.empty_like(moved)
        for i in range(moved.shape[0]):
            lo, hi = max(0, i - radius), min(moved.shape[0], i + radius + 1)
            kernel = np.exp(-((np.arange(lo, hi) - i) ** 2) / (2 * sigma**2))
            result[i] = np.tensordot(kernel / kernel.sum(), moved[lo:hi], axes=1)
        out = np.moveaxis(result, 0, axis)
    return out


def test_blur_equals_reference_and_scipy_inside(images):
    from scipy.ndimage import gaussian_filter

    sigma = np.array([0.3, 1.0, 2.0, 1.5], "float32")
    floats = images[:4].astype("float32")
    out = to_numpy(GaussianBlur(7).transform_images(tf.constant(floats), {"sigma": sigma}))
    for image, s, result in zip(floats, sigma, out, strict=True):
        np.testing.assert_allclose(result, numpy_blur(image, float(s), 3), atol=1e-3)
        reference = gaussian_filter(image.astype("float64"), (s, s, 0), truncate=3 / float(s))
        np.testing.assert_allclose(result[3:-3, 3:-3], reference[3:-3, 3:-3], atol=1e-3)


def test_blur_keeps_constant_images_and_smooths(images):
    blur = GaussianBlur(9, sigma=(1.0, 2.0), seed=0)
    flat = np.full((4, 16, 16, 3), 200, "uint8")
    np.testing.assert_allclose(to_numpy(blur(flat, training=True)), 200.0, atol=1e-3)
    out = to_numpy(blur(images, training=True))
    assert (
        np.abs(np.diff(out, axis=2)).mean()
        < 0.7 * np.abs(np.diff(images.astype(float), axis=2)).mean()
    )
    sigmas = to_numpy(
        GaussianBlur(9, seed=0).get_random_transformation(np.zeros((1000, 4, 4, 3)))["sigma"]
    )
    assert 0.1 <= sigmas.min() < 0.15 and 1.95 < sigmas.max() <= 2.0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (
            {"kernel_size": 4},
            r"`kernel_size` must be an odd positive integer. Received: kernel_size=4",
        ),
        ({"kernel_size": 0}, r"`kernel_size` must be an integer >= 1; got 0"),
        ({"kernel_size": 5, "sigma": (0.0, 1.0)}, r"`sigma` must be a \(min, max\) pair"),
        ({"kernel_size": 5, "sigma": (2.0, 1.0)}, r"`sigma` must be"),
    ],
)
def test_blur_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GaussianBlur(**kwargs)


# ---------------------------------------------------------------------------- RandomApply


def test_random_apply_rate_zero_is_identity_and_one_is_the_layer(images):
    never = RandomApply(ColorJitter(0.8, 0.8, 0.8, 0.2, seed=4), rate=0.0, seed=1)
    np.testing.assert_array_equal(to_numpy(never(images)), images.astype("float32"))
    always = RandomApply(ColorJitter(0.8, 0.8, 0.8, 0.2, seed=4), rate=1.0, seed=1)
    alone = ColorJitter(0.8, 0.8, 0.8, 0.2, seed=4)
    np.testing.assert_array_equal(to_numpy(always(images)), to_numpy(alone(images)))


def test_random_apply_chooses_per_image(images):
    batch = np.repeat(images[:2], 40, axis=0)
    some = RandomApply(GaussianBlur(5, seed=4), rate=0.3, seed=1)
    blurred = to_numpy(GaussianBlur(5, seed=4)(batch))
    out = to_numpy(some(batch))
    kept = np.all(out == batch.astype("float32"), axis=(1, 2, 3))
    changed = np.all(out == blurred, axis=(1, 2, 3))
    assert np.all(kept ^ changed)
    assert 12 <= changed.sum() <= 36  # Binomial(80, 0.3): mean 24


@pytest.mark.parametrize(
    "args, message",
    [
        (
            (ColorJitter(0.1), 1.5),
            r"RandomApply: `rate` must be a number in \[0.0, 1.0\]; got 1.5\.",
        ),
        ((ColorJitter(0.1), -0.1), r"`rate` must be a number in \[0.0, 1.0\]; got -0.1"),
        ((lambda x: x, 0.5), r"`layer` must be a keras.layers.Layer"),
    ],
)
def test_random_apply_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        RandomApply(*args)


def test_random_apply_rejects_a_layer_that_changes_shape(images):
    layer = RandomApply(RandomResizedCrop(16, 16), rate=0.5)
    with pytest.raises(
        ValueError, match=r"must keep the shape.*\(16, 32, 32, 3\) to \(16, 16, 16, 3\)"
    ):
        layer(tf.constant(images))
