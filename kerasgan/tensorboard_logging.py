"""Watch a GAN train in TensorBoard: each epoch's scalars and its sample grid.

    train_gan(model, data, "runs/p2p", epochs, tensorboard_dir="runs/p2p/tensorboard")
    pip install tensorboard && tensorboard --logdir runs/p2p/tensorboard

TensorFlow 2.21 no longer installs the `tensorboard` package, and without it `tf.summary.scalar`
/ `tf.summary.image` and Keras's TensorBoard callback raise TBNotInstalledError. TensorFlow's
core still has the writer (`tf.summary.create_file_writer`, `tf.summary.write`), so this module
writes the two summary kinds TensorBoard reads, by hand: a scalar (plugin "scalars", a float32
tensor) and an image (plugin "images", the string tensor [width, height, PNG]). Training needs
no extra package; only viewing the logs needs `pip install tensorboard`.
"""

import pathlib

import keras
import numpy as np


def _metadata(plugin):
    from tensorflow.core.framework import summary_pb2

    metadata = summary_pb2.SummaryMetadata()
    metadata.plugin_data.plugin_name = plugin
    return metadata.SerializeToString()


class EpochsToTensorBoard(keras.callbacks.Callback):
    """Per epoch (step = epoch number, from 1): every numeric log as a scalar, and
    `samples_dir/epoch_NNNN.png` (the grid `train_gan` writes earlier in the same epoch end)
    as the image "samples"."""

    def __init__(self, log_dir, samples_dir=None):
        super().__init__()
        self.log_dir = pathlib.Path(log_dir)
        self.samples_dir = None if samples_dir is None else pathlib.Path(samples_dir)
        self._writer = None

    def on_epoch_end(self, epoch, logs=None):
        import tensorflow as tf

        if self._writer is None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._writer = tf.summary.create_file_writer(str(self.log_dir))
        step = epoch + 1
        with self._writer.as_default():
            for name, value in sorted((logs or {}).items()):
                try:
                    number = float(np.asarray(value))
                except (TypeError, ValueError):
                    continue
                tf.summary.write(name, tf.constant(number, tf.float32), step=step,
                                 metadata=_metadata("scalars"))
            path = None if self.samples_dir is None else self.samples_dir / f"epoch_{step:04d}.png"
            if path is not None and path.is_file():
                from kerasgan.data.image_io import read_image

                height, width = read_image(path).shape[:2]
                tensor = tf.constant([str(width), str(height), path.read_bytes()])
                tf.summary.write("samples", tensor, step=step, metadata=_metadata("images"))
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def tensorboard_callbacks(log_dir, samples_dir=None):
    """The callbacks `train_gan(tensorboard_dir=...)` adds."""
    return [EpochsToTensorBoard(log_dir, samples_dir)]
