"""Augmentation presets (SimCLR, Umeå report, rotation pretext) and the `get` registry.

The multi-view presets (`byol_views`, `dino_views`) return a `MultiView`, a layer that
returns a list of views; they are not in the `get` registry (`PRESETS`, a
`keras_ssl.registry.Registry`), whose presets are single-view pipelines that the
pretext models call once per view.
"""

import inspect

import keras

from keras_ssl.augment._checks import check_argument, check_number, check_range, check_size
from keras_ssl.augment.color_jitter import ColorJitter
from keras_ssl.augment.gaussian_blur import GaussianBlur
from keras_ssl.augment.multiview import MultiView
from keras_ssl.augment.pipeline import AugmentPipeline
from keras_ssl.augment.random_apply import RandomApply
from keras_ssl.augment.random_resized_crop import RandomResizedCrop
from keras_ssl.augment.solarize import RandomSolarize
from keras_ssl.config import ConfigError, Count
from keras_ssl.registry import Registry

PRESETS = Registry("augmentation")


def _seeds(seed: int | None, count: int) -> list:
    """Distinct seeds for the layers of a preset, so their draws are not correlated."""
    return [None] * count if seed is None else [seed + index for index in range(count)]


def _jitter(strength: float, where: str, seed: int | None, **kwargs) -> ColorJitter:
    """SimCLR's colour jitter of strength s: brightness, contrast, saturation 0.8 s, hue 0.2 s."""
    strength = check_number("jitter_strength", strength, 0.5, 1.0, where)
    return ColorJitter(
        brightness=0.8 * strength,
        contrast=0.8 * strength,
        saturation=0.8 * strength,
        hue=0.2 * strength,
        seed=seed,
        **kwargs,
    )


@PRESETS.register("simclr")
def simclr_augment(
    image_size: int,
    jitter_strength: float = 0.5,
    seed: int | None = None,
    crop_scale: tuple[float, float] = (0.08, 1.0),
) -> AugmentPipeline:
    """The augmentation of SimCLR (Chen et al. 2020, Appendix A), on the whole batch.

    In order: random resized crop to `image_size` (area `crop_scale`, aspect 3/4–4/3) with
    horizontal flip (p = 0.5), colour jitter of strength s in random order with
    p = 0.8, grayscale with p = 0.2, and, only when `image_size >= 96` (SimCLR drops
    it for CIFAR-10), Gaussian blur with sigma 0.1–2.0 and a kernel of about 10 % of
    the image side, with p = 0.5. Flip, jitter and grayscale are folded into the
    crop and jitter layers (see their docs), which leaves three passes over the batch.

    Args:
        image_size: Output side in pixels (square), e.g. 32 for CIFAR-10 or 96.
        jitter_strength: Colour jitter strength s in [0.5, 1]: SimCLR used 0.5 for
            CIFAR-10 and 1.0 for ImageNet.
        seed: Optional integer; each layer of the pipeline gets its own seed from it.
        crop_scale: (min, max) area fraction of the crop, in (0, 1]. SimCLR's
            (0.08, 1); a larger minimum makes an easier task for short runs at 32×32.

    Returns:
        An `AugmentPipeline` mapping [batch, h, w, 3] images in [0, 255] to float
        [batch, image_size, image_size, 3] in [0, 255].

    Example:

    >>> import numpy as np
    >>> augment = simclr_augment(96, seed=1)
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> tuple(augment(images, training=True).shape)
    (8, 96, 96, 3)
    """
    where = "simclr_augment"
    image_size = check_size("image_size", image_size, where)
    crop_scale = check_range("crop_scale", crop_scale, 0.0, 1.0, where)
    seeds = _seeds(seed, 4)
    layers = [
        RandomResizedCrop(
            image_size, image_size, scale=crop_scale, horizontal_flip=True, seed=seeds[0]
        ),
        _jitter(jitter_strength, where, seeds[1], rate=0.8, grayscale_rate=0.2),
    ]
    if image_size >= 96:
        kernel_size = 2 * (image_size // 20) + 1
        blur = GaussianBlur(kernel_size, sigma=(0.1, 2.0), seed=seeds[2])
        layers.append(RandomApply(blur, rate=0.5, seed=seeds[3]))
    return AugmentPipeline(layers, name="simclr_augment")


@PRESETS.register("umea")
def umea_augment(
    image_size: int = 96,
    crop_scale: tuple[float, float] = (0.08, 1.0),
    jitter_strength: float = 0.5,
    seed: int | None = None,
) -> AugmentPipeline:
    """The augmentation of the Umeå report (§2.2.1), on the whole batch.

    The report lists: random cropping followed by resizing to 96×96, random
    brightness, contrast, saturation and hue adjustment, random horizontal flipping,
    and gives no ranges. We use SimCLR's: a random resized crop of area `crop_scale`
    (0.08–1) and aspect 3/4–4/3, then the colour jitter of strength s
    (brightness, contrast, saturation 0.8 s, hue 0.2 s) applied to every image in the
    listed order, and a horizontal flip with p = 0.5 (folded into the crop; it
    commutes with the colour changes). No grayscale or blur: the report lists none.

    Args:
        image_size: Output side in pixels (square); the report used 96 on 32×32 images.
        crop_scale: (min, max) area fraction of the crop, in (0, 1].
        jitter_strength: Colour jitter strength s in [0.5, 1].
        seed: Optional integer; each layer of the pipeline gets its own seed from it.

    Returns:
        An `AugmentPipeline` mapping [batch, h, w, 3] images in [0, 255] to float
        [batch, image_size, image_size, 3] in [0, 255].

    Example:

    >>> import numpy as np
    >>> augment = umea_augment(96, seed=1)
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> tuple(augment(images, training=True).shape)
    (8, 96, 96, 3)
    """
    where = "umea_augment"
    image_size = check_size("image_size", image_size, where)
    crop_scale = check_range("crop_scale", crop_scale, 0.0, 1.0, where)
    seeds = _seeds(seed, 2)
    layers = [
        RandomResizedCrop(
            image_size, image_size, scale=crop_scale, horizontal_flip=True, seed=seeds[0]
        ),
        _jitter(jitter_strength, where, seeds[1], random_order=False),
    ]
    return AugmentPipeline(layers, name="umea_augment")


@PRESETS.register("rotation")
def rotation_augment(
    image_size: int | None = None,
    zoom: float = 0.1,
    contrast: float = 0.1,
    seed: int | None = None,
) -> AugmentPipeline:
    """Light augmentation for the rotation pretext (report 001, §4.1), on the whole batch.

    Horizontal flip, random zoom by up to `zoom` (in and out) and random contrast by up
    to `contrast`, with Keras' own layers. Only horizontal flips: a mirror image keeps
    its rotation label, while a vertical flip looks like a 180° rotation of a
    mirrored image and would make the labels ambiguous. The report's rescaling to
    [0, 1] is left to the encoder, which takes [0, 255].

    Args:
        image_size: If given, images are first resized to this side (square).
        zoom: Largest zoom, a fraction in [0, 1).
        contrast: Largest contrast change, a fraction in [0, 1].
        seed: Optional integer; each layer of the pipeline gets its own seed from it.

    Returns:
        An `AugmentPipeline` with float output in [0, 255], of the input size or
        `image_size`.

    Example:

    >>> import numpy as np
    >>> augment = rotation_augment(seed=1)
    >>> images = np.random.randint(0, 256, (8, 64, 64, 3), dtype="uint8")
    >>> tuple(augment(images, training=True).shape)
    (8, 64, 64, 3)
    """
    where = "rotation_augment"
    zoom = check_number("zoom", zoom, 0.0, 0.99, where)
    contrast = check_number("contrast", contrast, 0.0, 1.0, where)
    seeds = _seeds(seed, 3)
    layers = _resize(image_size, where) + [
        keras.layers.RandomFlip("horizontal", seed=seeds[0]),
        keras.layers.RandomZoom(zoom, seed=seeds[1]),
        keras.layers.RandomContrast(contrast, seed=seeds[2]),
    ]
    return AugmentPipeline(layers, name="rotation_augment")


# BYOL (Grill et al. 2020, Table 6) and DINO share this colour distortion: jitter of
# brightness 0.4, contrast 0.4, saturation 0.2, hue 0.1 with p = 0.8, grayscale p = 0.2,
# and a blur with sigma 0.1-2.0 and a kernel of about 10 % of the side (23 px at 224).
_BYOL_JITTER = {"brightness": 0.4, "contrast": 0.4, "saturation": 0.2, "hue": 0.1}
# Seeds of the views of a preset are `seed + _VIEW_SEED_STRIDE * view`, so that the
# layers of different views never share a seed.
_VIEW_SEED_STRIDE = 100


def _byol_view(
    size: int,
    scale: tuple[float, float],
    blur_rate: float,
    solarize_rate: float,
    seed: int | None,
    name: str,
) -> AugmentPipeline:
    """Crop + flip, colour jitter and grayscale, then blur and solarize with their rates."""
    seeds = _seeds(seed, 5)
    layers = [
        RandomResizedCrop(size, size, scale=scale, horizontal_flip=True, seed=seeds[0]),
        ColorJitter(**_BYOL_JITTER, rate=0.8, grayscale_rate=0.2, seed=seeds[1]),
    ]
    if blur_rate > 0:
        blur = GaussianBlur(2 * (size // 20) + 1, sigma=(0.1, 2.0), seed=seeds[2])
        layers.append(blur if blur_rate == 1 else RandomApply(blur, blur_rate, seed=seeds[3]))
    if solarize_rate > 0:
        layers.append(RandomSolarize(solarize_rate, seed=seeds[4]))
    return AugmentPipeline(layers, name=name)


def _view_seed(seed: int | None, view: int) -> int | None:
    return None if seed is None else seed + _VIEW_SEED_STRIDE * view


def byol_views(image_size: int, seed: int | None = None) -> MultiView:
    """BYOL's two asymmetric views (Grill et al. 2020, Table 6), on the whole batch.

    Both views: random resized crop to `image_size` (area 0.08–1, aspect 3/4–4/3) with
    horizontal flip p = 0.5, colour jitter (brightness 0.4, contrast 0.4, saturation
    0.2, hue 0.1, random order) with p = 0.8, grayscale with p = 0.2, Gaussian blur
    with sigma 0.1–2.0 and a kernel of about 10 % of the side. They differ in the blur
    probability (1.0 for view 1, 0.1 for view 2) and solarization (p = 0.0 and 0.2).

    Args:
        image_size: Output side in pixels (square), 224 in the paper.
        seed: Optional integer; every layer of every view gets its own seed from it.

    Returns:
        A `MultiView` mapping [batch, h, w, 3] images in [0, 255] to a list of two
        float [batch, image_size, image_size, 3] views.

    Example:

    >>> import numpy as np
    >>> views = byol_views(32, seed=1)
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> [tuple(view.shape) for view in views(images, training=True)]
    [(8, 32, 32, 3), (8, 32, 32, 3)]
    """
    image_size = check_size("image_size", image_size, "byol_views")
    scale = (0.08, 1.0)
    return MultiView(
        [
            _byol_view(image_size, scale, 1.0, 0.0, _view_seed(seed, 0), "byol_view_1"),
            _byol_view(image_size, scale, 0.1, 0.2, _view_seed(seed, 1), "byol_view_2"),
        ],
        name="byol_views",
    )


def dino_views(
    global_size: int = 224,
    local_size: int = 96,
    n_local: int = 6,
    global_scale: tuple[float, float] = (0.4, 1.0),
    local_scale: tuple[float, float] = (0.05, 0.4),
    seed: int | None = None,
) -> MultiView:
    """DINO's multi-crop (Caron et al. 2021, §3.1 and Appendix), on the whole batch.

    Two global crops of `global_size` covering `global_scale` of the image, and
    `n_local` local crops of `local_size` covering `local_scale`; "all crops are
    passed through the student while only the global views are passed through the
    teacher". Every crop gets BYOL's flip, colour jitter and grayscale; global view 1
    is blurred with p = 1.0, global view 2 with p = 0.1 and solarized with p = 0.2,
    the local views are blurred with p = 0.5 (DINO's `DataAugmentationDINO`, lightly's
    `DINOTransform`).

    Args:
        global_size: Side of the global crops in pixels (224 in the paper).
        local_size: Side of the local crops in pixels (96).
        n_local: Number of local crops, >= 0 (6 in the paper's 2×224² + 6×96²).
        global_scale: (min, max) area fraction of the global crops.
        local_scale: (min, max) area fraction of the local crops.
        seed: Optional integer; every layer of every view gets its own seed from it.

    Returns:
        A `MultiView` mapping [batch, h, w, 3] images in [0, 255] to a list of
        2 + n_local float views: the two global ones first, then the local ones.

    Example:

    >>> import numpy as np
    >>> views = dino_views(32, 16, n_local=2, seed=1)
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> [tuple(view.shape)[1] for view in views(images, training=True)]
    [32, 32, 16, 16]
    """
    where = "dino_views"
    global_size = check_size("global_size", global_size, where)
    local_size = check_size("local_size", local_size, where)
    n_local = check_argument("n_local", n_local, Count, where)
    global_scale = check_range("global_scale", global_scale, 0.0, 1.0, where)
    local_scale = check_range("local_scale", local_scale, 0.0, 1.0, where)
    views = [
        _byol_view(global_size, global_scale, 1.0, 0.0, _view_seed(seed, 0), "dino_global_1"),
        _byol_view(global_size, global_scale, 0.1, 0.2, _view_seed(seed, 1), "dino_global_2"),
    ]
    views += [
        _byol_view(
            local_size, local_scale, 0.5, 0.0, _view_seed(seed, 2 + i), f"dino_local_{i + 1}"
        )
        for i in range(n_local)
    ]
    return MultiView(views, name="dino_views")


@PRESETS.register("none")
def _no_augment(image_size: int | None = None, seed: int | None = None) -> AugmentPipeline:
    """Checks and casts the input; resizes it to `image_size` if given."""
    return AugmentPipeline(_resize(image_size, "get('none')"), name="no_augment")


def _resize(image_size: int | None, where: str) -> list:
    if image_size is None:
        return []
    image_size = check_size("image_size", image_size, where)
    return [keras.layers.Resizing(image_size, image_size, interpolation="bilinear")]


def available() -> tuple[str, ...]:
    """Names accepted by `get`, sorted."""
    return tuple(PRESETS.available())


def get(
    name_or_layer: str | keras.layers.Layer,
    image_size: int | None = None,
    seed: int | None = None,
    **preset_args,
) -> keras.layers.Layer:
    """Turns a preset name or a layer into an augmentation layer.

    Args:
        name_or_layer: One of `available()` ("none", "rotation", "simclr", "umea",
            any case), or a Keras layer, returned unchanged.
        image_size: Output side in pixels, passed to the preset; required for
            "simclr", defaults to 96 for "umea", optional for "rotation" and "none"
            (they keep the input size when it is None).
        seed: Optional integer seed passed to the preset.
        **preset_args: further arguments of the preset function, e.g.
            `jitter_strength=1.0` or `crop_scale=(0.2, 1.0)` for "simclr".

    Returns:
        A Keras layer to call as `augment(images, training=True)`.

    Example:

    >>> augment = get("simclr", image_size=32, seed=1)
    >>> augment.name
    'simclr_augment'
    """
    if isinstance(name_or_layer, keras.layers.Layer):
        return name_or_layer
    key = name_or_layer.strip().lower() if isinstance(name_or_layer, str) else None
    if key not in PRESETS:
        raise ConfigError(
            f"Unknown augmentation {name_or_layer!r}: expected one of {list(available())} "
            "or a keras.layers.Layer."
        )
    if key == "simclr" and image_size is None:
        raise ValueError(
            "get('simclr') needs `image_size`, the output side in pixels, e.g. 32 or 96. "
            "Received: image_size=None."
        )
    kwargs = {"seed": seed} if image_size is None else {"image_size": image_size, "seed": seed}
    preset = PRESETS.get(key)
    unknown = set(preset_args) - set(inspect.signature(preset).parameters) - {"image_size", "seed"}
    if unknown:
        raise ValueError(
            f"Unknown argument(s) {sorted(unknown)} for the {key!r} augmentation; "
            f"{preset.__name__} takes {list(inspect.signature(preset).parameters)}."
        )
    return preset(**kwargs, **preset_args)
