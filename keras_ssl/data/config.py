"""`DataConfig`: a data source and how it is split into training, validation and test images.

Example:

```python
config = DataConfig(source="cifar10-train.zip", max_images=5000, test=1000, val=500)
```
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, Strict, model_validator

from keras_ssl.config import Config, ConfigError, ImageSide, Name, SplitSize


class DataConfig(Config):
    """Where the images come from and how they are split, once, for every stage.

    Args:
        source: a catalogue name ("cifar10", "cifar10_keras", …) or a folder / `.zip`
            of `<class>/<image>` files (Tiny ImageNet's archive layout works too).
        split: the catalogue split or subfolder to load; None: "train" for named
            data sets, every labelled image for a folder.
        image_size: resize every image to this side when loading; None keeps it.
        max_images: a seeded, class-balanced subset of about this many images.
        test: the held-out test set: a count or a fraction. It is scored once per
            stage, at the end; nothing is selected on it.
        val: the validation set carved from the rest: a count or a fraction. Early
            stopping, best weights and learning-rate schedules watch it.
        select_on: "val", or "test" (the Umeå report's protocol: optimistic numbers,
            labelled as such in `results.md`; needs `val: 0`).
        test_source: a separate source of held-out test images (same classes), e.g.
            an official test split; `test` must then be 0.
        test_split: the split or subfolder of `test_source`; None: its default.
        attributes: multi-label attributes made from class folders,
            `{attribute: [class names]}`: each image gets the attributes its class is
            listed under (multi-hot labels). None: the source's own labels.
    """

    source: Name = "cifar10"
    split: Name | None = None
    image_size: ImageSide | None = None
    max_images: Annotated[int, Strict(), Field(ge=20)] | None = None
    test: SplitSize = 0.2
    val: SplitSize = 0.1
    select_on: Literal["val", "test"] = "val"
    test_source: Name | None = None
    test_split: Name | None = None
    attributes: dict[str, Annotated[tuple[str, ...], Field(min_length=1)]] | None = None

    @property
    def multi_label(self) -> bool:
        """Whether the labels are multi-hot: `attributes`, or a multi-label catalogue set."""
        from keras_ssl.data import is_multi_label_dataset

        return self.attributes is not None or is_multi_label_dataset(self.source)

    def split_indices(self, labels, seed: int) -> dict:
        """Indices (into `labels`) of the images used, split into train / val / test.

        First a seeded, class-balanced subset of `max_images` (if set), then
        `keras_ssl.data.train_val_test_split` of it with `test` and `val`; random
        rather than class-balanced for multi-hot labels (`strata`).

        Returns:
            `{"train", "val", "test"}` sorted int64 indices into `labels`.

        Raises:
            ConfigError: if the sizes do not fit the data.
        """
        from keras_ssl.data.sources import strata
        from keras_ssl.data.splits import label_fraction, train_val_test_split

        labels = strata(labels)
        used = np.arange(len(labels))
        if self.max_images is not None and self.max_images < len(labels):
            used = label_fraction(labels, self.max_images / len(labels), seed=seed)
        try:
            split = train_val_test_split(labels[used], val=self.val, test=self.test, seed=seed)
        except ValueError as error:
            raise ConfigError(
                f"`data.test` / `data.val` do not fit the {len(used)} images used: {error}"
            ) from None
        return {name: used[indices] for name, indices in split.items()}

    @model_validator(mode="after")
    def _sources_agree(self):
        if self.attributes == {}:
            raise ValueError("`{key}.attributes` is empty; name at least one attribute.")
        if self.test_split is not None and self.test_source is None:
            raise ValueError(
                "`{key}.test_split` chooses the split of `{key}.test_source`, which is not set."
            )
        if self.test_source is not None and self.test != 0:
            raise ValueError(
                f"`{{key}}.test` is {self.test!r} but `{{key}}.test_source` gives the test "
                "images; set data.test=0."
            )
        return self
