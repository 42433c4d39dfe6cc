"""SimSiam: the symmetric loss of its own outputs, and the paper's head shapes."""

import keras
import numpy as np

from keras_ssl import encoders, pretext


def _cosine(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.sum(a * b, axis=1).mean()


def test_loss_is_the_symmetric_negative_cosine_of_its_outputs():
    keras.utils.set_random_seed(0)
    model = pretext.get("simsiam", encoders.small_cnn((32, 32, 3), 8, 2), output_dim=16)
    images = np.random.default_rng(0).integers(0, 256, (8, 32, 32, 3)).astype("uint8")
    outputs = model(images)
    z, p = (np.array(outputs[key]) for key in ("z", "p"))
    expected = -0.5 * (_cosine(p[0], z[1]) + _cosine(p[1], z[0]))
    assert np.isclose(float(model.compute_loss(y_pred=outputs)), expected, rtol=1e-5)


def test_default_heads_follow_the_paper():
    model = pretext.get("simsiam", encoders.small_cnn((32, 32, 3), 8, 2))
    model(np.zeros((2, 32, 32, 3), "uint8"))
    assert model.projector.output_shape[-1] == 2048
    hidden = [layer for layer in model.predictor.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in hidden] == [512, 2048]  # bottleneck: a quarter
    assert pretext.method_arguments("simsiam") == {
        "output_dim": 2048, "hidden_dim": 2048, "predictor_hidden_dim": None,
    }  # fmt: skip
