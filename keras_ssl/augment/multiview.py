"""MultiView: several augmentation pipelines applied to one batch, one view each."""

from collections.abc import Sequence

import keras
from keras import ops

from keras_ssl.utils import check_image_batch, check_image_shape


@keras.saving.register_keras_serializable(package="keras_ssl")
class MultiView(keras.layers.Layer):
    """Makes a list of views of a batch, one augmentation layer per view.

    lightly's `MultiViewTransform`, batched: SimCLR's two views are
    `MultiView([augment, augment_copy])`, BYOL's asymmetric views are two different
    pipelines (`byol_views`), and DINO's multi-crop is two global pipelines and several
    local ones of a smaller output size (`dino_views`). Each view layer keeps its own
    seed, so each view is its own random stream: give the layers distinct seeds (the
    presets do). Views of different sizes cannot be stacked into one tensor; use
    `group_by_size` to encode one batch per size.

    Args:
        views: List of Keras layers mapping [batch, h, w, 3] images in [0, 255] to
            augmented images, e.g. `AugmentPipeline`s. The same layer object may not
            appear twice (it would share its seed stream); build one per view.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Returns:
        A list with one float tensor [batch, out_h, out_w, 3] per view, in order.

    Example:

    >>> import numpy as np
    >>> from keras_ssl.augment import simclr_augment
    >>> views = MultiView([simclr_augment(32, seed=1), simclr_augment(16, seed=9)])
    >>> images = np.random.randint(0, 256, (8, 32, 32, 3), dtype="uint8")
    >>> [tuple(view.shape) for view in views(images, training=True)]
    [(8, 32, 32, 3), (8, 16, 16, 3)]
    """

    def __init__(self, views: Sequence[keras.layers.Layer], **kwargs):
        super().__init__(**kwargs)
        views = list(views) if isinstance(views, (list, tuple)) else None
        if not views or not all(isinstance(view, keras.layers.Layer) for view in views):
            raise ValueError(
                "MultiView: `views` must be a non-empty list of keras.layers.Layer, one per "
                f"view. Received: views={views!r}."
            )
        if len({id(view) for view in views}) != len(views):
            raise ValueError(
                "MultiView: the same layer object appears twice in `views`; build one layer "
                "per view so that each view has its own seed stream."
            )
        self.views = views
        self._convert_input_args = False
        self._allow_non_tensor_positional_args = True

    def build(self, input_shape=None):
        if input_shape is not None:
            check_image_shape(input_shape, self.__class__.__name__)
            for view in self.views:
                if not view.built:
                    view.build(input_shape)
        self.built = True

    def call(self, images, training=True):
        check_image_batch(images, self.__class__.__name__)
        return [view(images, training=training) for view in self.views]

    def compute_output_shape(self, input_shape):
        check_image_shape(input_shape, self.__class__.__name__)
        return [tuple(view.compute_output_shape(input_shape)) for view in self.views]

    def compute_output_spec(self, images, training=True):
        check_image_batch(images, self.__class__.__name__)
        return [
            keras.KerasTensor(shape, dtype=self.compute_dtype)
            for shape in self.compute_output_shape(images.shape)
        ]

    def get_config(self):
        return {
            **super().get_config(),
            "views": [keras.saving.serialize_keras_object(view) for view in self.views],
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["views"] = [keras.saving.deserialize_keras_object(v) for v in config["views"]]
        return cls(**config)


def group_by_size(views: Sequence) -> list[tuple[tuple[int, ...], object]]:
    """Groups views of the same spatial size and concatenates each group on the batch axis.

    DINO encodes its two global and its local crops in one forward pass per resolution
    (`torch.cat` of the crops of one size). Split an encoded group back into its views
    with `keras.ops.split(features, len(indices), axis=0)`.

    Args:
        views: List of image tensors [batch, h, w, c] (e.g. the output of `MultiView`),
            with static height and width.

    Returns:
        A list of `(indices, images)` in order of first appearance: `indices` are the
        positions in `views` of the views of one size, `images` their concatenation,
        [len(indices) * batch, h, w, c].

    Example:

    >>> import numpy as np
    >>> views = [np.zeros((4, 32, 32, 3)), np.zeros((4, 16, 16, 3)), np.zeros((4, 32, 32, 3))]
    >>> [(indices, tuple(images.shape)) for indices, images in group_by_size(views)]
    [((0, 2), (8, 32, 32, 3)), ((1,), (4, 16, 16, 3))]
    """
    groups: dict[tuple, list[int]] = {}
    for index, view in enumerate(views):
        size = tuple(view.shape[1:3])
        if None in size:
            raise ValueError(
                "group_by_size needs views with a static height and width. "
                f"Received view {index} of shape {tuple(view.shape)}."
            )
        groups.setdefault(size, []).append(index)
    return [
        (tuple(indices), ops.concatenate([views[i] for i in indices], axis=0))
        for indices in groups.values()
    ]
