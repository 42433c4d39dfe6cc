"""VGG-16 (Simonyan & Zisserman 2015) from keras.applications: a supervised ImageNet
reference of the SimCLR Pets report (002)."""

from __future__ import annotations

import keras

from keras_ssl.encoders.common import CaffePreprocessing, check_input_shape, check_pooling
from keras_ssl.encoders.registry import register

# The five convolution stages of keras.applications.VGG16 end at their max-pool.
FREEZE_POINTS = {f"block{stage}": f"block{stage}_pool" for stage in range(1, 6)}


@register(
    "vgg16",
    feature_size=512,
    input_size=224,
    weights=(None, "imagenet"),
    freeze_points=FREEZE_POINTS,
)
def vgg16(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    weights: str | None = None,
    pooling: str = "avg",
    name: str = "vgg16_encoder",
) -> keras.Model:
    """VGG-16's convolutional part (`keras.applications.VGG16`), pooled to 512 features.

    Keras' VGG-16 takes "caffe"-preprocessed images (RGB → BGR, the ImageNet mean
    subtracted), which the encoder does as its first layer, so it takes images in
    [0, 255]. 14,714,688 trainable parameters; no BatchNorm. Named freeze points:
    "block1" … "block5".

    Args:
        input_shape: (height, width, 3), >= 32 pixels.
        weights: None, "imagenet" (downloaded by `keras.applications`), or the path of
            a weights file for `keras.applications.VGG16(include_top=False)`.
        pooling: "avg" or "max" global pooling of the last map.
        name: the model name.

    Returns:
        A `keras.Model` from `(batch, *input_shape)` to `(batch, 512)`.

    Example:

    >>> vgg16(input_shape=(32, 32, 3)).output_shape
    (None, 512)
    """
    check_input_shape(input_shape)
    check_pooling(pooling)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = CaffePreprocessing(name="vgg16_preprocess")(inputs)
    backbone = keras.applications.VGG16(
        include_top=False, weights=weights, input_tensor=x, pooling=pooling
    )
    return keras.Model(inputs, backbone.outputs[0], name=name)
