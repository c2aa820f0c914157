"""SYNTHETIC FNAC-like cytology images with ground-truth nucleus masks (for tests, tutorial, zoo).

Nothing here is patient data. Each image is a Pap-stained smear seen at 40x, drawn from
simple shapes: a pale, slowly varying background, cells (cytoplasm + one nucleus), and red
blood cells. Benign and malignant cells differ the way cytopathologists describe
malignancy in FNAC smears:

=====================  =======================  =================================
feature                benign                   malignant
=====================  =======================  =================================
nuclear size           small, uniform           enlarged, varied (anisonucleosis)
nuclear shape          round/oval, smooth       irregular outline (pleomorphism)
chromatin              pale, fine               dark (hyperchromasia), coarse
nucleus / cytoplasm    low (abundant cytoplasm) high (scant cytoplasm)
arrangement            scattered                crowded groups
=====================  =======================  =================================

`render_cytology` returns uint8 RGB images, binary nucleus masks (the visible nuclei) and
integer labels (0 = benign, 1 = malignant).
"""

import math

import cv2
import numpy as np

from kerasgan._args import check_int

CLASS_NAMES = ("benign", "malignant")

# Per-class appearance. Sizes are in pixels at 256 px and scale with the image size.
CLASS_STYLES = {
    "benign": {
        "cells": (7, 12),
        "nucleus_radius": (7.0, 9.5),
        "cytoplasm_scale": (2.4, 3.0),      # cytoplasm radius / nucleus radius (low N/C)
        "irregularity": (0.01, 0.05),       # amplitude of the outline's harmonics
        "elongation": (0.8, 1.0),
        "nucleus_rgb": (118, 88, 165),      # pale violet chromatin
        "chromatin_texture": (0.05, 2.0),   # (amplitude, blob size in px at 256)
        "cluster_spread": 0.42,             # cells spread over this fraction of the field
    },
    "malignant": {
        "cells": (7, 12),
        "nucleus_radius": (12.0, 19.0),
        "cytoplasm_scale": (1.35, 1.7),     # scant cytoplasm (high N/C)
        "irregularity": (0.06, 0.14),
        "elongation": (0.55, 1.0),
        "nucleus_rgb": (72, 42, 118),       # hyperchromatic
        "chromatin_texture": (0.16, 4.0),   # coarse, clumped
        "cluster_spread": 0.3,
    },
}

BACKGROUND_RGB = (232, 222, 234)
CYTOPLASM_RGB = (206, 178, 214)
RED_CELL_RGB = (214, 96, 108)


def _outline(center, radius, irregularity, elongation, angle, rng, points=48):
    """Closed polygon: an ellipse whose radius has random low harmonics (shape irregularity)."""
    theta = np.linspace(0.0, 2.0 * math.pi, points, endpoint=False)
    r = np.ones_like(theta)
    for harmonic in (2, 3, 4, 5):
        r += irregularity * rng.uniform(0.3, 1.0) * np.cos(harmonic * theta + rng.uniform(0, 2 * math.pi))
    x = radius * r * np.cos(theta)
    y = radius * elongation * r * np.sin(theta)
    cos, sin = math.cos(angle), math.sin(angle)
    xs = center[0] + cos * x - sin * y
    ys = center[1] + sin * x + cos * y
    # Sub-pixel vertices (cv2 shift=4) give smooth outlines even at 64 px.
    return np.round(np.stack([xs, ys], axis=1) * 16).astype(np.int32)


def _coverage(size, polygons):
    """Anti-aliased coverage in [0, 1] of a list of polygons."""
    coverage = np.zeros((size, size), np.uint8)
    canvas = np.zeros((size, size), np.uint8)
    # One polygon at a time: fillPoly on a list XORs where polygons overlap.
    for polygon in polygons:
        canvas[:] = 0
        cv2.fillPoly(canvas, [polygon], 255, lineType=cv2.LINE_AA, shift=4)
        np.maximum(coverage, canvas, out=coverage)
    return coverage.astype(np.float32) / 255.0


def _smooth_noise(size, blob, rng):
    """Zero-mean, unit-std Gaussian noise low-passed to blobs of about `blob` pixels."""
    noise = rng.standard_normal((size, size)).astype(np.float32)
    if blob > 0.5:
        noise = cv2.GaussianBlur(noise, (0, 0), blob)
    return noise / (noise.std() + 1e-6)


def _paint(image, coverage, rgb):
    image *= 1.0 - coverage[..., None]
    image += coverage[..., None] * rgb


def render_one(label, image_size, rng):
    """One image (H, W, 3) uint8 and its nucleus mask (H, W) uint8 in {0, 1}."""
    style = CLASS_STYLES[CLASS_NAMES[label]]
    scale = image_size / 256.0
    size = image_size
    shade = 1.0 + 0.04 * _smooth_noise(size, 40 * scale, rng)[..., None]
    image = np.ones((size, size, 3), np.float32) * np.array(BACKGROUND_RGB, np.float32) * shade

    cell_count = rng.integers(style["cells"][0], style["cells"][1] + 1)
    spread = style["cluster_spread"] * size
    group = rng.uniform(0.35 * size, 0.65 * size, size=2)
    centers = group + rng.normal(0.0, spread / 2.0, size=(cell_count, 2))
    centers = np.clip(centers, 0.05 * size, 0.95 * size)

    nuclei, cytoplasm = [], []
    for center in centers:
        radius = rng.uniform(*style["nucleus_radius"]) * scale
        elongation = rng.uniform(*style["elongation"])
        angle = rng.uniform(0, math.pi)
        nuclei.append(_outline(center, radius, rng.uniform(*style["irregularity"]), elongation, angle, rng))
        # The nucleus sits off-centre in its cytoplasm, as in smears.
        offset = rng.normal(0.0, 0.25 * radius, size=2)
        cytoplasm.append(_outline(
            center + offset, radius * rng.uniform(*style["cytoplasm_scale"]), 0.08,
            rng.uniform(0.75, 1.0), rng.uniform(0, math.pi), rng,
        ))

    cytoplasm_alpha = 0.85 + 0.1 * _smooth_noise(size, 6 * scale, rng)
    _paint(image, np.clip(_coverage(size, cytoplasm) * cytoplasm_alpha, 0, 1), np.array(CYTOPLASM_RGB))

    red_cells = []
    for _ in range(rng.integers(8, 22)):
        center = rng.uniform(0.0, size, size=2)
        red_cells.append(_outline(center, rng.uniform(4.5, 6.0) * scale, 0.02, rng.uniform(0.85, 1.0), 0.0, rng))
    red_coverage = _coverage(size, red_cells)
    _paint(image, red_coverage, np.array(RED_CELL_RGB))
    # Biconcave red cells: paler centres.
    pale = cv2.GaussianBlur(red_coverage, (0, 0), 1.2 * scale) ** 4
    image += 0.25 * pale[..., None] * (np.array(BACKGROUND_RGB) - image)

    nucleus_coverage = _coverage(size, nuclei)
    amplitude, blob = style["chromatin_texture"]
    texture = 1.0 + amplitude * _smooth_noise(size, blob * scale, rng)
    nucleus_color = np.array(style["nucleus_rgb"], np.float32) * rng.uniform(0.92, 1.08)
    _paint(image, nucleus_coverage, nucleus_color * texture[..., None])

    # Slight defocus and camera noise.
    image = cv2.GaussianBlur(image, (0, 0), 0.6 * max(scale, 0.5))
    image += rng.normal(0.0, 3.0, image.shape)
    image = np.clip(np.round(image), 0, 255).astype(np.uint8)
    mask = (nucleus_coverage >= 0.5).astype(np.uint8)
    return image, mask


def render_cytology(count_per_class=75, image_size=256, seed=0, classes=CLASS_NAMES):
    """Render a SYNTHETIC balanced cytology data set.

    Args:
        count_per_class: images per class.
        image_size: side in pixels (square images).
        seed: seed of the whole set (same seed, same images).
        classes: subset/order of ("benign", "malignant"); label i means classes[i].

    Returns:
        images (N, S, S, 3) uint8 RGB, masks (N, S, S, 1) uint8 in {0, 1} (nuclei),
        labels (N,) int32 indices into `classes`; classes are interleaved.
    """
    count_per_class = check_int(count_per_class, "count_per_class")
    image_size = check_int(image_size, "image_size", minimum=16)
    if isinstance(classes, (str, bytes)) or not isinstance(classes, (list, tuple)):
        raise TypeError(f"classes must be a list or tuple of class names, got "
                        f"{type(classes).__name__} {classes!r}")
    for name in classes:
        if name not in CLASS_STYLES:
            raise ValueError(f"unknown synthetic class {name!r}; choose from {CLASS_NAMES}")
    rng = np.random.default_rng(seed)
    images, masks, labels = [], [], []
    for _ in range(count_per_class):
        for index, name in enumerate(classes):
            image, mask = render_one(CLASS_NAMES.index(name), image_size, rng)
            images.append(image)
            masks.append(mask)
            labels.append(index)
    return np.stack(images), np.stack(masks)[..., None], np.asarray(labels, np.int32)
