"""Name → pretext-method registry, so configs can say `method: simclr`.

A method is one file, imported by `keras_ssl/pretext/__init__.py`: its
`PretextModel` subclass registers itself in `METHODS` (a `keras_ssl.registry.Registry`)
with `@register("name")`, and `get(name, encoder, **method_args)` builds it from the
plain values of a config file. Nothing outside `keras_ssl.pretext` names a method.
"""

from __future__ import annotations

import inspect

import keras

from keras_ssl.registry import Registry

METHODS = Registry("pretext method", unknown="Unknown pretext method {name}; available: {names}.")


def register(name: str):
    """Class decorator that makes a `PretextModel` subclass available as `get(name, ...)`.

    Args:
        name: the name configs use, e.g. "simclr".

    Returns:
        The decorator; it returns the class unchanged.

    Raises:
        ValueError: if another class is already registered as `name`.

    Example:

    ```python
    @keras_ssl.pretext.register("my_method")
    class MyMethod(keras_ssl.pretext.PretextModel):
        monitor = "my_accuracy"
        ...
    ```
    """
    return METHODS.register(name)


def available() -> list[str]:
    """Names of the registered pretext methods, sorted."""
    return METHODS.available()


def method_class(name: str) -> type:
    """The class registered as `name` (its `monitor`, `loss_name`, …).

    Example:

    >>> method_class("simclr").monitor
    'contrastive_accuracy'
    """
    return METHODS.get(name)


def _keyword_parameters(cls) -> list[inspect.Parameter]:
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]  # not `self`
    return [p for p in parameters if p.kind in kinds and p.name not in ("encoder", "augment")]


def method_arguments(name: str) -> dict:
    """The constructor arguments a config may set for method `name`, with their defaults.

    These are the plain-valued keyword arguments: not `encoder` or `augment` (given
    separately), not `**kwargs`, and not those listed in the class's
    `config_exclude` (arguments that take layers, such as `projection_head`).
    An argument without a default maps to `inspect.Parameter.empty`.

    Args:
        name: a name from `available()`.

    Returns:
        A dict argument name -> default, in signature order.

    Example:

    >>> method_arguments("rotation")
    {'mode': 'all', 'seed': None, 'head_units': 128}
    """
    cls = METHODS.get(name)
    excluded = set(getattr(cls, "config_exclude", ()))
    return {p.name: p.default for p in _keyword_parameters(cls) if p.name not in excluded}


def describe(name: str) -> str:
    """One line about method `name` (the first line of its class docstring), for CLI help."""
    return METHODS.describe(name)


def get(name: str, encoder: keras.Model, augment=None, **method_args) -> keras.Model:
    """Builds the pretext method registered as `name` around `encoder`.

    Args:
        name: a name from `available()`.
        encoder: a `keras.Model` mapping images in [0, 255] to `(batch, features)`.
        augment: the augmentation: a layer, a preset name, or None for the method's default.
        **method_args: the method's constructor arguments, as plain values (lists
            are fine where tuples are expected). `method_arguments(name)` lists the
            ones a config may set; the layer-valued ones (`projection_head`, `head`)
            may be given here from Python too.

    Returns:
        The `PretextModel`, not compiled.

    Raises:
        ValueError: for an unknown method (a `keras_ssl.config.ConfigError`) or
            argument, before anything is built.

    Example:

    ```python
    encoder = keras_ssl.encoders.get("small_cnn")
    model = keras_ssl.pretext.get("simclr", encoder, temperature=0.2, projection_dims=[128, 64])
    ```
    """
    cls = METHODS.get(name)
    known = {p.name for p in _keyword_parameters(cls)}
    unknown = sorted(set(method_args) - known)
    if unknown:
        accepted = ", ".join(method_arguments(name)) or "none"
        raise ValueError(
            f"Unknown argument(s) for pretext method {name!r}: {', '.join(unknown)}. "
            f"It accepts: {accepted}."
        )
    return cls(encoder, augment=augment, **method_args)
