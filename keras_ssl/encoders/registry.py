"""Name → builder registry, so configs and the CLI can say `encoder: mobilenet_v2`."""

from __future__ import annotations

from collections.abc import Callable

import keras

_BUILDERS: dict[str, Callable[..., keras.Model]] = {}


def register(name: str):
    """Decorator that makes an encoder builder available as `get(name)`.

    Example:

    ```python
    @keras_ssl.encoders.register("my_net")
    def my_net(input_shape=(96, 96, 3), **kwargs):
        ...
    ```
    """

    def decorator(builder):
        if name in _BUILDERS and _BUILDERS[name] is not builder:
            raise ValueError(f"An encoder named {name!r} is already registered.")
        _BUILDERS[name] = builder
        return builder

    return decorator


def available() -> list[str]:
    """Names of the registered encoder builders, sorted."""
    return sorted(_BUILDERS)


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
    if name not in _BUILDERS:
        raise ValueError(f"Unknown encoder {name!r}. Available encoders: {', '.join(available())}.")
    return _BUILDERS[name](**kwargs)
