"""`kc.generate` / `evaluate chromosome` under both test-time protocols (issue 12, deviation 1)."""

import numpy as np
import pytest

from kerasgan import chromosome as kc


@pytest.fixture(scope="module")
def generator_and_masks():
    generator = kc.build_generator(size=128, filters=4)
    masks = np.stack([kc.render_chromosome_mask(seed=s, chromosome="3", chr1_length=100)[0] for s in range(3)])
    return generator, masks


def test_deterministic_is_repeatable_and_reference_draws_dropout(generator_and_masks):
    generator, masks = generator_and_masks
    moving = [v.numpy().copy() for v in generator.non_trainable_variables if "moving" in v.path]
    first = kc.generate(generator, masks, inference="deterministic")
    np.testing.assert_array_equal(first, kc.generate(generator, masks, inference="deterministic"))
    a = kc.generate(generator, masks, inference="reference")
    b = kc.generate(generator, masks, inference="reference")
    assert np.abs(a.astype(int) - b).max() > 0  # dropout on: a fresh draw per call
    assert np.abs(a.astype(int) - first).max() > 0  # batch statistics, not moving ones
    after = [v.numpy() for v in generator.non_trainable_variables if "moving" in v.path]
    for x, y in zip(moving, after):
        np.testing.assert_array_equal(x, y)  # the reference pass never writes the statistics
    with pytest.raises(ValueError, match="inference"):
        kc.generate(generator, masks, inference="train")


def test_reference_normalises_each_image_alone(generator_and_masks):
    # test.py runs batch 1: an image's output must not depend on the others in its batch
    # (compared with dropout switched off, so the only randomness is gone).
    generator, masks = generator_and_masks
    import keras

    for layer in generator.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.0
    together = kc.generate(generator, masks, batch_size=3, inference="reference")
    alone = np.concatenate([kc.generate(generator, masks[i : i + 1], inference="reference") for i in range(3)])
    for layer in generator.layers:
        if isinstance(layer, keras.layers.Dropout):
            layer.rate = 0.5
    assert np.abs(together.astype(int) - alone).max() <= 1


def test_reference_uses_batch_statistics_on_a_frozen_zoo_style_generator():
    # Keras runs a non-trainable BatchNormalization in inference mode even with training=True;
    # a frozen generator must still get the reference protocol's batch statistics.
    import keras

    generator = kc.build_generator(size=128, filters=4, dropout=0.0)
    # Moving statistics far from any batch's: the two protocols then differ clearly.
    for layer in generator.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(layer.moving_mean + 3.0)
    masks = np.stack([kc.render_chromosome_mask(seed=s, chromosome="5", chr1_length=100)[0] for s in range(2)])
    unfrozen = kc.generate(generator, masks, inference="reference")
    deterministic = kc.generate(generator, masks, inference="deterministic")
    generator.trainable = False
    frozen = kc.generate(generator, masks, inference="reference")
    assert not generator.trainable and all(not w.trainable for w in generator.weights)
    assert np.abs(frozen.astype(int) - unfrozen).max() <= 1
    assert np.abs(frozen.astype(int) - deterministic).max() > 20
