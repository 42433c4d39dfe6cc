"""Quickstart: SimCLR pretraining on a folder of images, then fine-tuning with 10 % of the labels.

Run: .venv/bin/python examples/quickstart.py [PATH]   (PATH: a folder or .zip of class folders)
"""

import sys

import keras

import keras_ssl
from keras_ssl import data

path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/cifar10-train.zip"

# 1. Images from a folder or zip laid out as <class>/<image>; decoded lazily, bad files skipped.
images = data.load(path)
split = data.train_val_test_split(images.labels, test=0.2, seed=0)
train, test = images.subset(split["train"]), images.subset(split["test"])
unlabeled = train.subset(range(10_000))  # a slice keeps this demo short on a CPU

# 2. SimCLR pretraining with model.fit: the two augmented views are made on the device.
# A small CNN keeps the whole script near three minutes on a 2-core CPU; on a GPU use
# keras_ssl.encoders.mobilenet_v2(input_shape=(96, 96, 3)) and the Umeå recipe below.
encoder = keras_ssl.encoders.small_cnn(input_shape=(32, 32, 3), width=32, depth=3)
model = keras_ssl.SimCLR(
    encoder,
    keras_ssl.heads.projection_head(hidden_dim=256, output_dim=128),
    keras_ssl.augment.simclr_augment(image_size=32),
    temperature=0.2,
)
model.compile(optimizer=keras.optimizers.Adam(1e-3))
model.fit(data.pretraining_pipeline(unlabeled, batch_size=128, seed=0), epochs=5)
model.encoder.save("encoder.keras")

# 3. Fine-tune on 10 % of the labels (class-balanced): the Umeå recipe (Dropout 0.5 head,
# early stopping on the held-out accuracy, LR reduced on plateau), here with all layers
# trainable, Adam 1e-3 and at most 10 epochs.
ten_percent = train.subset(data.label_fraction(train.labels, fraction=0.10, seed=0))
result = keras_ssl.finetune.finetune(
    keras.models.load_model("encoder.keras"),
    data.finetuning_pipeline(ten_percent, batch_size=64, augment="light"),
    data.finetuning_pipeline(test, batch_size=256, training=False),
    num_classes=len(images.class_names),
    recipe="umea",
    freeze_first=0,
    learning_rate=1e-3,
    epochs=10,
)
print(f"held-out accuracy with 10 % of the labels: {result.val_metrics['accuracy']:.3f}")
