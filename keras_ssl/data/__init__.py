"""Data sets, image folders, label fractions and `tf.data` pipelines.

Every source returns an `ImageSet` (uint8 RGB images, labels, class names):

>>> from keras_ssl import data
>>> train = data.load("cifar10-train.zip")                      # a folder or zip
>>> stl = data.load("stl10", split="unlabelled")                # or a catalogue name
>>> split = data.train_val_test_split(train.labels, test=10_000, seed=0)
>>> labelled = train.subset(split["train"])
>>> one_percent = labelled.subset(data.label_fraction(labelled.labels, 0.01, seed=0))
>>> pretrain = data.pretraining_pipeline(train.subset(split["train"]), 256)
>>> finetune = data.finetuning_pipeline(one_percent, 64, augment="light")
"""

# Names load on first use (keras_ssl._lazy): `keras_ssl.data.splits` is pure NumPy and
# is read by the `keras-ssl` command's argument checks without importing TensorFlow.
from keras_ssl._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    attributes={
        "catalog": [
            "CIFAR10_CLASS_NAMES",
            "available_datasets",
            "gaussian_noise",
            "is_multi_label_dataset",
            "load",
            "load_dataset",
            "register_dataset",
        ],
        "config": ["DataConfig"],
        "files": ["IMAGE_EXTENSIONS", "ImageFiles", "SkippedFilesWarning"],
        "folders": ["load_image_folder", "load_tiny_imagenet"],
        "imageset": ["ImageSet"],
        "pipelines": ["finetuning_pipeline", "light_augment", "pretraining_pipeline"],
        "sources": [
            "attributes_from_classes",
            "check_source",
            "class_indices",
            "load_images",
            "strata",
            "subsample",
        ],
        "splits": [
            "UMEA_FRACTIONS",
            "label_fraction",
            "load_split",
            "save_split",
            "train_val_test_split",
        ],
    },
)
del attach
