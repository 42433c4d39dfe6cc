"""Batched separable resampling: per-image [out, in] matrices applied with two einsums.

Axis-aligned crops, bilinear resizing and Gaussian blur are all separable linear maps,
so one image becomes `rows @ image @ cols.T` (per channel). With a different matrix for
every image of the batch this is a batched matmul: no per-image loop, no gather, and the
same code runs on every Keras backend and under XLA.
"""

from keras import ops


def bilinear_matrix(start, length, out_size: int, in_size: int):
    """Bilinear sampling weights for the segment [start, start + length) of each image.

    Output pixel i samples position `start + (i + 0.5) * length / out_size - 0.5`
    (half-pixel centres, as `tf.image.resize` and `keras.ops.image.resize`), clamped to
    the first and last pixel of the segment, so an integer segment gives exactly
    "crop, then bilinear resize".

    Args:
        start: float32 [batch], first pixel of the segment.
        length: float32 [batch], its length in pixels (>= 1).
        out_size: Number of output pixels.
        in_size: Number of input pixels along this axis.

    Returns:
        float32 [batch, out_size, in_size]; every row sums to 1.
    """
    centres = ops.arange(out_size, dtype="float32") + 0.5
    position = start[:, None] + centres[None, :] * (length / out_size)[:, None] - 0.5
    position = ops.minimum(ops.maximum(position, start[:, None]), (start + length - 1.0)[:, None])
    pixels = ops.arange(in_size, dtype="float32")
    return ops.relu(1.0 - ops.abs(position[:, :, None] - pixels[None, None, :]))


def gaussian_matrix(sigma, size: int, radius: int):
    """Gaussian blur weights along one axis, a different sigma for each image.

    The kernel is truncated at `radius` and every row is renormalised over the pixels
    inside the image, so borders are neither darkened (zero padding) nor mirrored.

    Args:
        sigma: float32 [batch], standard deviation in pixels (> 0).
        size: Number of pixels along this axis.
        radius: Kernel half-width in pixels.

    Returns:
        float32 [batch, size, size]; every row sums to 1.
    """
    pixels = ops.arange(size, dtype="float32")
    distance = pixels[:, None] - pixels[None, :]
    weights = ops.exp(-ops.square(distance)[None] / (2.0 * ops.square(sigma)[:, None, None]))
    weights = weights * ops.cast(ops.abs(distance) <= radius, "float32")[None]
    return weights / ops.sum(weights, axis=-1, keepdims=True)


def separable_resample(images, rows, cols):
    """Applies per-image row and column matrices to a batch of images.

    Computed channels-first as `rows @ image @ cols.T`, two broadcast batched matmuls;
    on the CPU this measured about twice as fast as the equivalent einsums.

    Args:
        images: [batch, height, width, channels].
        rows: [batch, out_height, height].
        cols: [batch, out_width, width].

    Returns:
        [batch, out_height, out_width, channels] in the dtype of `images`.
    """
    rows = ops.cast(rows, images.dtype)
    cols = ops.cast(cols, images.dtype)
    images = ops.transpose(images, (0, 3, 1, 2))
    images = ops.matmul(ops.matmul(rows[:, None], images), ops.transpose(cols, (0, 2, 1))[:, None])
    return ops.transpose(images, (0, 2, 3, 1))
