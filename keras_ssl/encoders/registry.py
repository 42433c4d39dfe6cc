"""Name → builder registry, so configs and the CLI can say `encoder: mobilenet_v2`.

Besides the builder, a registered encoder may declare what a config needs to know
before building it: its feature size, its natural input size, the `weights=` values
it accepts besides a file path, and named freeze points for fine-tuning. The builders
are kept in `ENCODERS`, a `keras_ssl.registry.Registry`, with that metadata.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import keras

from keras_ssl.registry import Registry


@dataclass(frozen=True)
class EncoderInfo:
    """What the registry knows about an encoder builder.

    Attributes:
        name: the registered name.
        builder: the function that builds the encoder.
        feature_size: the length of the feature vector: an int, a callable of the
            builder's keyword arguments, or None if not declared (see `features`).
        input_size: the natural input side in pixels (e.g. 224 for ImageNet
            models), or None.
        weights: the values `weights=` accepts besides a weights-file path.
        freeze_points: named points to freeze up to: a mapping name -> the number of
            layers (counted as `keras_ssl.finetune.countable_layers` counts them) or
            the name of the point's last layer ("prefix*": the last layer whose name
            starts with the prefix), a callable of the builder's keyword arguments
            returning one, or None (see `points`). Names hold for every variant of a
            builder (depth, stem); counts only for the one they were made for.
        parameters: the names of the builder's keyword arguments.
    """

    name: str
    builder: Callable[..., keras.Model]
    feature_size: int | Callable[..., int] | None = None
    input_size: int | None = None
    weights: tuple = (None,)
    freeze_points: Mapping[str, int | str] | Callable[..., Mapping[str, int | str]] | None = None
    parameters: frozenset[str] = frozenset()

    def features(self, **builder_kwargs) -> int | None:
        """The feature size of the encoder `get(name, **builder_kwargs)` builds, or None."""
        self._check_kwargs(builder_kwargs)
        if callable(self.feature_size):
            return int(self.feature_size(**builder_kwargs))
        return self.feature_size

    def points(self, **builder_kwargs) -> dict[str, int | str]:
        """The freeze points of the encoder built with `builder_kwargs` (empty if none).

        Each is a number of layers or the name of the point's last layer;
        `keras_ssl.finetune.resolve_freeze` turns either into a count for a model.
        """
        self._check_kwargs(builder_kwargs)
        points = self.freeze_points
        if callable(points):
            points = points(**builder_kwargs)
        return dict(points or {})

    def _check_kwargs(self, builder_kwargs: dict) -> None:
        unknown = sorted(set(builder_kwargs) - self.parameters)
        if unknown:
            raise ValueError(
                f"Unknown argument(s) {unknown} for encoder {self.name!r}; its builder takes: "
                f"{', '.join(sorted(self.parameters))}."
            )


ENCODERS = Registry("encoder", unknown="Unknown encoder {name}. Available encoders: {names}.")


def register(
    name: str,
    *,
    feature_size: int | Callable[..., int] | None = None,
    input_size: int | None = None,
    weights: tuple = (None,),
    freeze_points: Mapping[str, int | str] | Callable[..., Mapping[str, int | str]] | None = None,
):
    """Decorator that makes an encoder builder available as `get(name)`.

    Args:
        name: the name configs use.
        feature_size: the feature-vector length: an int, or a callable that takes
            the builder's keyword arguments (only those given) and returns it.
        input_size: the natural input side in pixels.
        weights: what `weights=` may be besides a file path, e.g. `(None, "imagenet")`.
        freeze_points: mapping name -> number of layers to freeze (as counted by
            `keras_ssl.finetune.countable_layers`) or the name of the last layer to
            freeze ("prefix*": the last layer whose name starts so), or a callable of the builder's keyword arguments returning one.

    Returns:
        The decorator; it returns the builder unchanged.

    Example:

    ```python
    @keras_ssl.encoders.register("my_net", feature_size=512, input_size=64)
    def my_net(input_shape=(64, 64, 3), **kwargs):
        ...
    ```
    """

    def decorator(builder):
        return ENCODERS.register(
            name,
            builder,
            feature_size=feature_size,
            input_size=input_size,
            weights=tuple(weights),
            freeze_points=freeze_points,
            parameters=_keyword_arguments(builder),
        )

    return decorator


def _keyword_arguments(builder) -> frozenset[str]:
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = inspect.signature(builder).parameters.values()
    return frozenset(p.name for p in parameters if p.kind in kinds)


def available() -> list[str]:
    """Names of the registered encoder builders, sorted."""
    return ENCODERS.available()


def info(name: str) -> EncoderInfo:
    """What the registry knows about the encoder registered as `name`.

    Args:
        name: a name from `available()`.

    Returns:
        An `EncoderInfo`.

    Raises:
        ValueError: for an unknown name (a `keras_ssl.config.ConfigError`); the
            message lists the known ones.

    Example:

    >>> info("mobilenet_v2").features(alpha=1.4)
    1792
    """
    return EncoderInfo(name=name, builder=ENCODERS.get(name), **ENCODERS.entry(name))


def get(name: str, **kwargs) -> keras.Model:
    """Builds the encoder registered as `name` with the given keyword arguments.

    Args:
        name: a name from `available()`.
        **kwargs: passed to the builder (e.g. `input_shape`, `weights`).

    Returns:
        The encoder, a `keras.Model` mapping images in [0, 255] to feature vectors.

    Raises:
        ValueError: for an unknown name; the message lists the known ones.
    """
    return ENCODERS.get(name)(**kwargs)


def registered_name(model: keras.Model) -> str | None:
    """The registered name of the builder that made `model`, guessed from its name.

    A model named after a registered encoder (`"small_cnn"`) or after a builder's
    default `name` argument (`"small_cnn_encoder"`) is that encoder; copies
    (`keras_ssl.finetune.copy_encoder`) and saved-and-loaded encoders keep their
    name, so they are found too. A renamed encoder is not.

    Args:
        model: an encoder.

    Returns:
        The registered name, or None.
    """
    if model.name in ENCODERS:
        return model.name
    for name in ENCODERS.available():
        default = inspect.signature(ENCODERS.get(name)).parameters.get("name")
        if default is not None and default.default == model.name:
            return name
    return None
