"""Heads that sit on top of an encoder's feature vector.

Each builder returns a `keras.Sequential` that takes `(batch, features)` and is built
lazily on first call, so the same head works with any encoder width.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers


def _check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer; got {value!r}.")
    return value


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
    away after pretraining.

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
    >>> head(np.zeros((4, 1280), "float32")).shape
    (4, 32)
    """
    _check_positive_int(hidden_dim, "hidden_dim")
    _check_positive_int(output_dim, "output_dim")
    if (
        isinstance(num_hidden_layers, bool)
        or not isinstance(num_hidden_layers, int)
        or num_hidden_layers < 0
    ):
        raise ValueError(f"`num_hidden_layers` must be an integer >= 0; got {num_hidden_layers!r}.")
    blocks = []
    for index in range(num_hidden_layers):
        blocks.append(layers.Dense(hidden_dim, activation=activation, name=f"{name}_dense_{index}"))
        if batch_norm:
            blocks.append(
                layers.BatchNormalization(momentum=bn_momentum, name=f"{name}_bn_{index}")
            )
    blocks.append(layers.Dense(output_dim, name=f"{name}_output"))
    return keras.Sequential(blocks, name=name)


def classification_head(
    num_classes: int,
    dropout: float = 0.5,
    activation: str | None = "softmax",
    hidden_dims: Sequence[int] = (),
    name: str = "classification_head",
) -> keras.Sequential:
    """Dropout → Dense(num_classes) classifier for fine-tuning (Umeå §2.3).

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
    >>> classification_head(10)(np.zeros((2, 1280), "float32")).shape
    (2, 10)
    """
    _check_positive_int(num_classes, "num_classes")
    if not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise ValueError(f"`dropout` must be a rate in [0, 1); got {dropout!r}.")
    blocks = [
        layers.Dense(
            _check_positive_int(width, "hidden_dims"), activation="relu", name=f"{name}_dense_{i}"
        )
        for i, width in enumerate(hidden_dims)
    ]
    if dropout > 0:
        blocks.append(layers.Dropout(dropout, name=f"{name}_dropout"))
    blocks.append(layers.Dense(num_classes, activation=activation, name=f"{name}_output"))
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
    >>> rotation_head()(np.zeros((3, 1280), "float32")).shape
    (3, 4)
    """
    _check_positive_int(num_rotations, "num_rotations")
    blocks = []
    if hidden_dim is not None:
        blocks.append(
            layers.Dense(
                _check_positive_int(hidden_dim, "hidden_dim"),
                activation="relu",
                name=f"{name}_dense",
            )
        )
    blocks.append(layers.Dense(num_rotations, name=f"{name}_output"))
    return keras.Sequential(blocks, name=name)
