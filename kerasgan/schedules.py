"""Learning-rate schedules of the reference implementations, as Keras callbacks.

pix2pix's "linear" policy (Isola et al.; junyanz/pytorch-CycleGAN-and-pix2pix, `--lr_policy
linear`): the learning rate stays at its initial value for `n_epochs` epochs, then falls
linearly over `n_epochs_decay` more epochs. With epochs counted from 0, epoch e trains at

    lr_e = lr_0 * (1 - max(0, e + 1 - n_epochs) / (n_epochs_decay + 1)),

so the first decay epoch (e = n_epochs) trains at lr_0 * n_epochs_decay / (n_epochs_decay + 1)
and the last (e = n_epochs + n_epochs_decay - 1) at lr_0 / (n_epochs_decay + 1), never at 0.
"""

import keras


def linear_decay_factor(epoch, n_epochs, n_epochs_decay):
    """The factor on the initial learning rate for 0-based `epoch` (see the module docstring)."""
    if n_epochs < 0 or n_epochs_decay < 0:
        raise ValueError(f"n_epochs and n_epochs_decay must be non-negative, got {n_epochs}, {n_epochs_decay}")
    return 1.0 - max(0, epoch + 1 - n_epochs) / float(n_epochs_decay + 1)


class LinearDecay(keras.callbacks.Callback):
    """Sets every optimizer of a GAN (`generator_optimizer`, `discriminator_optimizer`, or
    `optimizer`) to `initial * linear_decay_factor(epoch, ...)` at the start of each epoch.

    The rate is a function of the epoch index alone, so a resumed run trains each epoch at the
    same rate as an uninterrupted one. The current rate is logged as `lr`.
    """

    def __init__(self, initial_learning_rate, n_epochs, n_epochs_decay):
        super().__init__()
        if not initial_learning_rate > 0:
            raise ValueError(f"initial_learning_rate must be positive, got {initial_learning_rate}")
        self.initial = float(initial_learning_rate)
        self.n_epochs, self.n_epochs_decay = int(n_epochs), int(n_epochs_decay)
        self.current = self.initial

    def _optimizers(self):
        found = [getattr(self.model, name, None) for name in ("generator_optimizer", "discriminator_optimizer")]
        found = [o for o in found if o is not None]
        return found or [self.model.optimizer]

    def on_epoch_begin(self, epoch, logs=None):
        self.current = self.initial * linear_decay_factor(epoch, self.n_epochs, self.n_epochs_decay)
        for optimizer in self._optimizers():
            optimizer.learning_rate.assign(self.current)

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = self.current
