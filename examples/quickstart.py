"""Quickstart: SimCLR pretraining on a folder of images, then 10 % of the labels, vs. no pretraining.

Run: .venv/bin/python examples/quickstart.py [PATH]   (PATH: a folder or .zip of class folders)
"""

import sys

import keras

import keras_ssl
from keras_ssl import data

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cifar10-train.zip"

# 1. Images from a folder or zip laid out as <class>/<image>; decoded lazily, bad files skipped.
# The test images are scored once, at the very end; model selection watches `val`.
images = data.load(path)
split = data.train_val_test_split(images.labels, val=0.1, test=0.2, seed=0)
train, val, test = (images.subset(split[name]) for name in ("train", "val", "test"))
unlabeled = train.subset(range(10_000))  # a slice keeps this demo short on a CPU


# 2. SimCLR pretraining with model.fit: the two augmented views are made on the device.
# A small CNN keeps the whole script near four minutes on a 2-core CPU; on a GPU use
# keras_ssl.encoders.mobilenet_v2(input_shape=(96, 96, 3)).
def small_encoder():
    return keras_ssl.encoders.small_cnn(input_shape=(32, 32, 3), width=32, depth=3)


model = keras_ssl.SimCLR(
    small_encoder(),
    keras_ssl.heads.projection_head(hidden_dim=256, output_dim=128),
    keras_ssl.augment.simclr_augment(image_size=32),
)
model.compile(optimizer=keras.optimizers.Adam(1e-3))
model.fit(data.pretraining_pipeline(unlabeled, batch_size=128, seed=0), epochs=5)
model.encoder.save("encoder.keras")

# 3. The same classifier on 10 % of the labels (class-balanced), from the pretrained
# encoder and from scratch, with the same recipe: every layer trainable, Adam 1e-3, at
# most 10 epochs, early stopping and LR schedule on the validation split.
ten_percent = train.subset(data.label_fraction(train.labels, fraction=0.10, seed=0))
labeled = data.finetuning_pipeline(ten_percent, batch_size=64, augment="light")
selection = data.finetuning_pipeline(val, batch_size=256, training=False)
settings = dict(num_classes=len(images.class_names), learning_rate=1e-3, epochs=10, seed=0)
pretrained = keras_ssl.finetune.finetune(
    keras.models.load_model("encoder.keras"), labeled, selection, recipe="full", **settings
)
scratch = keras_ssl.finetune.supervised_baseline(small_encoder, labeled, selection, **settings)

# 4. Both scored once on the held-out test images.
held_out = data.finetuning_pipeline(test, batch_size=256, training=False)
for name, result in (("pretrained", pretrained), ("from scratch", scratch)):
    accuracy = keras_ssl.evaluate.evaluate_classifier(result.model, held_out)["accuracy"]
    print(f"{name}: held-out accuracy with 10 % of the labels {accuracy:.3f}")
