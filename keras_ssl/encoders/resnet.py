"""ResNets (He et al. 2016): ResNet-18 built from Keras layers, ResNet-50 from keras.applications."""

from __future__ import annotations

import keras
from keras import layers

from keras_ssl.encoders.common import (
    CaffePreprocessing,
    check_input_shape,
    check_pooling,
    imagenet_normalization,
    load_weights,
    set_batch_norm_momentum,
)
from keras_ssl.encoders.registry import register

# ResNet-18: four stages of two basic blocks, 64 / 128 / 256 / 512 channels.
RESNET18_STAGES = ((64, 2), (128, 2), (256, 2), (512, 2))


def _basic_block(x, filters: int, stride: int, bn_momentum: float, name: str):
    """Two 3×3 convolutions with BatchNorm, and a 1×1 projection shortcut where the shape changes."""
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False, name=f"{name}_0_conv")(
            x
        )
        shortcut = layers.BatchNormalization(
            momentum=bn_momentum, epsilon=1e-5, name=f"{name}_0_bn"
        )(shortcut)
    x = layers.Conv2D(
        filters, 3, strides=stride, padding="same", use_bias=False, name=f"{name}_1_conv"
    )(x)
    x = layers.BatchNormalization(momentum=bn_momentum, epsilon=1e-5, name=f"{name}_1_bn")(x)
    x = layers.ReLU(name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_2_conv")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, epsilon=1e-5, name=f"{name}_2_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.ReLU(name=f"{name}_out")(x)


# Freeze points by the name of each part's last layer, the same for both stems: the
# stem's last layer is "stem_out", a stage's the last one named "conv<stage>_…".
RESNET18_FREEZE_POINTS = {
    "stem": "stem_out",
    **{
        f"conv{stage + 2}": f"conv{stage + 2}_block{blocks}_out"
        for stage, (_, blocks) in enumerate(RESNET18_STAGES)
    },
}


@register(
    "resnet18",
    feature_size=512,
    input_size=224,
    freeze_points=RESNET18_FREEZE_POINTS,
)
def resnet18(
    input_shape: tuple[int, int, int] = (32, 32, 3),
    cifar_stem: bool = True,
    weights: str | None = None,
    pooling: str = "avg",
    bn_momentum: float = 0.9,
    name: str = "resnet18_encoder",
) -> keras.Model:
    """ResNet-18 without its classifier, mapping images in [0, 255] to 512 features.

    With `cifar_stem=True` (the default, for 32×32 images as in SimSiam, lightly's
    `ResNetGenerator("resnet-18")` and kuangliu's CIFAR ResNet) the stem is one 3×3
    stride-1 convolution and there is no max-pool: 11,168,832 trainable parameters.
    With `cifar_stem=False` it is the ImageNet stem (7×7 stride 2 and a 3×3 stride-2
    max-pool): 11,176,512, torchvision's count without the classifier. Images are
    normalised with the ImageNet statistics first. Named freeze points: "stem",
    "conv2" … "conv5".

    Args:
        input_shape: (height, width, 3), >= 32 pixels.
        cifar_stem: the CIFAR stem (True) or the ImageNet stem (False).
        weights: None or a weights file saved from an encoder built with the same
            arguments (Keras publishes no ResNet-18 weights).
        pooling: "avg" or "max" global pooling of the last map.
        bn_momentum: BatchNorm momentum (0.9, PyTorch's 0.1 in Keras' convention).
        name: the model name.

    Returns:
        A `keras.Model` from `(batch, *input_shape)` to `(batch, 512)`.

    Example:

    >>> encoder = resnet18(input_shape=(32, 32, 3))
    >>> encoder.output_shape, sum(w.size for w in encoder.trainable_weights)
    ((None, 512), 11168832)
    """
    check_input_shape(input_shape)
    check_pooling(pooling)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = imagenet_normalization(inputs, prefix="resnet18")
    if cifar_stem:
        x = layers.Conv2D(64, 3, padding="same", use_bias=False, name="conv1_conv")(x)
    else:
        x = layers.ZeroPadding2D(3, name="conv1_pad")(x)
        x = layers.Conv2D(64, 7, strides=2, use_bias=False, name="conv1_conv")(x)
    x = layers.BatchNormalization(momentum=bn_momentum, epsilon=1e-5, name="conv1_bn")(x)
    if cifar_stem:
        x = layers.ReLU(name="stem_out")(x)
    else:
        x = layers.ReLU(name="conv1_relu")(x)
        x = layers.MaxPooling2D(3, strides=2, padding="same", name="stem_out")(x)
    for stage, (filters, blocks) in enumerate(RESNET18_STAGES):
        for block in range(blocks):
            stride = 2 if stage and not block else 1
            x = _basic_block(
                x, filters, stride, bn_momentum, name=f"conv{stage + 2}_block{block + 1}"
            )
    pool = layers.GlobalAveragePooling2D if pooling == "avg" else layers.GlobalMaxPooling2D
    model = keras.Model(inputs, pool(name=f"{pooling}_pool")(x), name=name)
    return load_weights(model, weights, name)


# Freeze points of keras.applications.ResNet50: the stem ends at its max-pool, a stage at
# the last layer named after it ("conv2_block3_out" …).
RESNET50_FREEZE_POINTS = {
    "stem": "pool1_pool",
    **{
        f"conv{stage}": f"conv{stage}_block{blocks}_out"
        for stage, blocks in zip(range(2, 6), (3, 4, 6, 3))
    },
}


@register(
    "resnet50",
    feature_size=2048,
    input_size=224,
    weights=(None, "imagenet"),
    freeze_points=RESNET50_FREEZE_POINTS,
)
def resnet50(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    weights: str | None = None,
    pooling: str = "avg",
    bn_momentum: float | None = 0.9,
    name: str = "resnet50_encoder",
) -> keras.Model:
    """ResNet-50 (`keras.applications.ResNet50`) without its classifier: 2048 features.

    The network Keras publishes ImageNet weights for, with its own preprocessing as
    the first layer (`keras.applications.resnet50.preprocess_input`: RGB → BGR and
    the ImageNet mean subtracted, "caffe" style), so it takes images in [0, 255].
    23,534,592 trainable parameters. Named freeze points: "stem", "conv2" … "conv5".

    Args:
        input_shape: (height, width, 3), >= 32 pixels.
        weights: None, "imagenet" (downloaded by `keras.applications`), or the path of
            a weights file for `keras.applications.ResNet50(include_top=False)`.
        pooling: "avg" or "max" global pooling of the last map.
        bn_momentum: momentum of all BatchNorm moving statistics (Keras uses 0.99);
            None keeps Keras' value.
        name: the model name.

    Returns:
        A `keras.Model` from `(batch, *input_shape)` to `(batch, 2048)`.

    Example:

    >>> resnet50(input_shape=(64, 64, 3)).output_shape
    (None, 2048)
    """
    check_input_shape(input_shape)
    check_pooling(pooling)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = CaffePreprocessing(name="resnet50_preprocess")(inputs)
    backbone = keras.applications.ResNet50(
        include_top=False, weights=weights, input_tensor=x, pooling=pooling
    )
    encoder = keras.Model(inputs, backbone.outputs[0], name=name)
    if bn_momentum is not None:
        set_batch_norm_momentum(encoder, bn_momentum)
    return encoder
