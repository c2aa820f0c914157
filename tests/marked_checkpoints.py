"""Per-epoch checkpoints a test can tell apart: checkpoint k has its first kernel entry set to
k, so a stub reading `model.get_weights()[0].flat[0]` knows which epoch was loaded."""


def save_marked_checkpoints(generator, run, epochs):
    """Write `run/checkpoints/generator_epoch_NNNN.weights.h5` for each epoch, marked as above."""
    (run / "checkpoints").mkdir(parents=True, exist_ok=True)
    for epoch in epochs:
        weights = generator.get_weights()
        weights[0] = weights[0].copy()
        weights[0].flat[0] = epoch
        generator.set_weights(weights)
        generator.save_weights(run / "checkpoints" / f"generator_epoch_{epoch:04d}.weights.h5")


def marked_epoch(model):
    """The epoch whose marked checkpoint `model` holds."""
    return int(round(float(model.get_weights()[0].flat[0])))
