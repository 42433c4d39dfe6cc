"""`MethodConfig`: a registered pretext method and its views as settings.

Example:

```python
config = MethodConfig(method="byol", method_args={"momentum": 0.99})
model = config.build(keras_ssl.encoders.small_cnn(), image_size=32, seed=0)
MethodConfig(method="jigsaw")
# ConfigError: Unknown method 'jigsaw' (`method`); expected one of: byol, dino, ...
```
"""

from __future__ import annotations

from pydantic import field_validator

from keras_ssl.config import Arguments, Config, Name, check_choice


class MethodConfig(Config):
    """A method of `keras_ssl.pretext.available()`, its arguments and its views.

    Args:
        method: a method of `keras_ssl.pretext.available()`.
        method_args: its constructor arguments (e.g. `temperature` for SimCLR).
        augment: the augmentation preset (`keras_ssl.augment.available()`), or null
            for the method's own default views (BYOL's two asymmetric views, DINO's
            multi-crop, SimCLR's views, ...).
        augment_args: more arguments of the preset (e.g. `crop_scale`).
    """

    method: Name = "simclr"
    method_args: Arguments = {}
    augment: Name | None = None
    augment_args: Arguments = {}

    @field_validator("method")
    @classmethod
    def _registered(cls, method):
        from keras_ssl import pretext

        return check_choice(method, pretext.available())

    @field_validator("method_args")
    @classmethod
    def _arguments(cls, args, info):
        from keras_ssl import pretext

        method = info.data.get("method")
        accepted = pretext.method_arguments(method) if method else list(args)
        unknown = sorted(set(args) - set(accepted))
        if unknown:
            raise ValueError(
                f"`{{key}}` {unknown} are not arguments of {method!r}; it takes: "
                f"{', '.join(accepted) or 'none'}."
            )
        return args

    @field_validator("augment")
    @classmethod
    def _preset(cls, preset):
        from keras_ssl import augment

        return preset if preset is None else check_choice(preset, list(augment.available()))

    def build_views(self, image_size: int, seed: int | None = None):
        """The augmentation layer of `augment`, or None for the method's own views."""
        from keras_ssl import augment

        if self.augment is None:
            return None
        return augment.get(self.augment, image_size=image_size, seed=seed, **self.augment_args)

    def build(self, encoder, views=None):
        """The pretext model around `encoder` with `views` (`build_views`), not compiled."""
        from keras_ssl import pretext

        return pretext.get(self.method, encoder, augment=views, **self.method_args)
