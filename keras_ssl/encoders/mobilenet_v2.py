"""MobileNetV2 encoder (Sandler et al. 2018), the backbone of the Umeå and rotation reports."""

from __future__ import annotations

import keras
from keras import layers

from keras_ssl.encoders.common import check_input_shape, check_pooling, set_batch_norm_momentum
from keras_ssl.encoders.registry import register


def _with_stride_one_stem(backbone: keras.Model) -> keras.Model:
    """Rebuilds `backbone` with its first convolution at stride 1, keeping its weights.

    On 32×32 images the stock network ends at 1×1; a stride-1 stem (as CIFAR ResNets
    use) keeps a 2×2 map at the end. Kernel shapes do not change, so ImageNet weights
    still load.
    """

    def clone_layer(layer):
        config = layer.get_config()
        if layer.name == "Conv1":
            config["strides"] = (1, 1)
        return layer.__class__.from_config(config)

    clone = keras.models.clone_model(backbone, clone_function=clone_layer)
    clone.set_weights(backbone.get_weights())
    return clone


# Number of countable layers (`keras_ssl.finetune.countable_layers`: the input counted,
# the preprocessing not) up to and including the last layer of each part of
# `keras.applications.MobileNetV2`; the same for every alpha, input size and stem.
# "stem" is Conv1 -> BN -> ReLU6; "block_0" is the block Keras names "expanded_conv".
# The Umeå report's 100 frozen layers are "block_10" (98) plus block_11's expansion
# convolution and its BatchNorm: no block ends at layer 100.
FREEZE_POINTS = {
    "stem": 4,
    "block_0": 9,
    **{
        f"block_{index}": end
        for index, end in enumerate(
            (18, 27, 36, 45, 54, 63, 72, 81, 90, 98, 107, 116, 125, 134, 143, 151), start=1
        )
    },
}


def _make_divisible(value: float, divisor: int = 8) -> int:
    """`keras.applications.mobilenet_v2._make_divisible`: channels rounded to a multiple of 8."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * value else rounded


def feature_size(alpha: float = 1.0, **_) -> int:
    """MobileNetV2's last convolution has 1280 channels, widened (never narrowed) by alpha > 1."""
    return _make_divisible(1280 * alpha) if alpha > 1.0 else 1280


@register(
    "mobilenet_v2",
    feature_size=feature_size,
    input_size=224,
    weights=(None, "imagenet"),
    freeze_points=FREEZE_POINTS,
)
def mobilenet_v2(
    input_shape: tuple[int, int, int] = (96, 96, 3),
    weights: str | None = None,
    alpha: float = 1.0,
    cifar_stem: bool = False,
    pooling: str = "avg",
    bn_momentum: float | None = 0.9,
    name: str = "mobilenet_v2_encoder",
) -> keras.Model:
    """MobileNetV2 without its classifier, mapping images in [0, 255] to a feature vector.

    MobileNetV2's own preprocessing (scaling to [-1, 1]) is the first layer, so the
    encoder takes raw pixels, uint8 or float. The model is flat: its layers are the
    input, the rescaling and then MobileNetV2's layers in order. The rescaling is
    not counted by `keras_ssl.finetune.freeze_first`, so `freeze_first(encoder, 100)`
    freezes the layers `keras.applications.MobileNetV2(...).layers[:100]`, as in the
    Umeå report. Named freeze points (`keras_ssl.encoders.info("mobilenet_v2").points()`)
    end after the stem ("stem", 4 layers) or a block ("block_0" … "block_16"); the
    report's 100 layers are "block_10" (98 layers) plus block_11's expansion
    convolution and its BatchNorm.

    Args:
        input_shape: (height, width, 3); >= 32 pixels. 96×96 as in the Umeå report.
        weights: None (random initialisation), "imagenet" (downloaded by
            `keras.applications`), or the path of a weights file for
            `keras.applications.MobileNetV2(include_top=False)`.
        alpha: width multiplier (0.35, 0.5, 0.75, 1.0, 1.3 or 1.4 for "imagenet").
        cifar_stem: if True, the first convolution has stride 1 instead of 2, for
            32×32 inputs.
        pooling: "avg" or "max" global pooling of the last feature map.
        bn_momentum: momentum of all BatchNorm moving statistics. Keras uses 0.999,
            too slow for pretraining runs of a few hundred steps; 0.9 by default.
            None keeps Keras' value.
        name: the model name.

    Returns:
        A `keras.Model` from `(batch, *input_shape)` to `(batch, 1280 * max(1, alpha))`.

    Example:

    >>> encoder = mobilenet_v2(input_shape=(32, 32, 3), alpha=0.35, cifar_stem=True)
    >>> encoder.output_shape
    (None, 1280)
    """
    check_input_shape(input_shape)
    check_pooling(pooling)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    # keras.applications.mobilenet_v2.preprocess_input: x / 127.5 - 1.
    scaled = layers.Rescaling(1.0 / 127.5, offset=-1.0, name="mobilenet_v2_preprocess")(inputs)
    backbone = keras.applications.MobileNetV2(
        input_shape=tuple(input_shape),
        input_tensor=scaled,
        include_top=False,
        weights=weights,
        alpha=alpha,
        pooling=pooling,
    )
    if cifar_stem:
        backbone = _with_stride_one_stem(backbone)
    encoder = keras.Model(backbone.inputs[0], backbone.outputs[0], name=name)
    if bn_momentum is not None:
        set_batch_norm_momentum(encoder, bn_momentum)
    return encoder
