"""Heads that sit on top of an encoder's feature vector.

Each builder returns a `keras.Sequential` that takes `(batch, features)` and is built
lazily on first call, so the same head works with any encoder width.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers, ops

from keras_ssl.config import Count, PositiveInt, check
from keras_ssl.losses import l2_normalize

# PyTorch's BatchNorm1d defaults (momentum 0.1 on the new batch, eps 1e-5), which the
# SimSiam, BYOL and DINO papers trained with; Keras' own defaults are 0.99 and 1e-3.
_BN_MOMENTUM = 0.9
_BN_EPSILON = 1e-5
_KERAS_BN_EPSILON = 1e-3  # the Umeå report's projection head was built in Keras


def projection_head(
    hidden_dim: int = 256,
    output_dim: int = 128,
    num_hidden_layers: int = 1,
    batch_norm: bool = True,
    activation: str = "relu",
    bn_momentum: float = 0.9,
    name: str = "projection_head",
) -> keras.Sequential:
    """The MLP that maps encoder features to the space where the pretext loss is applied.

    The default is the Umeå report's head (§2.3): Dense(256, ReLU) → BatchNorm →
    Dense(128). `num_hidden_layers` repeats the Dense → BatchNorm block (SimCLR v2
    uses 2); `batch_norm=False` gives SimCLR v1's plain MLP. The projection is thrown
    away after pretraining. An `mlp_head` with the activation before BatchNorm and
    Keras' BatchNorm epsilon (1e-3), as the report's Keras code had.

    Args:
        hidden_dim: width of each hidden Dense layer.
        output_dim: dimension of the projected embedding.
        num_hidden_layers: number of hidden Dense(+BatchNorm) blocks, >= 0.
        batch_norm: whether each hidden block ends with BatchNormalization.
        activation: activation of the hidden Dense layers.
        bn_momentum: momentum of the BatchNorm moving statistics.
        name: the model name.

    Returns:
        A `keras.Sequential` mapping `(batch, features)` to `(batch, output_dim)`.

    Example:

    >>> import numpy as np
    >>> head = projection_head(hidden_dim=64, output_dim=32)
    >>> tuple(head(np.zeros((4, 1280), "float32")).shape)
    (4, 32)
    """
    check(hidden_dim, PositiveInt, "hidden_dim")
    check(output_dim, PositiveInt, "output_dim")
    check(num_hidden_layers, Count, "num_hidden_layers")
    return mlp_head(
        [hidden_dim] * num_hidden_layers + [output_dim],
        batch_norm=batch_norm,
        activation=activation,
        activation_first=True,
        bn_momentum=bn_momentum,
        bn_epsilon=_KERAS_BN_EPSILON,
        name=name,
    )


def classification_head(
    num_classes: int,
    dropout: float = 0.5,
    activation: str | None = "softmax",
    hidden_dims: Sequence[int] = (),
    name: str = "classification_head",
) -> keras.Sequential:
    """Dropout → Dense(num_classes) classifier for fine-tuning (Umeå §2.3); its output
    layer computes in float32 under mixed precision.

    Args:
        num_classes: number of output units (classes, or attributes for multi-label).
        dropout: dropout rate in [0, 1) before the output layer; 0 disables it.
        activation: output activation: "softmax" (single label), "sigmoid"
            (multi-label) or None for logits.
        hidden_dims: optional hidden Dense(ReLU) layers before the dropout.
        name: the model name.

    Returns:
        A `keras.Sequential` mapping `(batch, features)` to `(batch, num_classes)`.

    Example:

    >>> import numpy as np
    >>> tuple(classification_head(10)(np.zeros((2, 1280), "float32")).shape)
    (2, 10)
    """
    check(num_classes, PositiveInt, "num_classes")
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a rate in [0, 1); got {dropout!r}.")
    blocks = [
        layers.Dense(
            check(width, PositiveInt, "hidden_dims"), activation="relu", name=f"{name}_dense_{i}"
        )
        for i, width in enumerate(hidden_dims)
    ]
    if dropout > 0:
        blocks.append(layers.Dropout(dropout, name=f"{name}_dropout"))
    # float32 outputs under a mixed precision policy, as Keras' guide advises: the
    # probabilities, the loss and the metrics (top-k) stay accurate and finite.
    blocks.append(
        layers.Dense(num_classes, activation=activation, dtype="float32", name=f"{name}_output")
    )
    return keras.Sequential(blocks, name=name)


def rotation_head(
    num_rotations: int = 4,
    hidden_dim: int | None = 128,
    name: str = "rotation_head",
) -> keras.Sequential:
    """Predicts which of `num_rotations` rotations was applied; outputs logits.

    Follows the rotation report (001, §4.1): Dense(128, ReLU) then one output unit per
    rotation (0°, 90°, 180°, 270°). The softmax lives in the loss (`from_logits=True`).

    Args:
        num_rotations: number of rotation classes.
        hidden_dim: width of the hidden ReLU layer, or None for a linear head.
        name: the model name.

    Returns:
        A `keras.Sequential` mapping `(batch, features)` to `(batch, num_rotations)`.

    Example:

    >>> import numpy as np
    >>> tuple(rotation_head()(np.zeros((3, 1280), "float32")).shape)
    (3, 4)
    """
    check(num_rotations, PositiveInt, "num_rotations")
    blocks = []
    if hidden_dim is not None:
        blocks.append(
            layers.Dense(
                check(hidden_dim, PositiveInt, "hidden_dim"),
                activation="relu",
                name=f"{name}_dense",
            )
        )
    blocks.append(layers.Dense(num_rotations, name=f"{name}_output"))
    return keras.Sequential(blocks, name=name)


def mlp_head(
    dims: Sequence[int],
    batch_norm: bool = True,
    last_batch_norm: bool = False,
    activation: str | None = "relu",
    last_activation: str | None = None,
    use_bias: bool = True,
    kernel_initializer: str | keras.initializers.Initializer = "glorot_uniform",
    activation_first: bool = False,
    bn_momentum: float = _BN_MOMENTUM,
    bn_epsilon: float = _BN_EPSILON,
    name: str = "mlp_head",
) -> keras.Sequential:
    """An MLP of Dense → (BatchNorm) → activation blocks, the building block of SSL heads.

    One block per entry of `dims`. Every block but the last gets BatchNorm when
    `batch_norm` and then `activation`; the last block gets BatchNorm when
    `last_batch_norm` and then `last_activation`. This is lightly's `ProjectionHead`
    (a list of `(in, out, batch_norm, non_linearity)` blocks) with the input width
    inferred on the first call. BatchNorm uses PyTorch's momentum and epsilon by
    default, as the papers did. With `activation_first`, each block is Dense with its
    activation → (BatchNorm) instead, as in `projection_head`.

    Args:
        dims: output width of each Dense layer, in order; at least one.
        batch_norm: whether the hidden blocks have BatchNormalization.
        last_batch_norm: whether the last block has BatchNormalization.
        activation: activation of the hidden blocks (any Keras activation name), or None.
        last_activation: activation of the last block, or None for a linear output.
        use_bias: whether the Dense layers have a bias.
        kernel_initializer: initializer of the Dense kernels.
        activation_first: whether the activations come before BatchNorm, inside the
            Dense layers, rather than after it as `Activation` layers.
        bn_momentum: momentum of the BatchNorm moving statistics.
        bn_epsilon: epsilon of BatchNorm.
        name: the model name; layers are named `{name}_dense_{i}`, `{name}_bn_{i}`,
            `{name}_act_{i}`.

    Returns:
        A `keras.Sequential` mapping `(batch, features)` to `(batch, dims[-1])`.

    Example:

    >>> import numpy as np
    >>> head = mlp_head([64, 16], last_batch_norm=True)
    >>> tuple(head(np.zeros((4, 32), "float32")).shape)
    (4, 16)
    """
    if isinstance(dims, (str, int)) or not isinstance(dims, Sequence) or not dims:
        raise ValueError(f"`dims` must be a non-empty list of positive integers; got {dims!r}.")
    blocks = []
    for index, width in enumerate(dims):
        last = index == len(dims) - 1
        block_activation = last_activation if last else activation
        blocks.append(
            layers.Dense(
                check(width, PositiveInt, "dims"),
                activation=block_activation if activation_first else None,
                use_bias=use_bias,
                kernel_initializer=kernel_initializer,
                name=f"{name}_dense_{index}",
            )
        )
        if last_batch_norm if last else batch_norm:
            blocks.append(
                layers.BatchNormalization(
                    momentum=bn_momentum, epsilon=bn_epsilon, name=f"{name}_bn_{index}"
                )
            )
        if block_activation is not None and not activation_first:
            blocks.append(layers.Activation(block_activation, name=f"{name}_act_{index}"))
    return keras.Sequential(blocks, name=name)


def simsiam_projector(
    output_dim: int = 2048, hidden_dim: int = 2048, name: str = "simsiam_projector"
) -> keras.Sequential:
    """SimSiam's projection MLP (Chen & He 2021, §3): 3 layers, BatchNorm on every one.

    "The projection MLP (in f) has BN applied to each fully-connected (fc) layer,
    including its output fc. Its output fc has no ReLU. The hidden fc is 2048-d. This
    MLP has 3 layers." Report 004 (§2.1) describes the head with BN on every layer
    "except the output layer"; we follow the SimSiam paper and lightly's
    `SimSiamProjectionHead`, which keep the output BN.

    Args:
        output_dim: width of the projection z (2048 in the paper).
        hidden_dim: width of the two hidden layers (2048 in the paper).
        name: the model name.

    Returns:
        A `keras.Sequential` mapping `(batch, features)` to `(batch, output_dim)`.

    Example:

    >>> import numpy as np
    >>> tuple(simsiam_projector(64, 64)(np.zeros((4, 32), "float32")).shape)
    (4, 64)
    """
    return mlp_head([hidden_dim, hidden_dim, output_dim], last_batch_norm=True, name=name)


def simsiam_predictor(
    output_dim: int = 2048, hidden_dim: int | None = None, name: str = "simsiam_predictor"
) -> keras.Sequential:
    """SimSiam's prediction MLP h (Chen & He 2021, §3): a 2-layer bottleneck.

    "The prediction MLP (h) has BN applied to its hidden fc layers. Its output fc does
    not have BN or ReLU. This MLP has 2 layers. The dimension of h's input and output
    (z and p) is d = 2048, and h's hidden layer's dimension is 512, making h a
    bottleneck structure." Report 004 (§2.1): "the hidden layer has a reduced dimension
    by a factor of 4".

    Args:
        output_dim: width of the prediction p; equal to the projector's output_dim.
        hidden_dim: width of the hidden layer; None gives `output_dim // 4` (512 for the
            paper's 2048).
        name: the model name.

    Returns:
        A `keras.Sequential` mapping `(batch, output_dim)` to `(batch, output_dim)`.

    Example:

    >>> import numpy as np
    >>> predictor = simsiam_predictor(64)
    >>> tuple(predictor(np.zeros((4, 64), "float32")).shape), predictor.layers[0].units
    ((4, 64), 16)
    """
    check(output_dim, PositiveInt, "output_dim")
    if hidden_dim is None:
        hidden_dim = max(1, output_dim // 4)
    return mlp_head([hidden_dim, output_dim], name=name)


def byol_projector(
    hidden_dim: int = 4096, output_dim: int = 256, name: str = "byol_projector"
) -> keras.Sequential:
    """BYOL's projection MLP (Grill et al. 2020, §3.3): Linear → BN → ReLU → Linear.

    "a multi-layer perceptron (MLP) g_θ, and similarly for g_ξ. This MLP consists in a
    linear layer with output size 4096 followed by batch normalization, rectified
    linear units (ReLU), and a final linear layer with output dimension 256."

    Args:
        hidden_dim: width of the hidden layer (4096 in the paper).
        output_dim: width of the projection (256 in the paper).
        name: the model name.

    Returns:
        A `keras.Sequential` mapping `(batch, features)` to `(batch, output_dim)`.

    Example:

    >>> import numpy as np
    >>> tuple(byol_projector(64, 16)(np.zeros((4, 32), "float32")).shape)
    (4, 16)
    """
    return mlp_head([hidden_dim, output_dim], name=name)


def byol_predictor(
    hidden_dim: int = 4096, output_dim: int = 256, name: str = "byol_predictor"
) -> keras.Sequential:
    """BYOL's predictor q_θ (Grill et al. 2020, §3.3), the same MLP as the projector.

    "we use the same architecture for q_θ as for g_θ": Linear(4096) → BN → ReLU →
    Linear(256), mapping the projection back to its own width.

    Args:
        hidden_dim: width of the hidden layer (4096 in the paper).
        output_dim: width of the prediction; equal to the projector's output_dim.
        name: the model name.

    Returns:
        A `keras.Sequential` mapping `(batch, output_dim)` to `(batch, output_dim)`.

    Example:

    >>> import numpy as np
    >>> tuple(byol_predictor(64, 16)(np.zeros((4, 16), "float32")).shape)
    (4, 16)
    """
    return mlp_head([hidden_dim, output_dim], name=name)


def moco_v2_projector(
    hidden_dim: int = 2048, output_dim: int = 128, name: str = "moco_v2_projector"
) -> keras.Sequential:
    """MoCo v2's projection head (Chen et al. 2020, §2): Linear → ReLU → Linear, no BN.

    "we replace the fc head in MoCo with a 2-layer MLP head (hidden layer 2048-d, with
    ReLU)." The output (128-d) is L2-normalised inside the InfoNCE loss.

    Args:
        hidden_dim: width of the hidden layer (2048 in the paper).
        output_dim: width of the embedding (128 in the paper).
        name: the model name.

    Returns:
        A `keras.Sequential` mapping `(batch, features)` to `(batch, output_dim)`.

    Example:

    >>> import numpy as np
    >>> tuple(moco_v2_projector(64, 16)(np.zeros((4, 32), "float32")).shape)
    (4, 16)
    """
    return mlp_head([hidden_dim, output_dim], batch_norm=False, name=name)


@keras.saving.register_keras_serializable(package="keras_ssl")
class DINOHead(keras.layers.Layer):
    """DINO's projection head (Caron et al. 2021, §3.1 and Appendix).

    "The projection head consists of a 3-layer multi-layer perceptron (MLP) with
    hidden dimension 2048 followed by l2 normalization and a weight normalized fully
    connected layer with K dimensions, which is similar to the design from SwAV." The
    MLP uses GELU and no BatchNorm by default (DINO's ViT setting); its last layer maps
    to a `bottleneck_dim` embedding, which is L2-normalised. The last layer has no bias
    and is weight-normalised (Salimans & Kingma 2016): its kernel is
    `W[:, k] = g_k · v[:, k] / ‖v[:, k]‖`, one unit-norm direction per output unit, so
    the logits are `g_k` times the cosine between the bottleneck and `v[:, k]`. With
    `norm_last_layer=True` (DINO's default) the gain g is fixed to 1, which the paper
    found to stabilise training. DINO also keeps the last layer fixed during the first
    epoch: `call(..., freeze_last_layer=True)` stops the gradient at its weights (a
    boolean tensor works in a traced step; `keras_ssl.DINO` passes one).

    Args:
        output_dim: K, the number of prototypes (65536 in the paper).
        hidden_dim: width of the hidden MLP layers (2048).
        bottleneck_dim: width of the L2-normalised bottleneck (256).
        nlayers: number of MLP layers, >= 1 (3); with 1 the MLP is one Dense layer.
        batch_norm: whether the hidden MLP layers have BatchNorm (False for ViTs).
        norm_last_layer: if True, the weight-norm gain g is fixed to 1; if False, g is a
            trainable vector initialised to 1.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Returns:
        Logits `(batch, output_dim)`; `bottleneck(inputs)` gives the normalised
        `(batch, bottleneck_dim)` embedding.

    Example:

    >>> import numpy as np
    >>> head = DINOHead(output_dim=32, hidden_dim=64, bottleneck_dim=16)
    >>> tuple(head(np.zeros((4, 48), "float32")).shape)
    (4, 32)
    """

    def __init__(
        self,
        output_dim: int = 65536,
        hidden_dim: int = 2048,
        bottleneck_dim: int = 256,
        nlayers: int = 3,
        batch_norm: bool = False,
        norm_last_layer: bool = True,
        kernel_initializer="dino",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.kernel_initializer = kernel_initializer
        self.output_dim = check(output_dim, PositiveInt, "output_dim")
        self.hidden_dim = check(hidden_dim, PositiveInt, "hidden_dim")
        self.bottleneck_dim = check(bottleneck_dim, PositiveInt, "bottleneck_dim")
        self.nlayers = check(nlayers, PositiveInt, "nlayers")
        self.batch_norm = bool(batch_norm)
        self.norm_last_layer = bool(norm_last_layer)
        # DINO initialises its Linear layers with trunc_normal(std=0.02) and zero bias
        # ("dino"); narrow inputs then shrink through the MLP (0.02 * sqrt(fan_in) < 1
        # per layer), and "glorot_uniform" keeps their scale.
        if kernel_initializer == "dino":
            kernel_initializer = keras.initializers.TruncatedNormal(stddev=0.02)
        self.mlp = mlp_head(
            [hidden_dim] * (nlayers - 1) + [bottleneck_dim],
            batch_norm=batch_norm,
            activation="gelu",
            kernel_initializer=kernel_initializer,
            name=f"{self.name}_mlp",
        )
        self.direction = None
        self.gain = None

    def build(self, input_shape):
        self.mlp.build(input_shape)
        # PyTorch's default Linear init, U(±1/sqrt(fan_in)): DINO applies its 0.02 init
        # before it makes the weight-normalised last layer. The output does not depend on
        # the direction's scale, but the optimiser's steps do: from 0.02, each Adam step
        # of 1e-3 turns the directions by several per cent and scrambles the outputs.
        self.direction = self.add_weight(
            shape=(self.bottleneck_dim, self.output_dim),
            initializer=keras.initializers.VarianceScaling(1 / 3, "fan_in", "uniform"),
            name="direction",
        )
        if not self.norm_last_layer:
            self.gain = self.add_weight(shape=(self.output_dim,), initializer="ones", name="gain")
        self.built = True

    def bottleneck(self, inputs, training=None):
        """The L2-normalised MLP output, `(batch, bottleneck_dim)`."""
        return l2_normalize(self.mlp(inputs, training=training))

    def call(self, inputs, training=None, freeze_last_layer=False):
        # Weight norm: each output unit's direction v[:, k] is scaled to unit length.
        kernel = l2_normalize(self.direction, axis=0)
        if self.gain is not None:
            kernel = kernel * self.gain
        if freeze_last_layer is not False:
            kernel = ops.where(freeze_last_layer, ops.stop_gradient(kernel), kernel)
        return ops.matmul(self.bottleneck(inputs, training=training), kernel)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.output_dim)

    def get_config(self):
        return {
            **super().get_config(),
            "output_dim": self.output_dim,
            "hidden_dim": self.hidden_dim,
            "bottleneck_dim": self.bottleneck_dim,
            "nlayers": self.nlayers,
            "batch_norm": self.batch_norm,
            "norm_last_layer": self.norm_last_layer,
            "kernel_initializer": keras.initializers.serialize(
                keras.initializers.get(self.kernel_initializer)
            )
            if self.kernel_initializer != "dino"
            else "dino",
        }
