"""Layers the vision-transformer encoders share (ViT, PiT): tokens, positions, blocks.

Written with `keras.ops` only, serializable, and usable at image sizes other than the
one a model was built for: position embeddings are interpolated to the patch grid
they meet (as DINO and timm do), so a ViT trained at 224 px embeds 96 px crops.
"""

from __future__ import annotations

import keras
from keras import layers, ops

# timm / DeiT / DINO initialise token and position embeddings from a normal with
# std 0.02 truncated at two standard deviations, and use LayerNorm with eps 1e-6.
EMBEDDING_INITIALIZER = {"class_name": "TruncatedNormal", "config": {"stddev": 0.02}}
LAYER_NORM_EPSILON = 1e-6


@keras.saving.register_keras_serializable(package="keras_ssl")
class PositionEmbedding2D(layers.Layer):
    """Adds a learned position embedding to a feature map, resized to its grid.

    The embedding is held at `grid_size` (the patch grid of the image size the
    model was designed for). A map of another spatial size gets the embedding
    resized bicubically to its grid, so one set of weights serves any image size.

    Args:
        grid_size: (rows, columns) of the stored embedding.
        **kwargs: `keras.layers.Layer` arguments.

    Input: `(batch, rows', columns', channels)`. Output: the same shape.

    Example:

    >>> layer = PositionEmbedding2D(grid_size=(14, 14))
    >>> layer(keras.ops.zeros((2, 6, 6, 384))).shape
    (2, 6, 6, 384)
    """

    def __init__(self, grid_size, **kwargs):
        super().__init__(**kwargs)
        self.grid_size = tuple(int(size) for size in grid_size)

    def build(self, input_shape):
        self.embedding = self.add_weight(
            shape=(1, *self.grid_size, input_shape[-1]),
            initializer=keras.initializers.get(EMBEDDING_INITIALIZER),
            name="embedding",
        )

    def call(self, inputs):
        embedding = ops.cast(self.embedding, inputs.dtype)
        grid = tuple(inputs.shape[1:3])
        if grid != self.grid_size:
            if None in grid:
                raise ValueError(
                    "PositionEmbedding2D needs the spatial size of its input when the "
                    f"model runs; got {inputs.shape}. Give the images a static shape."
                )
            embedding = ops.image.resize(embedding, grid, interpolation="bicubic")
        return inputs + embedding

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "grid_size": self.grid_size}


@keras.saving.register_keras_serializable(package="keras_ssl")
class ClassToken(layers.Layer):
    """Prepends one learned token to a sequence: `(batch, n, d)` → `(batch, n + 1, d)`.

    The class token of ViT (Dosovitskiy et al. 2021) and PiT; its position
    embedding is folded into the token itself (a constant added to a learned
    vector is the same learned vector).

    Example:

    >>> ClassToken()(keras.ops.zeros((2, 196, 384))).shape
    (2, 197, 384)
    """

    def build(self, input_shape):
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]),
            initializer=keras.initializers.get(EMBEDDING_INITIALIZER),
            name="token",
        )

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        token = ops.broadcast_to(ops.cast(self.token, inputs.dtype), (batch, 1, inputs.shape[-1]))
        return ops.concatenate([token, inputs], axis=1)

    def compute_output_shape(self, input_shape):
        length = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], length, input_shape[2])


@keras.saving.register_keras_serializable(package="keras_ssl")
class TransformerBlock(layers.Layer):
    """A pre-norm transformer encoder block, as in ViT, DeiT and DINO.

    `x + MHA(LN(x))`, then `x + MLP(LN(x))` with a GELU MLP of `mlp_dim` hidden units;
    attention projections have biases (timm's `qkv_bias=True`). With width d the block
    has 12d² + 13d parameters at `mlp_dim` = 4d.

    Args:
        num_heads: attention heads; must divide the width.
        mlp_dim: hidden units of the MLP.
        dropout: dropout rate after attention and in the MLP.
        **kwargs: `keras.layers.Layer` arguments.

    Input and output: `(batch, tokens, width)`.

    Example:

    >>> TransformerBlock(num_heads=6, mlp_dim=1536)(keras.ops.zeros((2, 197, 384))).shape
    (2, 197, 384)
    """

    def __init__(self, num_heads: int, mlp_dim: int, dropout: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.mlp_dim = int(mlp_dim)
        self.dropout = float(dropout)

    def build(self, input_shape):
        width = input_shape[-1]
        if width % self.num_heads:
            raise ValueError(
                f"The width {width} is not divisible by num_heads={self.num_heads}; "
                "choose a number of heads that divides it."
            )
        self.attention_norm = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="norm1")
        self.attention = layers.MultiHeadAttention(
            self.num_heads, width // self.num_heads, dropout=self.dropout, name="attention"
        )
        self.mlp_norm = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON, name="norm2")
        self.mlp_hidden = layers.Dense(self.mlp_dim, activation="gelu", name="mlp_hidden")
        self.mlp_output = layers.Dense(width, name="mlp_output")
        self.drop = layers.Dropout(self.dropout)
        self.attention_norm.build(input_shape)
        self.attention.build(input_shape, input_shape)
        self.mlp_norm.build(input_shape)
        self.mlp_hidden.build(input_shape)
        self.mlp_output.build((*input_shape[:-1], self.mlp_dim))

    def call(self, inputs, training=None):
        x = self.attention_norm(inputs)
        x = inputs + self.drop(self.attention(x, x, training=training), training=training)
        y = self.mlp_hidden(self.mlp_norm(x))
        y = self.mlp_output(self.drop(y, training=training))
        return x + self.drop(y, training=training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "mlp_dim": self.mlp_dim,
            "dropout": self.dropout,
        }


@keras.saving.register_keras_serializable(package="keras_ssl")
class TokensToMap(layers.Layer):
    """`(batch, rows, columns, d)` → `(batch, rows * columns, d)` and back (`inverse=True`).

    Args:
        grid: (rows, columns), needed only for the inverse direction.
        inverse: False flattens a map into tokens; True folds tokens into a map.
    """

    def __init__(self, grid=None, inverse: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.grid = None if grid is None else tuple(int(size) for size in grid)
        self.inverse = bool(inverse)
        if self.inverse and self.grid is None:
            raise ValueError("TokensToMap(inverse=True) needs the `grid` to fold tokens into.")

    def call(self, inputs):
        if self.inverse:
            return ops.reshape(inputs, (-1, *self.grid, inputs.shape[-1]))
        return ops.reshape(inputs, (ops.shape(inputs)[0], -1, inputs.shape[-1]))

    def compute_output_shape(self, input_shape):
        if self.inverse:
            return (input_shape[0], *self.grid, input_shape[-1])
        rows, columns = input_shape[1:3]
        tokens = None if rows is None or columns is None else rows * columns
        return (input_shape[0], tokens, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "grid": self.grid, "inverse": self.inverse}


@keras.saving.register_keras_serializable(package="keras_ssl")
class SplitClassToken(layers.Layer):
    """The first token of a sequence (`index=0`) or the others (`rest=True`).

    Args:
        rest: False returns `(batch, d)`, the class token; True `(batch, n - 1, d)`.
    """

    def __init__(self, rest: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.rest = bool(rest)

    def call(self, inputs):
        return inputs[:, 1:] if self.rest else inputs[:, 0]

    def compute_output_shape(self, input_shape):
        if self.rest:
            length = None if input_shape[1] is None else input_shape[1] - 1
            return (input_shape[0], length, input_shape[2])
        return (input_shape[0], input_shape[2])

    def get_config(self):
        return {**super().get_config(), "rest": self.rest}
