"""`EncoderConfig`: a registered encoder as settings (name, arguments, weights, size).

Experiment files and the `keras-ssl` command describe encoders this way; `build()`
makes the encoder, with errors that name the setting and the fix.

Example:

```python
config = EncoderConfig(name="resnet18", args={"stem": "cifar"}, image_size=32)
encoder = config.build()            # random weights
EncoderConfig(name="resnet9")
# ConfigError: Unknown name 'resnet9' (`name`); expected one of: efficientnet_b0, ...
```
"""

from __future__ import annotations

import os

from pydantic import field_validator

from keras_ssl.config import Arguments, Config, ConfigError, ImageSide, Name, check_choice


class EncoderConfig(Config):
    """An encoder of the registry (`keras_ssl.encoders.available()`), or a saved one.

    Args:
        name: the registered builder.
        args: more builder arguments (e.g. `alpha`).
        weights: None (random), a name the builder can load ("imagenet"), a weights
            file, or a saved encoder (`.keras`, which replaces name and args).
        image_size: the side of the images the encoder takes; images are resized
            to it on the device.
    """

    name: Name = "mobilenet_v2"
    args: Arguments = {}
    weights: Name | None = None
    image_size: ImageSide = 96

    @property
    def saved(self) -> bool:
        """Whether the encoder is a saved `.keras` model rather than a builder's."""
        return isinstance(self.weights, str) and self.weights.endswith(".keras")

    @field_validator("name")
    @classmethod
    def _registered(cls, name):
        from keras_ssl import encoders

        return check_choice(name, encoders.available())

    @field_validator("args")
    @classmethod
    def _arguments(cls, args, info):
        from keras_ssl import encoders

        reserved = sorted({"input_shape", "weights"} & set(args))
        if reserved:
            raise ValueError(
                f"`{{key}}` must not set {reserved}: use `encoder.image_size` and `encoder.weights`."
            )
        name = info.data.get("name")
        parameters = set(encoders.info(name).parameters or args) if name else set(args)
        unknown = sorted(set(args) - parameters)
        if unknown:
            accepted = ", ".join(sorted(parameters - {"input_shape", "weights"}))
            raise ValueError(
                f"`{{key}}` {unknown} are not arguments of {name}; it takes: {accepted}."
            )
        return args

    @field_validator("weights")
    @classmethod
    def _loadable(cls, weights, info):
        from keras_ssl import encoders

        name = info.data.get("name")
        loadable = (encoders.info(name).weights or ()) if name else ()
        if weights is None or weights in loadable:
            return weights
        if weights == "imagenet":
            allowed = ", ".join(repr(w) for w in (loadable or (None,)))
            raise ValueError(
                f"`{{key}}` {weights!r}: {name} can load {allowed}, a weights file, or a saved "
                "encoder (.keras)."
            )
        if not os.path.isfile(weights):
            what = "Encoder file" if weights.endswith(".keras") else "Weights file"
            raise ValueError(f"{what} {weights!r} (`{{key}}`) does not exist.")
        return weights

    def build(self, weights: str | None = "config"):
        """The encoder at `image_size`, initialised with `weights`.

        Args:
            weights: None (random), a name the builder can load, a weights file or
                a saved encoder (`.keras`, loaded as it is); "config": `self.weights`.

        Raises:
            ConfigError: if the weights cannot be loaded (e.g. no internet for
                "imagenet"), saying what to do instead.
        """
        from keras_ssl import encoders

        weights = self.weights if weights == "config" else weights
        if isinstance(weights, str) and weights.endswith(".keras"):
            return load_saved_model(weights, "Encoder")
        kwargs = dict(self.args, input_shape=(self.image_size,) * 2 + (3,))
        if weights is not None:
            kwargs["weights"] = weights
        try:
            return encoders.get(self.name, **kwargs)
        except Exception as error:
            if weights is None:
                raise
            raise ConfigError(
                f"Could not load weights {weights!r} (`encoder.weights`) for {self.name} "
                f"({type(error).__name__}: {error}). ImageNet weights are downloaded on first use "
                "and need internet (or a copy in ~/.keras/models/); give a weights file, or "
                "remove the variant (variants.<name>=null)."
            ) from None


def load_saved_model(path, what: str = "Model"):
    """A `.keras` model, or a `ConfigError` saying why it cannot be loaded.

    Args:
        path: the file.
        what: what the file holds, for the message ("Encoder", "Model").
    """
    import keras

    path = str(path)
    if not path.endswith(".keras"):
        raise ConfigError(f"{what} {path!r} must be a .keras file.")
    if not os.path.isfile(path):
        raise ConfigError(f"{what} {path!r} does not exist.")
    try:
        return keras.models.load_model(path)
    except Exception as error:  # a corrupt or foreign file fails in many ways
        raise ConfigError(
            f"Cannot load {what.lower()} {path!r} ({type(error).__name__}: {error})."
        ) from None
