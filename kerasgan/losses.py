"""Losses shared by the GANs, all written per example so they reduce correctly when distributed.

Under `tf.distribute`, each replica sees its share of the batch and the optimizer *sums* the
replicas' gradients. A loss must therefore be `sum(per_example) / global_batch`, not a
per-replica mean (which gives gradients N times too large on N replicas). Every loss here
returns one value per example; `average_over_global_batch` does the reduction.
"""

import keras
import tensorflow as tf
from keras import ops

GAN_LOSSES = ("bce", "lsgan")


def check_gan_loss(kind):
    if kind not in GAN_LOSSES:
        raise ValueError(f"gan_loss must be one of {GAN_LOSSES}, got {kind!r}")
    return kind


def _mean_per_example(values):
    values = ops.reshape(values, (ops.shape(values)[0], -1))
    return ops.mean(values, axis=1)


def global_batch_size(local_batch_size):
    """Number of examples in this step across all replicas (exact for a short last batch)."""
    local = ops.cast(local_batch_size, "float32")
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return local
    return context.all_reduce(tf.distribute.ReduceOp.SUM, local)


def average_over_global_batch(per_example, global_batch):
    """sum(per_example) / global_batch: the replica's share of the global-batch mean."""
    return ops.sum(ops.cast(per_example, "float32")) / global_batch


def adversarial_loss(logits, target, kind="bce"):
    """Per-example adversarial loss of discriminator logits against a target label.

    `target` is a scalar (1 real, 0 fake) or a tensor broadcastable to `logits` (smoothed or
    flipped labels). bce: sigmoid cross-entropy from logits; lsgan: (logit - target)^2
    (Mao et al. 2017, the `lsgan` mode of the reference pix2pix).
    """
    logits = ops.cast(logits, "float32")
    target = ops.cast(ops.broadcast_to(ops.cast(target, "float32"), ops.shape(logits)), "float32")
    if kind == "bce":
        values = ops.binary_crossentropy(target, logits, from_logits=True)
    elif kind == "lsgan":
        values = ops.square(logits - target)
    else:
        check_gan_loss(kind)
    return _mean_per_example(values)


def _loss_dtype(*tensors):
    # float32 losses even under mixed precision; float64 kept for numerical gradient checks.
    dtypes = {keras.backend.standardize_dtype(ops.convert_to_tensor(t).dtype) for t in tensors}
    return "float64" if dtypes == {"float64"} else "float32"


def l1_per_example(prediction, target):
    """Mean absolute error per example."""
    dtype = _loss_dtype(prediction, target)
    return _mean_per_example(ops.abs(ops.cast(prediction, dtype) - ops.cast(target, dtype)))


def mse_per_example(prediction, target):
    """Mean squared error per example."""
    dtype = _loss_dtype(prediction, target)
    return _mean_per_example(ops.square(ops.cast(prediction, dtype) - ops.cast(target, dtype)))


RECONSTRUCTION_LOSSES = {"l1": l1_per_example, "mse": mse_per_example}


def reconstruction_loss(kind):
    if kind not in RECONSTRUCTION_LOSSES:
        raise ValueError(
            f"reconstruction_loss must be one of {tuple(RECONSTRUCTION_LOSSES)}, got {kind!r}"
        )
    return RECONSTRUCTION_LOSSES[kind]


# ------------------------------------------------------------------ label tricks (SynCGAN, 3.4)
def smoothed_labels(shape, real, real_range=(0.9, 1.0), fake_range=(0.0, 0.1), seed=None):
    """Soft discriminator targets: real ~ U(0.9, 1.0), fake ~ U(0.0, 0.1) (one-sided noise).

    Used for the discriminator only; the generator keeps hard targets.
    """
    low, high = real_range if real else fake_range
    return tf.random.uniform(shape, low, high, dtype="float32", seed=seed)


def flip_labels(labels, probability, seed=None):
    """Swap real/fake targets (y -> 1 - y) for each example with the given probability.

    `labels` has the batch on axis 0; one coin per example flips every position of it.
    """
    if not 0.0 <= float(probability) <= 1.0:
        raise ValueError(f"label flip probability must be in [0, 1], got {probability}")
    labels = tf.convert_to_tensor(labels, dtype="float32")
    coin_shape = tf.concat([tf.shape(labels)[:1], tf.ones([tf.rank(labels) - 1], tf.int32)], 0)
    flip = tf.random.uniform(coin_shape, seed=seed) < probability
    return tf.where(flip, 1.0 - labels, labels)


# ------------------------------------------------------------------ mode seeking (MSGAN)
MODE_SEEKING_EPSILON = 1e-5


def mode_seeking_per_pair(conditions, outputs, epsilon=MODE_SEEKING_EPSILON):
    """L_ms for each pair (i, i+1 mod B) of the batch, Allender et al. eq. 4 (Mao et al., MSGAN):

        L_ms = ||x_i - x_j||_1 / (||G(x_i) - G(x_j)||_1 + eps)

    Both L1 norms are taken over channels and divided by the pixel count only, which cancels in
    the ratio: the value is eq. 4 whatever the channel counts of x and G(x), so mu means the
    same for a 2-channel (mask + structure map) and a 1-channel (mask) condition. (A mean over
    channels too would scale eq. 4 by C_G / C_x: 1.5 for mask + structure map -> RGB, 3 for
    mask -> RGB.) eps = 1e-5 per pixel. Pairs of *different* conditions; minimising it pushes
    outputs apart when the inputs differ. Needs a batch of at least 2.
    """
    batch = conditions.shape[0]
    if batch is not None and batch < 2:
        raise ValueError(
            "the mode-seeking loss compares pairs of samples in a batch: use a batch size of at "
            f"least 2 (got {batch})"
        )
    if batch is None:  # known only when the step runs: fail there rather than return 0
        tf.debugging.assert_greater_equal(
            tf.shape(conditions)[0], 2,
            message="the mode-seeking loss compares pairs of samples in a batch: use a batch size of at least 2",
        )
    partner_conditions = tf.roll(conditions, shift=-1, axis=0)
    partner_outputs = tf.roll(outputs, shift=-1, axis=0)
    condition_distance = l1_per_example(conditions, partner_conditions) * _channels(conditions)
    output_distance = l1_per_example(outputs, partner_outputs) * _channels(outputs)
    return condition_distance / (output_distance + epsilon)


def _channels(images):
    channels = images.shape[-1]
    if channels is None:
        raise ValueError("the mode-seeking loss needs a known channel count (last axis)")
    return float(channels)


# ------------------------------------------------------------------ WGAN-GP (SinGAN)
def gradient_penalty(critic, real, fake, seed=None, norm_over="image", alpha=None):
    """Per-example WGAN-GP term (||grad critic(x_hat)||_2 - 1)^2 at x_hat = a*real + (1-a)*fake.

    norm_over="image": one norm over the whole image (Gulrajani et al. 2017);
    "position": the norm over channels at each position, squared deviations averaged over
    positions (the official SinGAN, whose critic scores every patch).
    `critic` is any callable image -> scores run in train mode; `alpha` (B, 1, 1, 1) the mixing
    weights (default uniform random per example).
    """
    if norm_over not in ("image", "position"):
        raise ValueError(f"norm_over must be 'image' or 'position', got {norm_over!r}")
    if alpha is None:
        alpha_shape = tf.concat([tf.shape(real)[:1], tf.ones([tf.rank(real) - 1], tf.int32)], 0)
        alpha = tf.random.uniform(alpha_shape, seed=seed, dtype=real.dtype)
    interpolated = alpha * real + (1.0 - alpha) * fake
    with tf.GradientTape() as tape:
        tape.watch(interpolated)
        if isinstance(critic, keras.layers.Layer):
            scores = critic(interpolated, training=True)
        else:
            scores = critic(interpolated)
    gradients = tape.gradient(scores, interpolated)
    return penalty_from_gradients(gradients, norm_over)


def penalty_from_gradients(gradients, norm_over="image"):
    """(||g|| - 1)^2 per example from the critic's input gradients (see `gradient_penalty`)."""
    if norm_over == "position":
        norms = tf.sqrt(tf.reduce_sum(tf.square(gradients), axis=-1) + 1e-12)
        return tf.reduce_mean(tf.square(norms - 1.0), axis=tf.range(1, tf.rank(norms)))
    norms = tf.sqrt(tf.reduce_sum(tf.square(tf.reshape(gradients, [tf.shape(gradients)[0], -1])), 1) + 1e-12)
    return tf.square(norms - 1.0)
