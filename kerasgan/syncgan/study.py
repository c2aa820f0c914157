"""The SynCGAN augmentation study (Dey et al., section 4, Tables 2 and 3).

For each seed: split the real images 3:1:1 (train/validation/test, stratified), train SynCGAN
on the training split only, generate `synthetic_ratio` (2) synthetic images per training
image of each class, and train a classifier on

    Orig            the training split
    Orig+Prop       + SynCGAN images
    Orig+Trad       + traditionally augmented copies (random flips, rotation, Gaussian noise)
    Orig+Trad+Prop  + both
and, with `control=True` (Table 3), Prop (SynCGAN images only), GAN (a plain noise -> RGB GAN
of the same generator/discriminator design, no mask prior) and Orig+GAN.

The classifier kept is the epoch with the best validation accuracy; its test accuracy is
reported as mean +/- std over seeds. Traditional copies are made offline, as many as the
synthetic images, so Trad and Prop add the same number of images.
"""

import json
import pathlib
import time

import cv2
import keras
import numpy as np

TABLE2_SETTINGS = ("Orig", "Orig+Prop", "Orig+Trad", "Orig+Trad+Prop")
TABLE3_SETTINGS = ("Orig", "Prop", "Orig+Prop", "GAN", "Orig+GAN")
ALL_SETTINGS = ("Orig", "Orig+Prop", "Orig+Trad", "Orig+Trad+Prop", "Prop", "GAN", "Orig+GAN")

# keras.applications classifiers (the paper's ResNet-152, DenseNet-161 and Inception-V3; Keras
# has no DenseNet-161, so 121/169/201) and the minimum input side each accepts.
APPLICATIONS = {
    "resnet152": ("ResNet152", "resnet", 32),
    "densenet121": ("DenseNet121", "densenet", 32),
    "densenet169": ("DenseNet169", "densenet", 32),
    "densenet201": ("DenseNet201", "densenet", 32),
    "inceptionv3": ("InceptionV3", "inception_v3", 75),
}
CLASSIFIERS = ("small_cnn",) + tuple(APPLICATIONS)


# ---------------------------------------------------------------------------- classifiers
def small_cnn(image_size=64, num_classes=2, filters=16, blocks=4, dropout=0.3, name="small_cnn"):
    """A small CNN that trains in minutes on a CPU: [conv3x3-BN-ReLU-maxpool] x blocks -> GAP -> dense.

    Input: uint8-range RGB (0..255) images; output: class logits.
    """
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = keras.layers.Rescaling(1.0 / 127.5, offset=-1.0)(inputs)
    for block in range(blocks):
        width = filters * 2**block
        x = keras.layers.Conv2D(width, 3, padding="same", use_bias=False, name=f"block{block}_conv")(x)
        x = keras.layers.BatchNormalization(name=f"block{block}_norm")(x)
        x = keras.layers.ReLU(name=f"block{block}_relu")(x)
        x = keras.layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(dropout)(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def build_classifier(name="small_cnn", image_size=64, num_classes=2, weights=None):
    """A classifier by name: "small_cnn" or a keras.applications backbone with a new head.

    Args:
        name: one of CLASSIFIERS.
        weights: None (random init, works offline) or the path of a local ImageNet weights
            file *without top* for that backbone (e.g. resnet152_weights_tf_dim_ordering_tf_
            kernels_notop.h5). Nothing is downloaded.
    Input: RGB 0..255; the backbone's own `preprocess_input` is applied inside the model.
    Images smaller than the backbone's minimum (75 px for InceptionV3) are resized up.
    """
    key = name.lower().replace("-", "").replace("_", "") if name != "small_cnn" else name
    if key == "small_cnn":
        if weights is not None:
            raise ValueError("small_cnn has no pretrained weights; leave weights=None")
        return small_cnn(image_size, num_classes)
    if key not in APPLICATIONS:
        raise ValueError(f"unknown classifier {name!r}; choose from {CLASSIFIERS}")
    if weights is not None:
        if weights == "imagenet":
            raise ValueError("weights='imagenet' would download; pass the path of a local weights file")
        if not pathlib.Path(weights).is_file():
            raise FileNotFoundError(f"classifier weights file '{weights}' does not exist")
        weights = str(weights)
    application, module, minimum = APPLICATIONS[key]
    size = max(image_size, minimum)
    inputs = keras.Input((image_size, image_size, 3), name="image")
    x = inputs
    if size != image_size:
        x = keras.layers.Resizing(size, size, interpolation="bilinear")(x)
    x = getattr(keras.applications, module).preprocess_input(x)
    backbone = getattr(keras.applications, application)(
        include_top=False, weights=weights, input_shape=(size, size, 3), pooling="avg",
    )
    x = backbone(x)
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=key)


class _KeepBestByValidationAccuracy(keras.callbacks.Callback):
    """Restore the weights of the epoch with the best val_accuracy (ties: lower val_loss)."""

    def __init__(self):
        super().__init__()
        self.best = (-np.inf, -np.inf)
        self.weights = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        score = (logs.get("val_accuracy", 0.0), -logs.get("val_loss", 0.0))
        if score > self.best:
            self.best = score
            self.weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.weights is not None:
            self.model.set_weights(self.weights)


def train_classifier(
    name, train, validation, test, image_size, num_classes, epochs=30, batch_size=16,
    learning_rate=1e-3, weights=None, seed=0, verbose=0,
):
    """Train on (x, y) `train`, keep the best validation epoch, return its test accuracy."""
    keras.utils.set_random_seed(seed)
    model = build_classifier(name, image_size, num_classes, weights)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    keeper = _KeepBestByValidationAccuracy()
    model.fit(
        train[0], train[1], validation_data=validation, epochs=epochs, batch_size=batch_size,
        shuffle=True, callbacks=[keeper], verbose=verbose,
    )
    _, accuracy = model.evaluate(test[0], test[1], batch_size=64, verbose=0)
    return float(accuracy), float(keeper.best[0])


# ---------------------------------------------------------------------------- data
def traditional_augmentation(images, copies=2, max_rotation=180.0, noise_std=8.0, seed=0):
    """`copies` augmented versions of each uint8 RGB image: random horizontal/vertical flips,
    a random rotation in [-max_rotation, max_rotation] degrees (reflected border) and
    Gaussian noise of std `noise_std` gray levels. Returns (N * copies, H, W, 3) uint8,
    copies of image i at rows i*copies ... i*copies + copies - 1."""
    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must have shape (N, H, W, 3), got {images.shape}")
    rng = np.random.default_rng(seed)
    height, width = images.shape[1:3]
    center = (width / 2.0, height / 2.0)
    out = np.empty((len(images) * copies,) + images.shape[1:], np.uint8)
    row = 0
    for image in images:
        for _ in range(copies):
            augmented = image
            if rng.random() < 0.5:
                augmented = augmented[:, ::-1]
            if rng.random() < 0.5:
                augmented = augmented[::-1]
            matrix = cv2.getRotationMatrix2D(center, rng.uniform(-max_rotation, max_rotation), 1.0)
            augmented = cv2.warpAffine(
                np.ascontiguousarray(augmented), matrix, (width, height),
                flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101,
            ).astype(np.float32)
            augmented += rng.normal(0.0, noise_std, augmented.shape)
            out[row] = np.clip(np.round(augmented), 0, 255).astype(np.uint8)
            row += 1
    return out


def split_3_1_1(labels, seed=0):
    """Stratified train/validation/test indices in the ratio 3:1:1 (per class)."""
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    train, validation, test = [], [], []
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        if len(members) < 5:
            raise ValueError(
                f"class {value} has {len(members)} image(s); the 3:1:1 split needs at least 5 per class"
            )
        n_validation = int(round(len(members) / 5))
        n_test = int(round(len(members) / 5))
        validation.extend(members[:n_validation])
        test.extend(members[n_validation:n_validation + n_test])
        train.extend(members[n_validation + n_test:])
    return np.sort(train), np.sort(validation), np.sort(test)


def _plain_gan_images(images, labels, classes, counts, image_size, options, epochs, seed, verbose):
    """Table 3 control: per class, a noise -> RGB GAN of the mask GAN's design, no mask prior."""
    from kerasgan.models.mask_gan import MaskGAN
    from kerasgan.models.pix2pix import default_gan_optimizer
    from kerasgan.networks.mask_generator import mask_generator
    from kerasgan.networks.patchgan import patch_discriminator
    from kerasgan.syncgan.pipeline import _mask_dataset

    generated = {}
    for index, name in enumerate(classes):
        gan = MaskGAN(
            mask_generator(image_size, noise_channels=options.get("noise_channels", 4), output_channels=3,
                           filters=options.get("mask_filters") or options.get("filters", 64),
                           name=f"rgb_generator_{index}"),
            patch_discriminator((image_size, image_size, 3), filters=options.get("discriminator_filters")
                                or options.get("filters", 64), conditional=False,
                                name=f"rgb_discriminator_{index}"),
            flip_probability=options.get("flip_probability", 0.05), seed=seed + index,
        )
        rate = options.get("learning_rate", 2e-4)
        gan.compile(default_gan_optimizer(rate), default_gan_optimizer(rate))
        real = images[labels == index].astype(np.float32) / 127.5 - 1.0
        print(f"study: plain GAN (no mask prior) for class {name!r} on {len(real)} images")
        gan.fit(_mask_dataset(real, options.get("batch_size", 8), True, seed + index), epochs=epochs, verbose=verbose)
        rng = np.random.default_rng(seed + 1000 + index)
        noise = rng.standard_normal((counts[index],) + gan.noise_shape).astype(np.float32)
        fake = gan.generator.predict(noise, batch_size=16, verbose=0)
        generated[index] = np.round(np.clip((fake + 1.0) * 127.5, 0, 255)).astype(np.uint8)
    return generated


# ---------------------------------------------------------------------------- study
def run_study(
    images,
    labels,
    classes,
    classifiers=("small_cnn",),
    seeds=(0, 1, 2),
    image_size=64,
    synthetic_ratio=2,
    control=True,
    syncgan_options=None,
    mask_epochs=60,
    cgan_epochs=30,
    gan_epochs=None,
    classifier_epochs=25,
    classifier_batch_size=16,
    classifier_weights=None,
    out_dir=None,
    verbose=0,
):
    """Run the augmentation study; returns a dict of per-seed accuracies, means and stds.

    Args:
        images: (N, S, S, 3) uint8 RGB (e.g. from `load_image_folders`); labels (N,) int.
        classes: class names (labels index them).
        classifiers: names from CLASSIFIERS ("small_cnn" default; "resnet152", "densenet121",
            "densenet169", "densenet201", "inceptionv3").
        seeds: one split + SynCGAN + classifiers per seed.
        synthetic_ratio: synthetic training images per real training image (2 in the paper).
        control: also run Table 3 (Prop, GAN, Orig+GAN).
        syncgan_options: keyword arguments of `SynCGAN` (filters, noise_channels, ...) plus
            "batch_size".
        mask_epochs, cgan_epochs: SynCGAN training; gan_epochs: plain GAN (default mask_epochs).
        classifier_epochs, classifier_batch_size: classifier training (best validation epoch kept).
        classifier_weights: {classifier name: local weights path} or None.
        out_dir: if given, writes study.json, study.md (tables), study.png (bar chart) and
            a grid of synthetic samples per class of the first seed.
    """
    from kerasgan.syncgan.folders import prepare_images
    from kerasgan.syncgan.pipeline import SynCGAN

    images = prepare_images(images, image_size)
    labels = np.asarray(labels, np.int32)
    classes = list(classes)
    if len(classes) < 2:
        raise ValueError(f"the study needs at least two classes, got {classes}")
    for classifier in classifiers:
        key = classifier if classifier == "small_cnn" else classifier.lower().replace("-", "").replace("_", "")
        if key != "small_cnn" and key not in APPLICATIONS:
            raise ValueError(f"unknown classifier {classifier!r}; choose from {CLASSIFIERS}")
    options = dict(syncgan_options or {})
    batch_size = options.pop("batch_size", 8)
    gan_epochs = mask_epochs if gan_epochs is None else gan_epochs
    settings = ALL_SETTINGS if control else TABLE2_SETTINGS
    weights = dict(classifier_weights or {})
    out = pathlib.Path(out_dir) if out_dir is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    accuracy = {c: {s: [] for s in settings} for c in classifiers}
    timing = {"syncgan_seconds": [], "plain_gan_seconds": [], "classifier_seconds": []}
    started = time.perf_counter()
    for seed in seeds:
        train, validation, test = split_3_1_1(labels, seed)
        x_train, y_train = images[train], labels[train]
        counts = [synthetic_ratio * int(np.sum(y_train == k)) for k in range(len(classes))]
        print(f"study seed {seed}: {len(train)} train / {len(validation)} validation / {len(test)} test; "
              f"synthetic per class {counts}")

        clock = time.perf_counter()
        pipeline = SynCGAN(classes=classes, image_size=image_size, seed=seed, **options)
        # the CGAN's best epoch is chosen on the study's own validation split (section 4.1)
        pipeline.fit(x_train, y_train, mask_epochs=mask_epochs, cgan_epochs=cgan_epochs,
                     batch_size=batch_size, validation=(images[validation], labels[validation]),
                     verbose=verbose)
        proposed = {k: pipeline.generate(k, counts[k], seed=seed)[0] for k in range(len(classes))}
        timing["syncgan_seconds"].append(time.perf_counter() - clock)
        if out is not None and seed == seeds[0]:
            _save_samples(out / "synthetic_samples.png", x_train, y_train, proposed, pipeline)

        gan = None
        if control:
            clock = time.perf_counter()
            gan = _plain_gan_images(x_train, y_train, classes, counts, image_size,
                                    {**options, "batch_size": batch_size}, gan_epochs, seed, verbose)
            timing["plain_gan_seconds"].append(time.perf_counter() - clock)

        traditional = traditional_augmentation(x_train, copies=synthetic_ratio, seed=seed)
        y_traditional = np.repeat(y_train, synthetic_ratio)
        prop_x = np.concatenate([proposed[k] for k in range(len(classes))])
        prop_y = np.concatenate([np.full(counts[k], k, np.int32) for k in range(len(classes))])
        parts = {"Orig": (x_train, y_train), "Prop": (prop_x, prop_y), "Trad": (traditional, y_traditional)}
        if gan is not None:
            parts["GAN"] = (np.concatenate([gan[k] for k in range(len(classes))]), prop_y)

        for setting in settings:
            xs, ys = zip(*(parts[piece] for piece in setting.split("+")))
            x, y = np.concatenate(xs), np.concatenate(ys)
            for classifier in classifiers:
                clock = time.perf_counter()
                test_accuracy, _ = train_classifier(
                    classifier, (x, y), (images[validation], labels[validation]),
                    (images[test], labels[test]), image_size, len(classes),
                    epochs=classifier_epochs, batch_size=classifier_batch_size,
                    weights=weights.get(classifier), seed=seed, verbose=verbose,
                )
                timing["classifier_seconds"].append(time.perf_counter() - clock)
                accuracy[classifier][setting].append(test_accuracy)
                print(f"  seed {seed} {classifier:12s} {setting:15s} train {len(x):4d}  "
                      f"test accuracy {100 * test_accuracy:.2f}")

    results = {
        "classes": classes, "seeds": list(seeds), "image_size": image_size,
        "synthetic_ratio": synthetic_ratio, "settings": list(settings),
        "classifiers": list(classifiers), "accuracy": accuracy,
        "mean": {c: {s: float(np.mean(v)) for s, v in accuracy[c].items()} for c in classifiers},
        "std": {c: {s: float(np.std(v)) for s, v in accuracy[c].items()} for c in classifiers},
        "config": {"mask_epochs": mask_epochs, "cgan_epochs": cgan_epochs, "gan_epochs": gan_epochs,
                   "classifier_epochs": classifier_epochs, "syncgan_options": {**options, "batch_size": batch_size}},
        "timing": {**{k: [round(v, 1) for v in vals] for k, vals in timing.items()},
                   "total_seconds": round(time.perf_counter() - started, 1)},
        "data_size": int(len(images)),
    }
    if out is not None:
        (out / "study.json").write_text(json.dumps(results, indent=2))
        (out / "study.md").write_text(format_table(results) + "\n")
        plot_study(results, out / "study.png")
    return results


def format_table(results):
    """Markdown tables in the paper's layout (Table 2 and, if run, Table 3): mean +/- std (%)."""
    lines = []
    n = len(results["seeds"])
    for title, columns in (("Table 2", TABLE2_SETTINGS), ("Table 3", TABLE3_SETTINGS)):
        columns = [c for c in columns if c in results["settings"]]
        if title == "Table 3" and "GAN" not in columns:
            continue
        lines.append(f"{title}: test accuracy (%), mean ± std over {n} seed(s)")
        lines.append("")
        lines.append("| Classifier | " + " | ".join(columns) + " |")
        lines.append("|---|" + "---|" * len(columns))
        for classifier in results["classifiers"]:
            cells = [f"{100 * results['mean'][classifier][s]:.2f} ± {100 * results['std'][classifier][s]:.2f}"
                     for s in columns]
            lines.append(f"| {classifier} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines).rstrip()


def plot_study(results, path):
    """Bar chart of test accuracy per setting (error bars: std over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    settings = results["settings"]
    classifiers = results["classifiers"]
    width = 0.8 / len(classifiers)
    figure, axis = plt.subplots(figsize=(1.2 * len(settings) + 2, 4))
    for index, classifier in enumerate(classifiers):
        positions = np.arange(len(settings)) + (index - (len(classifiers) - 1) / 2) * width
        means = [100 * results["mean"][classifier][s] for s in settings]
        stds = [100 * results["std"][classifier][s] for s in settings]
        axis.bar(positions, means, width, yerr=stds, capsize=3, label=classifier)
    axis.set_xticks(np.arange(len(settings)))
    axis.set_xticklabels(settings, rotation=20)
    axis.set_ylabel("test accuracy (%)")
    axis.set_ylim(0, 100)
    axis.set_title(f"SynCGAN augmentation study ({len(results['seeds'])} seeds)")
    axis.legend()
    figure.tight_layout()
    from kerasgan.figures import save_figure

    return save_figure(figure, path)


def _save_samples(path, real_images, real_labels, proposed, pipeline, per_class=6):
    """Grid: per class, a row of real images, of synthetic images and of their masks."""
    from kerasgan.data.image_io import write_image

    rows = []
    for index in range(len(pipeline.classes)):
        real = real_images[real_labels == index][:per_class]
        fake = proposed[index][:per_class]
        masks = pipeline.generate_masks(index, len(fake), seed=0)
        width = min(len(real), len(fake))
        rows.append(np.concatenate(list(real[:width]), axis=1))
        rows.append(np.concatenate(list(fake[:width]), axis=1))
        rows.append(np.concatenate([np.repeat(m * 255, 3, -1) for m in masks[:width]], axis=1))
    width = min(r.shape[1] for r in rows)
    write_image(path, np.concatenate([r[:, :width] for r in rows], axis=0))

