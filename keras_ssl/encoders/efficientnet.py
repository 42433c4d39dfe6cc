"""EfficientNet-B0 (Tan & Le 2019) from keras.applications, one of SimSiam 004's backbones."""

from __future__ import annotations

import keras

from keras_ssl.encoders.common import check_input_shape, check_pooling, set_batch_norm_momentum
from keras_ssl.encoders.registry import register

# Freeze points of keras.applications.EfficientNetB0: the stem, then stages 1-7, each
# ending at the last layer Keras names after it ("block2b_add" …).
FREEZE_POINTS = {
    "stem": "stem_activation",
    **{f"block{stage}": f"block{stage}*" for stage in range(1, 8)},
}


@register(
    "efficientnet_b0",
    feature_size=1280,
    input_size=224,
    weights=(None, "imagenet"),
    freeze_points=FREEZE_POINTS,
)
def efficientnet_b0(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    weights: str | None = None,
    pooling: str = "avg",
    bn_momentum: float | None = 0.9,
    name: str = "efficientnet_b0_encoder",
) -> keras.Model:
    """EfficientNet-B0 (`keras.applications.EfficientNetB0`) without its classifier.

    Keras' EfficientNet holds its own preprocessing (rescaling and ImageNet
    normalisation), so it takes images in [0, 255]. 4,007,548 trainable parameters; 1280
    features. Named freeze points: "stem", "block1" … "block7" (Keras' stage names).
    Most of its compute is in depthwise convolutions, which are slow on CPUs for
    their FLOPs (see `benchmarks/encoders.py`).

    Args:
        input_shape: (height, width, 3), >= 32 pixels.
        weights: None, "imagenet" (downloaded by `keras.applications`), or the path of
            a weights file for `keras.applications.EfficientNetB0(include_top=False)`.
        pooling: "avg" or "max" global pooling of the last map.
        bn_momentum: momentum of all BatchNorm moving statistics (Keras uses 0.99);
            None keeps Keras' value.
        name: the model name.

    Returns:
        A `keras.Model` from `(batch, *input_shape)` to `(batch, 1280)`.

    Example:

    >>> efficientnet_b0(input_shape=(32, 32, 3)).output_shape
    (None, 1280)
    """
    check_input_shape(input_shape)
    check_pooling(pooling)
    backbone = keras.applications.EfficientNetB0(
        include_top=False, weights=weights, input_shape=tuple(input_shape), pooling=pooling
    )
    encoder = keras.Model(backbone.inputs[0], backbone.outputs[0], name=name)
    if bn_momentum is not None:
        set_batch_norm_momentum(encoder, bn_momentum)
    return encoder
