"""SynCGAN pipeline (Dey et al., section 3): class-specific mask priors guide a conditional GAN.

    p_synthetic = E_{z ~ N(0, I)} [ G_cgan( G_mask_class(z) ) ]                 (eq. 7)

1. Unsupervised nucleus masks of the real images (section 3.2, `nucleus_masks`).
2. One conditional GAN mask -> RGB shared by all classes (section 3.3): pix2pix with a U-Net of
   bilinear x2 + 3x3 conv upsampling, PatchGAN on concat(mask, image), loss
   BCE + 100 * MSE; the generator kept is the one with the lowest generator loss on held-out
   validation pairs.
3. One mask GAN per class, noise -> mask (section 3.4, `MaskGAN`), with label smoothing and
   label flipping for the discriminator ("at some random iterations": a whole iteration's
   targets swapped with probability `flip_probability`, 0.05 by default; the paper gives none).
4. `generate(class, count)`: masks from that class's mask GAN, thresholded to binary, turned
   into RGB images by the conditional GAN; (image, mask) pairs match one to one.
"""

import io
import json
import pathlib
import shutil
import tempfile
import zipfile

import keras
import numpy as np
import tensorflow as tf

from kerasgan._args import check_float, check_int
from kerasgan.models.mask_gan import MaskGAN
from kerasgan.models.pix2pix import Pix2Pix, default_gan_optimizer
from kerasgan.networks.mask_generator import mask_generator
from kerasgan.networks.patchgan import patch_discriminator
from kerasgan.networks.unet import unet_generator
from kerasgan.syncgan.folders import prepare_images
from kerasgan.syncgan.masks import nucleus_masks

CONFIG_FILE = "syncgan.json"
CGAN_FILE = "cgan.keras"


def _mask_gan_file(index):
    return f"mask_gan_{index}.keras"


class BestGeneratorByValidationLoss(keras.callbacks.Callback):
    """Keep the generator weights of the epoch with the lowest validation generator loss.

    Validation generator loss is the paper's eq. 3 on held-out (mask, image) pairs:
    BCE(D(mask, G(mask)), 1) + lambda * MSE(G(mask), image). It is logged as `val_g_loss`; the
    best weights are restored into the generator when training ends (section 4.1: "the best
    model was saved based on minimum generator loss on the validation dataset").
    """

    def __init__(self, conditions, targets, batch_size=8):
        super().__init__()
        self.conditions = np.asarray(conditions, np.float32)
        self.targets = np.asarray(targets, np.float32)
        self.batch_size = int(batch_size)
        self.best_loss = np.inf
        self.best_epoch = None
        self.best_weights = None

    def validation_generator_loss(self):
        model = self.model
        total, count = 0.0, 0
        for start in range(0, len(self.conditions), self.batch_size):
            condition = self.conditions[start:start + self.batch_size]
            target = self.targets[start:start + self.batch_size]
            fake = model.generator(condition, training=False)
            logits = model.discriminator(model.discriminator_input(tf.constant(condition), fake), training=False)
            terms = model.generator_loss_terms(condition, target, fake, logits)
            total += float(np.sum(np.asarray(terms["total"])))
            count += len(condition)
        return total / count

    log_name = "val_g_loss"

    def score(self):
        """Lower is better; logged per epoch as `log_name`."""
        return self.validation_generator_loss()

    def on_epoch_end(self, epoch, logs=None):
        loss = self.score()
        if logs is not None:
            logs[self.log_name] = loss
        if loss < self.best_loss:
            self.best_loss, self.best_epoch = loss, epoch
            self.best_weights = [np.array(w) for w in self.model.generator.get_weights()]

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.generator.set_weights(self.best_weights)


class BestGeneratorByPatchFrechet(BestGeneratorByValidationLoss):
    """Keep the generator of the epoch whose images for the validation masks are closest to the
    validation images in 7x7 patch statistics (`kerasgan.metrics.realism.patch_frechet_distance`,
    weight-free). Not the paper's rule: on small sets the validation generator loss is lowest
    in the first epochs, while the discriminator is still weak, and so keeps an early, smooth
    generator (measured on the zoo's SYNTHETIC cytology: epoch 9 of 60, sharpness ratio 0.71);
    the patch statistic follows texture and colour instead. Logged as `val_patch_frechet`.
    """

    log_name = "val_patch_frechet"

    def score(self):
        from kerasgan.metrics.realism import patch_frechet_distance

        fakes = [np.asarray(self.model.generator(self.conditions[start:start + self.batch_size], training=False))
                 for start in range(0, len(self.conditions), self.batch_size)]
        fakes = np.clip(np.concatenate(fakes), -1.0, 1.0)
        return float(patch_frechet_distance(fakes, self.targets, value_range=(-1, 1)))


# SynCGAN.fit(cgan_selection=...): which epoch's conditional generator is kept.
CGAN_SELECTIONS = ("generator_loss", "patch_frechet", "last")


def _pair_dataset(conditions, targets, batch_size, augment, seed, shuffle=True):
    """(condition, target) batches in [-1, 1]; `augment`: the same random flip/rot90 on both."""
    dataset = tf.data.Dataset.from_tensor_slices((conditions, targets))
    if shuffle:
        dataset = dataset.shuffle(len(conditions), seed=seed, reshuffle_each_iteration=True)
    if augment:
        def dihedral(condition, target):
            stacked = tf.concat([condition, target], axis=-1)
            stacked = tf.image.random_flip_left_right(stacked)
            stacked = tf.image.random_flip_up_down(stacked)
            stacked = tf.image.rot90(stacked, tf.random.uniform([], 0, 4, tf.int32))
            channels = tf.shape(condition)[-1]
            return stacked[..., :channels], stacked[..., channels:]
        dataset = dataset.map(dihedral, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def _mask_dataset(masks, batch_size, augment, seed):
    dataset = tf.data.Dataset.from_tensor_slices(masks).shuffle(len(masks), seed=seed)
    if augment:
        def dihedral(mask):
            mask = tf.image.random_flip_left_right(mask)
            mask = tf.image.random_flip_up_down(mask)
            return tf.image.rot90(mask, tf.random.uniform([], 0, 4, tf.int32))
        dataset = dataset.map(dihedral, num_parallel_calls=tf.data.AUTOTUNE)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def check_masks(masks, labels=None, classes=None, name="masks", foreground=None, threshold=None):
    """Binary masks (N, H, W, 1) uint8 {0, 1} with foreground in every image; errors name the image.

    The masks are read by kerasgan's one mask rule (`kerasgan.data.masks.read_mask_values`,
    over the whole batch): 0 and one foreground value ({0, 1}, {0, 255}, {0, 127}, bool).
    Label images (1/2/3 ...) or soft masks are refused unless `foreground=(values...)` or
    `threshold=t` says what is foreground (`masks > 0` would make every label foreground).
    """
    from kerasgan.data.masks import read_mask_values

    masks = np.asarray(masks)
    if masks.ndim == 3:
        masks = masks[..., None]
    if masks.ndim != 4 or masks.shape[-1] != 1:
        raise ValueError(f"{name} must have shape (N, H, W, 1), got {masks.shape}")
    binary = read_mask_values(masks, name=name, foreground=foreground,
                              threshold=threshold).astype(np.uint8)[..., None]
    empty = np.flatnonzero(binary.reshape(len(binary), -1).max(axis=1) == 0)
    if len(empty):
        first = int(empty[0])
        which = f" (class {classes[labels[first]]!r})" if labels is not None and classes else ""
        raise ValueError(
            f"{name}[{first}]{which} is all background: no nucleus found ({len(empty)} such image(s), "
            f"indices {empty[:10].tolist()}). Check the image, or tune nucleus_masks(offset=..., "
            "block_size=...), or pass masks= yourself"
        )
    return binary


class SynCGAN:
    """Class-specific mask GANs + a shared mask -> RGB conditional GAN.

    Args:
        classes: class names, e.g. ["benign", "malignant"]; labels index this list.
        image_size: side S of the (square) images and masks; a multiple of 2**depth.
        filters: ngf of the conditional U-Net; `mask_filters` of the mask generators and
            `discriminator_filters` of all PatchGANs default to it.
        noise_channels: channels of the mask GANs' noise map z ~ N(0, I), (S, S, noise_channels).
        depth: U-Net depth (default log2(S)); n_layers: PatchGAN strided layers (3 = 70x70).
        norm: "batch" (pix2pix) or "instance".
        reconstruction_weight: lambda of the MSE term (100 in the paper).
        flip_probability: label-flip probability of the mask GANs' discriminators.
        label_smoothing: smooth the mask GANs' discriminator targets (U(0.9,1) / U(0,0.1)).
        learning_rate: Adam learning rate (beta_1 0.5) of every network.
        mask_options: keyword arguments of `nucleus_masks` used by `fit`.
        seed: seed of the data split, shuffling and noise.
    """

    def __init__(
        self,
        classes=("benign", "malignant"),
        image_size=256,
        filters=64,
        mask_filters=None,
        discriminator_filters=None,
        noise_channels=4,
        depth=None,
        n_layers=3,
        norm="batch",
        reconstruction_weight=100.0,
        flip_probability=0.05,
        label_smoothing=True,
        learning_rate=2e-4,
        mask_options=None,
        seed=0,
    ):
        if isinstance(classes, (str, bytes)) or not isinstance(classes, (list, tuple, np.ndarray)):
            # "ab" would silently become the classes ["a", "b"].
            raise TypeError(f"classes must be a list or tuple of class names, got "
                            f"{type(classes).__name__} {classes!r}")
        classes = [str(name) for name in classes]
        if not classes:
            raise ValueError("classes is empty; give at least one class name")
        if len(set(classes)) != len(classes):
            raise ValueError(f"classes has duplicate names: {classes}")
        self.config = {
            "classes": classes, "image_size": int(image_size), "filters": int(filters),
            "mask_filters": int(mask_filters or filters),
            "discriminator_filters": int(discriminator_filters or filters),
            "noise_channels": int(noise_channels), "depth": depth, "n_layers": int(n_layers),
            "norm": norm, "reconstruction_weight": float(reconstruction_weight),
            "flip_probability": float(flip_probability), "label_smoothing": bool(label_smoothing),
            "learning_rate": float(learning_rate), "mask_options": dict(mask_options or {}),
            "seed": int(seed),
        }
        self.history = {}
        self._build()

    # ---------------------------------------------------------------- construction
    @property
    def classes(self):
        return list(self.config["classes"])

    @property
    def image_size(self):
        return self.config["image_size"]

    def _build(self):
        c = self.config
        size = c["image_size"]
        generator = unet_generator(
            (size, size, 1), output_channels=3, filters=c["filters"], norm=c["norm"],
            upsampling="bilinear", depth=c["depth"], name="cgan_generator",
        )
        discriminator = patch_discriminator(
            (size, size, 4), filters=c["discriminator_filters"], n_layers=c["n_layers"],
            norm=c["norm"], conditional=True, name="cgan_discriminator",
        )
        self.cgan = Pix2Pix(
            generator, discriminator, gan_loss="bce", l1_weight=c["reconstruction_weight"],
            reconstruction_loss="mse", name="cgan",
        )
        self.mask_gans = {}
        for index, name in enumerate(c["classes"]):
            self.mask_gans[name] = MaskGAN(
                mask_generator(
                    size, noise_channels=c["noise_channels"], filters=c["mask_filters"],
                    norm=c["norm"], depth=c["depth"], name=f"mask_generator_{index}",
                ),
                patch_discriminator(
                    (size, size, 1), filters=c["discriminator_filters"], n_layers=c["n_layers"],
                    norm=c["norm"], conditional=False, name=f"mask_discriminator_{index}",
                ),
                label_smoothing=c["label_smoothing"], flip_probability=c["flip_probability"],
                seed=c["seed"] + index, name=f"mask_gan_{index}",
            )
        self.compile()

    def compile(self, learning_rate=None, **keras_kwargs):
        """(Re)create the Adam(lr, beta_1=0.5) optimizers of every GAN."""
        rate = learning_rate or self.config["learning_rate"]
        self.cgan.compile(default_gan_optimizer(rate), default_gan_optimizer(rate), **keras_kwargs)
        for gan in self.mask_gans.values():
            gan.compile(default_gan_optimizer(rate), default_gan_optimizer(rate), **keras_kwargs)

    # ---------------------------------------------------------------- data
    def _labels(self, labels, count):
        labels = np.asarray(labels)
        if labels.shape != (count,):
            raise ValueError(f"labels must have one entry per image: shape ({count},), got {labels.shape}")
        if labels.dtype.kind in "UO":
            unknown = sorted(set(labels.tolist()) - set(self.classes))
            if unknown:
                raise ValueError(f"labels contain unknown class names {unknown}; classes are {self.classes}")
            return np.asarray([self.classes.index(name) for name in labels], np.int32)
        if labels.dtype.kind not in "iu":
            raise TypeError(f"labels must be class indices (int) or class names (str), got dtype {labels.dtype}")
        if labels.min() < 0 or labels.max() >= len(self.classes):
            raise ValueError(f"labels must lie in [0, {len(self.classes) - 1}] (classes {self.classes}), "
                             f"got values in [{labels.min()}, {labels.max()}]")
        return labels.astype(np.int32)

    def prepare(self, images, labels, masks=None, mask_foreground=None):
        """Resize images, check labels, compute (or check) nucleus masks.

        Given masks are read by `check_masks` (0 and one foreground value; label images need
        `mask_foreground=(labels...)`) before any resizing.
        Returns images uint8 (N, S, S, 3), labels int32 (N,), masks uint8 (N, S, S, 1).
        """
        images = prepare_images(images, self.image_size)
        labels = self._labels(labels, len(images))
        for index, name in enumerate(self.classes):
            if not np.any(labels == index):
                raise ValueError(f"class {name!r} has no images among the labels")
        if masks is None:
            masks = nucleus_masks(images, **self.config["mask_options"])
        else:
            masks = np.asarray(masks)
            if masks.ndim == 3:
                masks = masks[..., None]
            if masks.shape[:1] != images.shape[:1]:
                raise ValueError(f"masks ({masks.shape[0]}) and images ({len(images)}) differ in number")
            masks = check_masks(masks, labels, self.classes, foreground=mask_foreground)
            if masks.shape[1:3] != (self.image_size, self.image_size):
                masks = np.stack([
                    (prepare_images(m[None] * 255, self.image_size)[0, ..., :1] > 127)
                    for m in masks
                ]).astype(np.uint8)
        masks = check_masks(masks, labels, self.classes)
        return images, labels, masks

    # ---------------------------------------------------------------- training
    def fit(
        self,
        images,
        labels,
        masks=None,
        mask_epochs=200,
        cgan_epochs=100,
        batch_size=8,
        mask_batch_size=None,
        validation_fraction=0.2,
        validation=None,
        augment=True,
        verbose="auto",
        callbacks=(),
        mask_foreground=None,
        tensorboard_dir=None,
        cgan_selection=None,
    ):
        """Train the conditional GAN and the class-specific mask GANs with Keras `fit`.

        Args:
            images: RGB images (N, H, W, 3) or a list of them (any size; resized to S).
            labels: (N,) class indices or names.
            masks: optional nucleus masks (N, H, W, 1): 0 and one foreground value ({0, 1},
                {0, 255}, bool; `kerasgan.data.masks`); default `nucleus_masks(images)`.
            mask_foreground: for label-image masks, the values that are foreground (others are
                background); without it a mask holding several values > 0 is refused.
            mask_epochs, cgan_epochs: epochs of each mask GAN and of the conditional GAN
                (paper: 1600 and 200).
            batch_size: batch of the conditional GAN; mask_batch_size of the mask GANs.
            validation_fraction: share of the pairs held out to pick the best CGAN epoch when no
                `validation` set is given.
            validation: (images, labels) or (images, labels, masks) of a separate validation
                split (the study's 3:1:1 split, as the paper's section 4.1): the best CGAN epoch
                is chosen on it and every training image trains. Its labels are checked only.
            augment: random flips and 90-degree rotations of the training pairs/masks
                (cytology has no preferred orientation).
            verbose: Keras verbosity (progress bars).
            callbacks: extra Keras callbacks for the conditional GAN.
            tensorboard_dir: also log each stage's epoch scalars and a sample grid to
                DIR/cgan (masks | images for 4 fixed masks) and DIR/mask_<class> (8 masks from
                fixed noise), about 100 grids per stage (`tensorboard --logdir DIR`).

            cgan_selection: which epoch's conditional generator is kept: "generator_loss" (the
                paper's section 4.1, lowest validation generator loss), "patch_frechet" (lowest
                7x7 patch Fréchet distance of G(validation masks) to the validation images; the
                zoo entry's choice, see `BestGeneratorByPatchFrechet`) or "last" (the final
                epoch). Both validation rules need validation pairs (`validation` or
                `validation_fraction` > 0); the default None is "generator_loss" when there are
                validation pairs and "last" when there are none.

        Returns:
            self.history: {"cgan": {...}, "mask_<class>": {...}} per-epoch logs.
        """
        if cgan_selection is not None and cgan_selection not in CGAN_SELECTIONS:
            raise ValueError(f"cgan_selection must be one of {', '.join(CGAN_SELECTIONS)}, got {cgan_selection!r}")
        mask_epochs = check_int(mask_epochs, "mask_epochs", minimum=0)
        cgan_epochs = check_int(cgan_epochs, "cgan_epochs", minimum=0)
        batch_size = check_int(batch_size, "batch_size")
        if mask_batch_size is not None:
            mask_batch_size = check_int(mask_batch_size, "mask_batch_size")
        validation_fraction = check_float(validation_fraction, "validation_fraction", minimum=0.0,
                                          inclusive=True, maximum=1.0, maximum_inclusive=False)
        images, labels, masks = self.prepare(images, labels, masks, mask_foreground)
        seed = self.config["seed"]
        conditions = masks.astype(np.float32) * 2.0 - 1.0
        targets = images.astype(np.float32) / 127.5 - 1.0
        rng = np.random.default_rng(seed)
        if validation is not None:
            if not isinstance(validation, (tuple, list)) or len(validation) not in (2, 3):
                raise ValueError("validation must be (images, labels) or (images, labels, masks)")
            val_images, _, val_masks = self.prepare(*validation, mask_foreground) if len(validation) == 3 \
                else self.prepare(validation[0], validation[1])
            val_conditions = val_masks.astype(np.float32) * 2.0 - 1.0
            val_targets = val_images.astype(np.float32) / 127.5 - 1.0
            train, held_out = np.arange(len(images)), len(val_images)
        else:
            order = rng.permutation(len(images))
            held_out = int(round(validation_fraction * len(images))) if len(images) > 1 else 0
            if validation_fraction > 0 and len(images) > 1:
                held_out = max(held_out, 1)
            carved, train = order[:held_out], order[held_out:]
            val_conditions, val_targets = conditions[carved], targets[carved]

        callbacks = list(callbacks)
        if tensorboard_dir is not None and cgan_epochs > 0:
            callbacks.append(_cgan_tensorboard(tensorboard_dir, conditions[train][:4], cgan_epochs))
        best = None
        if cgan_selection is None:
            cgan_selection = "generator_loss" if held_out else "last"
        selector = {"generator_loss": BestGeneratorByValidationLoss, "patch_frechet": BestGeneratorByPatchFrechet,
                    "last": None}[cgan_selection]
        if selector is not None and cgan_epochs > 0 and not held_out:
            raise ValueError(f"cgan_selection={cgan_selection!r} needs validation pairs: pass validation= "
                             "or validation_fraction > 0 (with more than one image), or cgan_selection='last'")
        if held_out and selector is not None:
            best = selector(val_conditions, val_targets, batch_size)
            callbacks.append(best)
        if cgan_epochs > 0:
            source = "validation pairs" if validation is not None else "held out"
            rule = {"generator_loss": "lowest validation generator loss",
                    "patch_frechet": "lowest validation patch Fréchet distance"}.get(cgan_selection)
            print(f"SynCGAN: conditional GAN mask -> image on {len(train)} pairs "
                  + (f"({held_out} {source} pick the epoch: {rule})" if best is not None else
                     "(the last epoch is kept)"))
            result = self.cgan.fit(
                _pair_dataset(conditions[train], targets[train], batch_size, augment, seed),
                epochs=cgan_epochs, verbose=verbose, callbacks=callbacks,
            )
            self.history["cgan"] = result.history
            self.history["cgan_selection"] = cgan_selection
            if best is not None:
                self.history["cgan_best_epoch"] = best.best_epoch
                # cgan_best_val_g_loss or cgan_best_val_patch_frechet
                self.history[f"cgan_best_{best.log_name}"] = best.best_loss

        for index, name in enumerate(self.classes):
            class_masks = conditions[labels == index]
            if mask_epochs > 0:
                print(f"SynCGAN: mask GAN for class {name!r} on {len(class_masks)} masks")
                mask_callbacks = [] if tensorboard_dir is None else [
                    _mask_gan_tensorboard(tensorboard_dir, name, self.mask_gans[name], mask_epochs)]
                result = self.mask_gans[name].fit(
                    _mask_dataset(class_masks, mask_batch_size or batch_size, augment, seed + index),
                    epochs=mask_epochs, verbose=verbose, callbacks=mask_callbacks,
                )
                self.history[f"mask_{name}"] = result.history
        return self.history

    # ---------------------------------------------------------------- generation
    def generate_masks(self, class_name, count, seed=None, batch_size=16):
        """`count` binary masks (count, S, S, 1) uint8 {0, 1} from the class's mask GAN."""
        count = check_int(count, "count")
        batch_size = check_int(batch_size, "batch_size")
        return self._mask_gan(class_name).generate(count, seed=seed, batch_size=batch_size)

    def images_from_masks(self, masks, batch_size=16, output="uint8", inference="deterministic"):
        """The conditional GAN's RGB images for binary masks (N, S, S, 1).

        `inference`: "deterministic" (inference mode) or "reference" (dropout on, batch
        statistics, as pix2pix's test.py; see `kerasgan.models.pix2pix.run_generator`).
        """
        masks = np.asarray(masks)
        if masks.ndim != 4 or masks.shape[1:] != (self.image_size, self.image_size, 1):
            raise ValueError(f"masks must have shape (N, {self.image_size}, {self.image_size}, 1), got {masks.shape}")
        from kerasgan.data.masks import read_mask_values

        # The one mask rule: label images are refused, not turned into all foreground.
        conditions = read_mask_values(masks, name="masks")[..., None].astype(np.float32) * 2.0 - 1.0
        if inference == "deterministic":
            images = self.cgan.generator.predict(conditions, batch_size=batch_size, verbose=0)
        else:
            images = self.cgan.generate(conditions, inference=inference, batch_size=batch_size)
        return _convert_output(images, output)

    def generate(self, class_name, count, seed=None, batch_size=16, output="uint8"):
        """Synthetic (image, mask) pairs of one class: G_cgan(G_mask_class(z)), eq. 7.

        Args:
            class_name: one of `classes` (or its index).
            count: number of pairs.
            seed: seed of the noise z (same seed, same pairs); None: fresh noise.
            output: "uint8" images in [0, 255] or "float" images float32 in [0, 1].

        Returns:
            images (count, S, S, 3) and masks (count, S, S, 1) uint8 in {0, 1}; images[i] is
            the conditional GAN's rendering of masks[i].
        """
        count = check_int(count, "count")
        batch_size = check_int(batch_size, "batch_size")
        masks = self.generate_masks(class_name, count, seed=seed, batch_size=batch_size)
        return self.images_from_masks(masks, batch_size=batch_size, output=output), masks

    def _mask_gan(self, class_name):
        if isinstance(class_name, (int, np.integer)) and 0 <= class_name < len(self.classes):
            class_name = self.classes[class_name]
        if class_name not in self.mask_gans:
            raise ValueError(f"unknown class {class_name!r}; classes are {self.classes}")
        return self.mask_gans[class_name]

    # ---------------------------------------------------------------- persistence
    def save(self, path):
        """Save the whole pipeline: a folder, or one zip file if `path` ends in .keras or .zip.

        Holds syncgan.json (configuration, training history), cgan.keras and one
        mask_gan_<i>.keras per class (architectures, weights, optimizer states).
        """
        path = pathlib.Path(path)
        with tempfile.TemporaryDirectory() as work:
            work = pathlib.Path(work)
            self._write_folder(work)
            if path.suffix in (".keras", ".zip"):
                path.parent.mkdir(parents=True, exist_ok=True)
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
                    for file in sorted(work.iterdir()):
                        archive.write(file, file.name)
                from kerasgan.data.image_io import atomic_write_bytes
                atomic_write_bytes(path, buffer.getvalue())
            else:
                path.mkdir(parents=True, exist_ok=True)
                for file in work.iterdir():
                    shutil.copy2(file, path / file.name)
        return path

    def _write_folder(self, folder):
        meta = {"format": "kerasgan.syncgan/1", "config": self.config, "history": _jsonable(self.history)}
        (folder / CONFIG_FILE).write_text(json.dumps(meta, indent=2))
        self.cgan.save(folder / CGAN_FILE)
        for index, name in enumerate(self.classes):
            self.mask_gans[name].save(folder / _mask_gan_file(index))

    @classmethod
    def load(cls, path):
        """Load a pipeline written by `save` (folder or single file)."""
        path = pathlib.Path(path)
        if not path.exists():
            raise FileNotFoundError(f"SynCGAN file or folder '{path}' does not exist")
        with tempfile.TemporaryDirectory() as work:
            folder = path
            if path.is_file():
                try:
                    with zipfile.ZipFile(path) as archive:
                        archive.extractall(work)
                except zipfile.BadZipFile as error:
                    raise ValueError(f"'{path}' is not a saved SynCGAN pipeline (not a zip archive)") from error
                folder = pathlib.Path(work)
            config_path = folder / CONFIG_FILE
            if not config_path.is_file():
                raise ValueError(f"'{path}' is not a saved SynCGAN pipeline: {CONFIG_FILE} is missing")
            meta = json.loads(config_path.read_text())
            pipeline = cls.__new__(cls)
            pipeline.config = meta["config"]
            pipeline.history = meta.get("history", {})
            from kerasgan.serialization import load_keras_model
            pipeline.cgan = load_keras_model(folder / CGAN_FILE)
            pipeline.mask_gans = {
                name: load_keras_model(folder / _mask_gan_file(index))
                for index, name in enumerate(pipeline.config["classes"])
            }
        return pipeline

    def networks(self):
        """{file stem: keras.Model} of every network (for weight export)."""
        models = {"cgan_generator": self.cgan.generator, "cgan_discriminator": self.cgan.discriminator}
        for index, name in enumerate(self.classes):
            models[f"mask_generator_{index}"] = self.mask_gans[name].generator
            models[f"mask_discriminator_{index}"] = self.mask_gans[name].discriminator
        return models

    def __repr__(self):
        return (f"SynCGAN(classes={self.classes}, image_size={self.image_size}, "
                f"filters={self.config['filters']})")


def _convert_output(images, output):
    images = np.clip((np.asarray(images, np.float32) + 1.0) * 0.5, 0.0, 1.0)
    if output == "float":
        return images
    if output == "uint8":
        return np.round(images * 255.0).astype(np.uint8)
    raise ValueError(f"output must be 'uint8' or 'float', got {output!r}")


def _jsonable(value):
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _to_uint8_rgb(images):
    """[-1, 1] float (N, H, W, C) -> uint8 RGB strip (H, N*W, 3)."""
    images = np.round((np.clip(np.asarray(images, np.float32), -1, 1) + 1) * 127.5).astype(np.uint8)
    if images.shape[-1] == 1:
        images = np.repeat(images, 3, axis=-1)
    return np.concatenate(list(images[..., :3]), axis=1)


def _cgan_tensorboard(log_dir, conditions, epochs):
    from kerasgan.tensorboard_logging import DrawnGridToTensorBoard

    conditions = np.asarray(conditions, np.float32)

    def draw(model):
        images = model.generator(conditions, training=False)
        return np.concatenate([_to_uint8_rgb(conditions), _to_uint8_rgb(images)], axis=0)

    return DrawnGridToTensorBoard(pathlib.Path(log_dir) / "cgan", draw, image_every=max(1, epochs // 100))


def _mask_gan_tensorboard(log_dir, class_name, mask_gan, epochs):
    from kerasgan.tensorboard_logging import DrawnGridToTensorBoard

    noise = np.random.default_rng(0).standard_normal((8,) + tuple(mask_gan.noise_shape)).astype(np.float32)

    def draw(model):
        masks = np.asarray(model.generator(noise, training=False)) > 0
        return _to_uint8_rgb(masks.astype(np.float32) * 2 - 1)

    return DrawnGridToTensorBoard(pathlib.Path(log_dir) / f"mask_{class_name}", draw,
                                  image_every=max(1, epochs // 100))
