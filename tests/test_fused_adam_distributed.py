"""Issue 17: FusedAdam (one ResourceApplyAdam kernel per variable) is the default pix2pix
optimizer on one device and under MirroredStrategy, with Keras's Adam arithmetic.

Two Pix2Pix steps (batch 4, split 2 + 2 across two CPU replicas, instance norm so that batch
statistics do not differ per replica) with FusedAdam under MirroredStrategy must give the
weights of the same model trained with keras.optimizers.Adam on one device, to 1e-6 (the steps
move weights by > 1e-3). Epsilon is 0.1: with Keras's 1e-7 the first steps are
~lr * sign(gradient), and the replicas' summation order flips the sign of near-zero gradients
(~8e-4 apart with either optimizer). Both replicas' copies must agree, and the fused kernel
must have been traced inside the strategy (not Keras's fallback).
"""

import json

SCRIPT = r"""
import json
import kerasgan
import keras, numpy as np, tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
from kerasgan.models import Pix2Pix
from kerasgan.models.pix2pix import FusedAdam
from kerasgan.networks import patch_discriminator, unet_generator

fused_traces = []
original = tf.raw_ops.ResourceApplyAdam
def counting(**kwargs):
    fused_traces.append(tf.distribute.has_strategy())
    return original(**kwargs)
tf.raw_ops.ResourceApplyAdam = counting

rng = np.random.RandomState(0)
x = rng.uniform(-1, 1, (8, 32, 32, 1)).astype("float32"); y = np.tanh(2 * x)
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)

def build(strategy, optimizer_class):
    with strategy.scope():
        keras.utils.set_random_seed(7)
        g = unet_generator((32, 32, 1), 1, filters=8, norm="instance")
        d = patch_discriminator((32, 32, 2), filters=8, norm="instance")
        m = Pix2Pix(g, d)
        # epsilon 0.1: the update is ~ lr * m / (sqrt(v) + 0.1), so a near-zero gradient whose
        # sign flips with the replicas' summation order moves its weight by ~0, not by lr.
        m.compile(generator_optimizer=optimizer_class(1e-2, beta_1=0.5, epsilon=0.1),
                  discriminator_optimizer=optimizer_class(1e-2, beta_1=0.5, epsilon=0.1))
    return m

reference = build(tf.distribute.get_strategy(), keras.optimizers.Adam)
initial = reference.get_weights()
reference.fit(data, epochs=1, verbose=0)
assert not fused_traces
ours = build(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]), FusedAdam)
ours.set_weights(initial)
ours.fit(data, epochs=1, verbose=0)
diff = max(float(np.abs(a - b).max()) for a, b in zip(reference.get_weights(), ours.get_weights()))
moved = max(float(np.abs(a - b).max()) for a, b in zip(reference.get_weights(), initial))
replica_gap = max(float(np.abs(v.value.values[0].numpy() - v.value.values[1].numpy()).max())
                  for v in ours.generator.trainable_variables + ours.discriminator.trainable_variables)
print(json.dumps({"diff": diff, "moved": moved, "replica_gap": replica_gap,
                  "fused_traced_in_strategy": sum(fused_traces), "fused_traced": len(fused_traces),
                  "variables": len(ours.generator.trainable_variables) + len(ours.discriminator.trainable_variables)}))
"""


def test_mirrored_fused_adam_equals_single_device_keras_adam(run_python):
    result = json.loads(run_python(SCRIPT).strip().splitlines()[-1])
    # Every trainable variable went through the fused kernel, traced inside the strategy.
    assert result["fused_traced_in_strategy"] == result["fused_traced"] >= result["variables"], result
    assert result["moved"] > 1e-3
    assert result["replica_gap"] == 0.0
    assert result["diff"] < 1e-6, result
