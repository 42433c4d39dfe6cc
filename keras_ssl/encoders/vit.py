"""Vision transformers (Dosovitskiy et al. 2021): ViT-S/16 and ViT-S/8 as in DINO and DeiT."""

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

# ViT-S (DeiT-S, DINO's ViT-S): width 384, 12 blocks of 6 heads, MLP 4 × 384.
VIT_SMALL = {"width": 384, "depth": 12, "num_heads": 6, "mlp_dim": 1536}
POOLINGS = ("cls", "avg")
NATURAL_SIZE = 224  # the image side ViT-S was trained at


def check_patch_size(input_shape, patch_size: int) -> None:
    """Raises a clear error unless the patches tile the image exactly."""
    height, width, _ = check_input_shape(input_shape, min_size=patch_size, any_size=True)
    if any(side is not None and side % patch_size for side in (height, width)):
        raise ValueError(
            f"patch_size={patch_size} does not divide the image size {height}×{width}: "
            f"use an image side that is a multiple of {patch_size} (e.g. "
            f"{max(1, round((height or width) / patch_size)) * patch_size}) or another patch size."
        )


def freeze_points(depth: int = VIT_SMALL["depth"], **_) -> dict[str, str]:
    """ "embedding" (patch projection, positions, class token), then each block."""
    return {"embedding": "class_token", **{f"block_{i}": f"block_{i}" for i in range(depth)}}


@register(
    "vit", feature_size=lambda width=384, **_: width, input_size=224, freeze_points=freeze_points
)
def vision_transformer(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    patch_size: int = 16,
    width: int = VIT_SMALL["width"],
    depth: int = VIT_SMALL["depth"],
    num_heads: int = VIT_SMALL["num_heads"],
    mlp_dim: int = VIT_SMALL["mlp_dim"],
    pooling: str = "cls",
    dropout: float = 0.0,
    weights: str | None = None,
    grid_size: tuple[int, int] | None = None,
    name: str = "vit_encoder",
) -> keras.Model:
    """A vision transformer of any size, mapping images in [0, 255] to a feature vector.

    Images are normalised with the ImageNet statistics (as DeiT and DINO), cut into
    non-overlapping `patch_size` patches by a strided convolution, given learned
    position embeddings and a class token, and passed through `depth` pre-norm
    transformer blocks and a final LayerNorm. The feature vector is the class token
    (`pooling="cls"`, DINO's choice) or the mean of the patch tokens ("avg").

    Position embeddings are stored for `grid_size` (by default the patch grid of
    `input_shape`) and interpolated to the grid of any other image size, so weights
    move between sizes. Named freeze points: "embedding" and "block_0" … .

    Args:
        input_shape: (height, width, 3), multiples of `patch_size`; None sides make an
            encoder that takes any multiple (DINO's local crops at their own size).
        patch_size: side of the square patches (16 or 8 for ViT-S/16, ViT-S/8).
        width: token dimension.
        depth: number of transformer blocks.
        num_heads: attention heads per block; must divide `width`.
        mlp_dim: hidden units of each block's MLP.
        pooling: "cls" or "avg".
        dropout: dropout in the blocks (0 in DINO).
        weights: None or a weights file saved from an encoder built with the same
            arguments (Keras publishes no ViT weights).
        grid_size: (rows, columns) of the stored position embeddings; by default the
            patch grid of `input_shape` (of 224 px for a None side). Give the grid of
            the weights' training size to load them at another size.
        name: the model name.

    Returns:
        A `keras.Model` from `(batch, *input_shape)` to `(batch, width)`.

    Example:

    >>> encoder = vision_transformer((32, 32, 3), patch_size=8, width=64, depth=2, num_heads=2,
    ...                              mlp_dim=128)
    >>> encoder.output_shape
    (None, 64)
    """
    check_patch_size(input_shape, patch_size)
    if pooling not in POOLINGS:
        raise ValueError(f"`pooling` must be one of {POOLINGS}; got {pooling!r}.")
    if grid_size is None:
        sides = [side or NATURAL_SIZE for side in input_shape[:2]]
        grid_size = (sides[0] // patch_size, sides[1] // patch_size)
    inputs = keras.Input(shape=tuple(input_shape), name="images")
    x = imagenet_normalization(inputs, prefix="vit")
    x = layers.Conv2D(width, patch_size, strides=patch_size, name="patch_embedding")(x)
    x = PositionEmbedding2D(grid_size, name="position_embedding")(x)
    x = TokensToMap(name="tokens")(x)
    x = ClassToken(name="class_token")(x)
    for index in range(depth):
        x = TransformerBlock(num_heads, mlp_dim, dropout, name=f"block_{index}")(x)
    x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="norm")(x)
    if pooling == "cls":
        outputs = SplitClassToken(name="cls_pool")(x)
    else:
        outputs = layers.GlobalAveragePooling1D(name="avg_pool")(SplitClassToken(rest=True)(x))
    model = keras.Model(inputs, outputs, name=name)
    return load_weights(model, weights, name)


@register(
    "vit_small",
    feature_size=VIT_SMALL["width"],
    input_size=224,
    freeze_points=freeze_points(),
)
def vit_small(
    input_shape: tuple[int, int, int] = (224, 224, 3),
    patch_size: int = 16,
    pooling: str = "cls",
    weights: str | None = None,
    grid_size: tuple[int, int] | None = None,
    name: str = "vit_small_encoder",
) -> keras.Model:
    """ViT-S/16 or ViT-S/8 (DeiT-S; DINO's ViT-S): ≈ 21.7 M parameters at 224 px, patch 16.

    Width 384, 12 blocks, 6 heads, MLP 1536 (Touvron et al. 2021; Caron et al. 2021).
    See `vision_transformer` for the layers, the position-embedding interpolation
    and the arguments.

    Example:

    >>> encoder = vit_small(input_shape=(32, 32, 3), patch_size=8)
    >>> encoder.output_shape
    (None, 384)
    """
    if patch_size not in (8, 16):
        raise ValueError(f"ViT-S uses patch_size 16 or 8; got {patch_size!r}.")
    return vision_transformer(
        input_shape,
        patch_size,
        pooling=pooling,
        weights=weights,
        grid_size=grid_size,
        name=name,
        **VIT_SMALL,
    )
