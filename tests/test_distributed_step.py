"""Issue 17: today's training step is the same arithmetic as the plain Keras one, under
MirroredStrategy too.

"Today's step" is a Pix2Pix step whose U-Net up-samples with SmallMapConv2DTranspose (the
matmul path on small maps, training only) run on two replicas; the reference is the same model
with keras.layers.Conv2DTranspose everywhere, on one device. Two SGD steps (batch 4, split
2 + 2 across the replicas) from the same weights must give the same weights to 2e-5 (float32
summation order only; the steps move weights by > 1e-3). Instance norm, because batch norm's
statistics legitimately differ per replica.
"""

import json

SCRIPT = r"""
import json
import kerasgan
import keras, numpy as np, tensorflow as tf
tf.config.set_logical_device_configuration(
    tf.config.list_physical_devices("CPU")[0],
    [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()])
import kerasgan.networks.unet as unet
from kerasgan.models import Pix2Pix
from kerasgan.networks import patch_discriminator
from kerasgan.networks.small_map_conv import SmallMapConv2DTranspose

matmul_traces = []
original_matmul = SmallMapConv2DTranspose._matmul_transpose
def counting_matmul(self, inputs):
    matmul_traces.append(self.name)
    return original_matmul(self, inputs)
SmallMapConv2DTranspose._matmul_transpose = counting_matmul

rng = np.random.RandomState(0)
x = rng.uniform(-1, 1, (8, 32, 32, 1)).astype("float32"); y = np.tanh(2 * x)

def build(strategy, upsampling_class):
    saved = unet.SmallMapConv2DTranspose
    unet.SmallMapConv2DTranspose = upsampling_class
    try:
        with strategy.scope():
            keras.utils.set_random_seed(7)
            g = unet.unet_generator((32, 32, 1), 1, filters=8, norm="instance")
            d = patch_discriminator((32, 32, 2), filters=8, norm="instance")
            m = Pix2Pix(g, d)
            # SGD: the update is proportional to the gradient, so a replica scaling error or a
            # wrong gradient of the matmul path shows directly (Adam's first step is ~lr*sign).
            m.compile(generator_optimizer=keras.optimizers.SGD(0.5),
                      discriminator_optimizer=keras.optimizers.SGD(0.5))
    finally:
        unet.SmallMapConv2DTranspose = saved
    return m

data = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
reference = build(tf.distribute.get_strategy(), keras.layers.Conv2DTranspose)
initial = reference.get_weights()
reference.fit(data, epochs=1, verbose=0)
assert not matmul_traces
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
ours = build(strategy, SmallMapConv2DTranspose)
layers = sum(type(layer) is SmallMapConv2DTranspose for layer in ours.generator.layers)
ours.set_weights(initial)
ours.fit(data, epochs=1, verbose=0)
diff = max(float(np.abs(a - b).max()) for a, b in zip(reference.get_weights(), ours.get_weights()))
moved = max(float(np.abs(a - b).max()) for a, b in zip(reference.get_weights(), initial))
print(json.dumps({"diff": diff, "moved": moved, "replicas": strategy.num_replicas_in_sync,
                  "small_map_layers": layers, "matmul_layers_traced": sorted(set(matmul_traces))}))
"""


def test_mirrored_step_with_small_map_conv_equals_single_device_keras_step(run_python):
    result = json.loads(run_python(SCRIPT).strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["small_map_layers"] == 5  # 32 px U-Net: 5 transposed convs
    # The matmul path really ran in the replicas' training step: the levels whose per-replica
    # rows (2 x h x w) are <= 128, i.e. inputs 1x1, 2x2, 4x4 and 8x8.
    assert len(result["matmul_layers_traced"]) == 4, result
    assert result["moved"] > 1e-3
    assert result["diff"] < 2e-5, result
