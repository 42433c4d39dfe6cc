"""Small checks shared by the encoders, heads and pretext models."""

from __future__ import annotations

import keras


def check_image_batch(images, where: str = "images"):
    """Checks that `images` is a batch of RGB images with a numeric dtype.

    Works on NumPy arrays, backend tensors and symbolic `keras.KerasTensor`s:
    only static shape and dtype are inspected, so it is safe inside a traced
    `train_step`.

    Args:
        images: the batch, expected shape `(batch, height, width, 3)`.
        where: what the batch is for, used in the error message.

    Returns:
        `images`, unchanged.

    Raises:
        ValueError: if the rank is not 4, the channel axis is not 3, or the
            dtype is not numeric.

    Example:

    >>> import numpy as np
    >>> check_image_batch(np.zeros((2, 32, 32, 3), "uint8")).shape
    (2, 32, 32, 3)
    """
    shape = tuple(images.shape)
    if len(shape) != 4:
        raise ValueError(
            f"{where} must be a batch of images with shape (batch, height, width, 3); "
            f"got shape {shape} (rank {len(shape)}). "
            "Add a batch axis for a single image (`images[None]`)."
        )
    if shape[-1] is not None and shape[-1] != 3:
        hint = {
            1: "Convert grayscale images to RGB, e.g. `np.repeat(images, 3, axis=-1)`.",
            4: "Drop the alpha channel, e.g. `images[..., :3]`.",
        }.get(shape[-1], "Images must be RGB.")
        raise ValueError(
            f"{where} must have 3 channels (RGB, channels last); got shape {shape} "
            f"with {shape[-1]} channels. {hint}"
        )
    dtype = keras.backend.standardize_dtype(images.dtype)
    if not (dtype.startswith(("float", "uint", "int", "bfloat"))):
        raise ValueError(
            f"{where} must have a numeric dtype (uint8 or float with values in [0, 255]); "
            f"got dtype {dtype}. Decode image files before passing them to the model."
        )
    return images


def dropped_remainder_message(what: str, count: int, batch_size: int, shuffle: bool) -> str:
    """The warning for images that do not fill a last batch and are left out.

    Shared by `keras_ssl.data.pretraining_pipeline` and the pretext models' `fit`, so
    that both say the same thing about the same rule.

    Args:
        what: who drops them (a class or function name).
        count: the number of images.
        batch_size: the batch size.
        shuffle: whether the order (hence the images left out) changes every epoch.

    Returns:
        The message.
    """
    left_over = count % batch_size
    which = "different ones every epoch" if shuffle else "the last ones, in order"
    return (
        f"{what} uses only full batches: {count} images make {count // batch_size} batches of "
        f"{batch_size}, and the {left_over} left over are not used in an epoch ({which}), "
        f"since a short batch would change a contrastive task. Use a batch size that divides "
        f"{count} to use every image."
    )
