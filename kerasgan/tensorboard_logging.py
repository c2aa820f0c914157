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
        if self._writer is None:
            self._writer = open_writer(self.log_dir)
        step = epoch + 1
        write_scalars(self._writer, logs, step)
        path = None if self.samples_dir is None else self.samples_dir / f"epoch_{step:04d}.png"
        if path is not None and path.is_file():
            write_png(self._writer, "samples", path.read_bytes(), step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def open_writer(log_dir):
    """A summary file writer on `log_dir` (made if missing)."""
    import tensorflow as tf

    log_dir = pathlib.Path(log_dir)
    log_dir.mkdir(parents=True, exist_ok=True)
    return tf.summary.create_file_writer(str(log_dir))


def write_scalars(writer, logs, step, prefix=""):
    """Every numeric entry of `logs` as a TensorBoard scalar at `step`."""
    import tensorflow as tf

    with writer.as_default():
        for name, value in sorted((logs or {}).items()):
            try:
                number = float(np.asarray(value))
            except (TypeError, ValueError):
                continue
            tf.summary.write(prefix + name, tf.constant(number, tf.float32), step=int(step),
                             metadata=_metadata("scalars"))


def write_png(writer, name, png_bytes, step):
    """A PNG file's bytes as the TensorBoard image `name` at `step`."""
    import cv2
    import tensorflow as tf

    decoded = cv2.imdecode(np.frombuffer(png_bytes, np.uint8), cv2.IMREAD_UNCHANGED)
    height, width = decoded.shape[:2]
    with writer.as_default():
        tf.summary.write(name, tf.constant([str(width), str(height), png_bytes]), step=int(step),
                         metadata=_metadata("images"))


def write_image(writer, name, image, step):
    """A uint8 H x W [x 1|3] array (RGB) as the TensorBoard image `name` at `step`."""
    import cv2

    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise TypeError(f"image must be uint8, got {image.dtype}")
    if image.ndim == 3 and image.shape[-1] == 3:
        image = image[..., ::-1]  # OpenCV encodes BGR
    ok, encoded = cv2.imencode(".png", image)
    if not ok:
        raise ValueError(f"could not encode the image {name!r} of shape {image.shape} as PNG")
    write_png(writer, name, encoded.tobytes(), step)


class ScaleToTensorBoard(keras.callbacks.Callback):
    """SinGAN's per-scale fit: the losses every `every` iterations as scalars, with the step
    counted over the whole pyramid (scale * iterations + iteration), so the scales follow
    one another on one curve; `SinGAN.fit` adds the scale's samples when the scale ends."""

    def __init__(self, writer, scale, iterations, every=None):
        super().__init__()
        self.writer, self.scale, self.iterations = writer, int(scale), int(iterations)
        self.every = int(every or max(1, iterations // 50))
        self.next_report = self.every

    def on_train_batch_end(self, batch, logs=None):
        done = batch + 1
        if done >= self.next_report or done == self.iterations:
            self.next_report = done + self.every
            step = self.scale * self.iterations + done
            write_scalars(self.writer, dict(logs or {}, scale=self.scale), step)
            self.writer.flush()


class DrawnGridToTensorBoard(keras.callbacks.Callback):
    """Per epoch (step = epoch number, from 1): every numeric log as a scalar and, every
    `image_every` epochs and at the last, the uint8 image `draw(model)` as "samples". For
    fits that write no sample PNGs of their own (SynCGAN's conditional and mask GANs)."""

    def __init__(self, log_dir, draw, image_every=1):
        super().__init__()
        self.log_dir, self.draw, self.image_every = pathlib.Path(log_dir), draw, max(1, int(image_every))
        self._writer = None
        self._epochs = None

    def on_train_begin(self, logs=None):
        self._epochs = (self.params or {}).get("epochs")

    def on_epoch_end(self, epoch, logs=None):
        if self._writer is None:
            self._writer = open_writer(self.log_dir)
        step = epoch + 1
        write_scalars(self._writer, logs, step)
        if step % self.image_every == 0 or step == self._epochs or step == 1:
            write_image(self._writer, "samples", self.draw(self.model), step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def tensorboard_callbacks(log_dir, samples_dir=None):
    """The callbacks `train_gan(tensorboard_dir=...)` adds."""
    return [EpochsToTensorBoard(log_dir, samples_dir)]
