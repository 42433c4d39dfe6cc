"""Data sets, image folders, label fractions and `tf.data` pipelines.

Every source returns an `ImageSet` (uint8 RGB images, labels, class names):

>>> from keras_ssl import data
>>> train = data.load("../shared/data/cifar10-train.zip")      # a folder or zip
>>> stl = data.load("stl10", split="unlabelled")                # or a catalogue name
>>> split = data.train_val_test_split(train.labels, test=10_000, seed=0)
>>> labelled = train.subset(split["train"])
>>> one_percent = labelled.subset(data.label_fraction(labelled.labels, 0.01, seed=0))
>>> pretrain = data.pretraining_pipeline(train.subset(split["train"]), 256)
>>> finetune = data.finetuning_pipeline(one_percent, 64, augment="light")
"""

from keras_ssl.data.catalog import (
    CIFAR10_CLASS_NAMES,
    available_datasets,
    load,
    load_dataset,
    register_dataset,
)
from keras_ssl.data.files import IMAGE_EXTENSIONS, ImageFiles, SkippedFilesWarning
from keras_ssl.data.folders import load_image_folder, load_tiny_imagenet
from keras_ssl.data.imageset import ImageSet
from keras_ssl.data.pipelines import finetuning_pipeline, light_augment, pretraining_pipeline
from keras_ssl.data.splits import (
    UMEA_FRACTIONS,
    label_fraction,
    load_split,
    save_split,
    train_val_test_split,
)

__all__ = [
    "CIFAR10_CLASS_NAMES",
    "IMAGE_EXTENSIONS",
    "UMEA_FRACTIONS",
    "ImageFiles",
    "ImageSet",
    "SkippedFilesWarning",
    "available_datasets",
    "finetuning_pipeline",
    "label_fraction",
    "light_augment",
    "load",
    "load_dataset",
    "load_image_folder",
    "load_split",
    "load_tiny_imagenet",
    "pretraining_pipeline",
    "register_dataset",
    "save_split",
    "train_val_test_split",
]
