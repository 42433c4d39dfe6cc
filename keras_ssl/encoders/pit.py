"""Pooling-based vision transformer, PiT (Heo et al. 2021), in its tiny size as in SimSiam 004."""

from __future__ import annotations

import keras
from keras import layers

from keras_ssl.encoders.common import check_input_shape, imagenet_normalization, load_weights
from keras_ssl.encoders.registry import register
from keras_ssl.encoders.transformer import (
    LAYER_NORM_EPSILON,
    ClassToken,
    PositionEmbedding2D,
    SplitClassToken,
    TokensToMap,
    TransformerBlock,
)

# PiT-Ti (naver-ai/pit `pit_ti`): patch 16 with stride 8 (overlapping patches), stages of
# 2 / 6 / 4 blocks with 2 / 4 / 8 heads of 32 dimensions (widths 64 / 128 / 256), MLP 4×.
PIT_TINY = {
    "patch_size": 16,
    "stride": 8,
    "head_dim": 32,
    "depths": (2, 6, 4),
    "num_heads": (2, 4, 8),
    "mlp_ratio": 4,
}


def patch_grid(size: int, patch_size: int, stride: int) -> int:
    """Number of patches along a side of `size` pixels (no padding)."""
    return (size - patch_size) // stride + 1


# "embedding" (patch projection, positions, class token), then each stage's last layer.
FREEZE_POINTS = {"embedding": "class_token", **{f"stage_{s}": f"stage_{s}_*" for s in range(3)}}


def _pool(tokens, grid: tuple[int, int], width: int, prefix: str):
    """PiT's pooling layer: halves the patch grid, doubles the width (class token by a Dense)."""
    cls = SplitClassToken(name=f"{prefix}_cls")(tokens)
    patches = SplitClassToken(rest=True, name=f"{prefix}_patches")(tokens)
    x = TokensToMap(grid, inverse=True, name=f"{prefix}_fold")(patches)
    x = layers.ZeroPadding2D(1, name=f"{prefix}_pad")(x)  # PyTorch's symmetric padding=1
    x = layers.DepthwiseConv2D(
        3, strides=2, depth_multiplier=width // x.shape[-1], name=f"{prefix}_conv"
    )(x)
    cls = layers.Dense(width, name=f"{prefix}_cls_dense")(cls)
    cls = layers.Reshape((1, width), name=f"{prefix}_cls_token")(cls)
    patches = TokensToMap(name=f"{prefix}_tokens")(x)
    return layers.Concatenate(axis=1, name=f"{prefix}_join")([cls, patches]), tuple(x.shape[1:3])


@register(
    "pit",
    feature_size=lambda head_dim=32, num_heads=(2, 4, 8), **_: head_dim * num_heads[-1],
    input_size=224,
    freeze_points=FREEZE_POINTS,
)
def pooling_transformer(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    patch_size: int = PIT_TINY["patch_size"],
    stride: int = PIT_TINY["stride"],
    head_dim: int = PIT_TINY["head_dim"],
    depths: tuple[int, ...] = PIT_TINY["depths"],
    num_heads: tuple[int, ...] = PIT_TINY["num_heads"],
    mlp_ratio: int = PIT_TINY["mlp_ratio"],
    weights: str | None = None,
    grid_size: tuple[int, int] | None = None,
    name: str = "pit_encoder",
) -> keras.Model:
    """A pooling-based vision transformer (PiT), mapping images in [0, 255] to a vector.

    Overlapping patches (`patch_size` with `stride`) are embedded by a convolution and
    given learned position embeddings and a class token; stage `i` has `depths[i]`
    transformer blocks of width `head_dim * num_heads[i]` and ends, except the last,
    in PiT's pooling: a stride-2 depthwise convolution on the patch grid and a Dense
    on the class token, widening to the next stage. The feature vector is the final
    LayerNorm of the class token. Named freeze points: "embedding", "stage_0", … .

    Args:
        input_shape: (height, width, 3), at least `patch_size` pixels.
        patch_size: side of the patches.
        stride: step between patches.
        head_dim: dimensions per attention head (PiT's "base dim").
        depths: blocks per stage.
        num_heads: heads per stage.
        mlp_ratio: MLP hidden units per token dimension.
        weights: None or a weights file saved from an encoder built with the same
            arguments (Keras publishes no PiT weights).
        grid_size: (rows, columns) of the stored position embeddings; by default the
            patch grid of `input_shape`.
        name: the model name.

    Returns:
        A `keras.Model` from `(batch, *input_shape)` to `(batch, head_dim * num_heads[-1])`.

    Example:

    >>> pooling_transformer((32, 32, 3), depths=(1, 1), num_heads=(2, 4)).output_shape
    (None, 128)
    """
    height, width, _ = check_input_shape(input_shape, min_size=patch_size)
    if len(depths) != len(num_heads):
        raise ValueError(
            f"`depths` {depths} and `num_heads` {num_heads} must have one entry per stage."
        )
    grid = (patch_grid(height, patch_size, stride), patch_grid(width, patch_size, stride))
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = imagenet_normalization(inputs, prefix="pit")
    x = layers.Conv2D(head_dim * num_heads[0], patch_size, strides=stride, name="patch_embedding")(
        x
    )
    x = PositionEmbedding2D(grid_size or grid, name="position_embedding")(x)
    x = TokensToMap(name="tokens")(x)
    x = ClassToken(name="class_token")(x)
    for stage, (depth, heads) in enumerate(zip(depths, num_heads)):
        if stage:
            x, grid = _pool(x, grid, head_dim * heads, prefix=f"pool_{stage}")
        for index in range(depth):
            block = TransformerBlock(
                heads, mlp_ratio * head_dim * heads, name=f"stage_{stage}_block_{index}"
            )
            x = block(x)
    x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="norm")(x)
    outputs = SplitClassToken(name="cls_pool")(x)
    model = keras.Model(inputs, outputs, name=name)
    return load_weights(model, weights, name)


@register(
    "pit_tiny",
    feature_size=PIT_TINY["head_dim"] * PIT_TINY["num_heads"][-1],
    input_size=224,
    freeze_points=FREEZE_POINTS,
)
def pit_tiny(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    weights: str | None = None,
    grid_size: tuple[int, int] | None = None,
    name: str = "pit_tiny_encoder",
) -> keras.Model:
    """PiT-Ti (Heo et al. 2021; `naver-ai/pit`): ≈ 4.6 M parameters without a classifier.

    Patch 16, stride 8; stages of 2 / 6 / 4 blocks, 2 / 4 / 8 heads of 32 dimensions.
    See `pooling_transformer` for the layers and the arguments.

    Example:

    >>> pit_tiny(input_shape=(32, 32, 3)).output_shape
    (None, 256)
    """
    return pooling_transformer(
        input_shape, weights=weights, grid_size=grid_size, name=name, **PIT_TINY
    )
