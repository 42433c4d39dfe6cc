"""The layers ViT and PiT are built from: serialization, position interpolation, blocks."""

import keras
import numpy as np
import pytest

from keras_ssl import encoders
from keras_ssl.encoders.transformer import (
    ClassToken,
    PositionEmbedding2D,
    SplitClassToken,
    TokensToMap,
    TransformerBlock,
)

TINY_VIT = {"patch_size": 8, "width": 32, "depth": 2, "num_heads": 2, "mlp_dim": 64}


def test_position_embedding_keeps_its_grid_and_resizes_to_others():
    layer = PositionEmbedding2D(grid_size=(4, 4))
    zeros = np.zeros((2, 4, 4, 8), "float32")
    stored = keras.ops.convert_to_numpy(layer(zeros))
    np.testing.assert_array_equal(stored[0], keras.ops.convert_to_numpy(layer.embedding)[0])
    # A constant embedding stays constant at any grid (bicubic weights sum to one) …
    layer.embedding.assign(np.full((1, 4, 4, 8), 0.5, "float32"))
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(layer(np.zeros((1, 7, 3, 8)))), 0.5, atol=1e-6
    )
    # … and a smooth one keeps its values: halving the grid averages neighbouring rows.
    ramp = np.tile(np.arange(4, dtype="float32")[:, None, None], (1, 4, 8))[None]
    layer.embedding.assign(ramp)
    halved = keras.ops.convert_to_numpy(layer(np.zeros((1, 2, 2, 8), "float32")))[0, :, 0, 0]
    assert halved[0] < halved[1] and 0 <= halved[0] <= 1.5 and 1.5 <= halved[1] <= 3


def test_tokens_and_class_token_shapes_and_inverse():
    maps = np.arange(2 * 3 * 4 * 5, dtype="float32").reshape(2, 3, 4, 5)
    tokens = TokensToMap()(maps)
    assert tokens.shape == (2, 12, 5)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(TokensToMap((3, 4), inverse=True)(tokens)), maps
    )
    with_cls = ClassToken()(tokens)
    assert with_cls.shape == (2, 13, 5)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(SplitClassToken(rest=True)(with_cls)),
        keras.ops.convert_to_numpy(tokens),
    )
    assert SplitClassToken()(with_cls).shape == (2, 5)
    with pytest.raises(ValueError, match="needs the `grid`"):
        TokensToMap(inverse=True)


def test_transformer_block_matches_a_numpy_reference():
    """Pre-norm: x + MHA(LN(x)), then x + W2 gelu(W1 LN(x) + b1) + b2."""
    block = TransformerBlock(num_heads=2, mlp_dim=16)
    x = np.random.default_rng(0).normal(size=(2, 5, 8)).astype("float32")
    out = keras.ops.convert_to_numpy(block(x))

    def layer_norm(v, norm):
        gamma, beta = (keras.ops.convert_to_numpy(w) for w in norm.weights)
        mean, var = v.mean(-1, keepdims=True), v.var(-1, keepdims=True)
        return (v - mean) / np.sqrt(var + 1e-6) * gamma + beta

    attention = keras.ops.convert_to_numpy(
        block.attention(layer_norm(x, block.attention_norm), layer_norm(x, block.attention_norm))
    )
    h = x + attention
    w1, b1 = (keras.ops.convert_to_numpy(w) for w in block.mlp_hidden.weights)
    w2, b2 = (keras.ops.convert_to_numpy(w) for w in block.mlp_output.weights)
    z = layer_norm(h, block.mlp_norm) @ w1 + b1
    from scipy.special import erf

    gelu = 0.5 * z * (1 + erf(z / np.sqrt(2)))
    np.testing.assert_allclose(out, h + gelu @ w2 + b2, rtol=1e-4, atol=1e-5)
    d, m = 8, 16  # attention 4d² + 4d, two LayerNorms 4d, MLP 2dm + m + d
    assert block.count_params() == 4 * d * d + 4 * d + 4 * d + 2 * d * m + m + d


@pytest.mark.parametrize(
    "layer",
    [
        PositionEmbedding2D((2, 3)),
        ClassToken(),
        TransformerBlock(2, 16),
        TokensToMap((2, 2), inverse=True),
        SplitClassToken(rest=True),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_layers_round_trip_through_their_config(layer):
    clone = type(layer).from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    assert keras.saving.get_registered_object(
        keras.saving.get_registered_name(type(layer))
    ) is type(layer)


def test_any_size_vit_embeds_crops_of_several_sizes_and_weights_move_between_sizes(tmp_path):
    keras.utils.set_random_seed(0)
    flexible = encoders.vision_transformer((None, None, 3), grid_size=(4, 4), **TINY_VIT)
    for size in (16, 32, 48):
        out = keras.ops.convert_to_numpy(flexible(np.zeros((2, size, size, 3), "float32")))
        assert out.shape == (2, 32) and np.all(np.isfinite(out)), size
    # Weights of the any-size encoder load into a fixed 64 px one (grid 8×8, resized).
    flexible.save_weights(tmp_path / "vit.weights.h5")
    fixed = encoders.vision_transformer(
        (64, 64, 3), grid_size=(4, 4), weights=str(tmp_path / "vit.weights.h5"), **TINY_VIT
    )
    images = np.random.default_rng(0).integers(0, 256, (2, 64, 64, 3)).astype("float32")
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(fixed(images)),
        keras.ops.convert_to_numpy(flexible(images)),
        atol=1e-5,
    )
