"""Validation with the paper's own metrics during training (Uzolas et al. 2021, Table 1).

The paper picks the generator by its validation Dice: every N epochs the generator draws the
validation shapes from their own extracted masks, the masks of its images are extracted again
(x_fake = f_SEG(f_BPE(G(x)))) and compared with the input masks (Dice, background omitted) and
patterns (MAENB). `ValidationScores` adds `val_dice` and `val_maenb` to the epoch's logs, so
`kerasgan.training.train_gan(..., monitor="val_dice", monitor_mode="max")` keeps the best
epoch by Dice, and `log.csv` holds the Table 1 rows.
"""

import keras
import numpy as np


class ValidationScores(keras.callbacks.Callback):
    """Every `every` epochs and at the last epoch: Dice and MAENB on the validation set.

    Args:
        chromosomes: the validation ChromosomeSet (its own extracted masks are the inputs).
        every: validate every this many epochs.
        total_epochs: the run's last epoch is always validated.
        scoring_generator: the network to score (default `model.generator`); e.g. a 128 px
            wrapper around a generator trained at 256 px, sharing its weights.
    """

    def __init__(self, chromosomes, every=1, total_epochs=None, batch_size=32, scoring_generator=None):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"validation every N epochs needs an integer N >= 1, got {every!r}")
        if len(chromosomes) == 0:
            raise ValueError("the validation set is empty")
        self.chromosomes = chromosomes
        self.every, self.total_epochs = int(every), total_epochs
        self.batch_size = batch_size
        self.scoring_generator = scoring_generator
        self._inputs = None

    def due(self, epoch):
        number = epoch + 1
        return number % self.every == 0 or (self.total_epochs is not None and number == self.total_epochs)

    def score(self):
        from kerasgan.chromosome.evaluation import input_masks, score_images
        from kerasgan.chromosome.model import generate

        if self._inputs is None:
            self._inputs = input_masks(self.chromosomes, "real")
        masks, patterns = self._inputs
        generator = self.scoring_generator if self.scoring_generator is not None else self.model.generator
        return score_images(masks, patterns, generate(generator, masks, batch_size=self.batch_size))

    def on_epoch_end(self, epoch, logs=None):
        if logs is None or not self.due(epoch):
            return
        scores = self.score()
        logs["val_dice"] = scores.dice
        logs["val_maenb"] = scores.maenb
        print(f"epoch {epoch + 1}: validation Dice {scores.dice:.3f} MAENB {scores.maenb:.3f} "
              f"({scores.extraction_failures} of {scores.count} without a chromosome)", flush=True)


def read_log_csv(path):
    """The rows of a run's log.csv as dicts (strings; empty where an epoch has no value)."""
    import csv
    import pathlib

    path = pathlib.Path(path)
    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def format_validation_table(rows):
    """Table 1 of a run: the validated epochs' Dice and MAENB, best epoch by Dice marked."""
    rows = [r for r in rows if r.get("val_dice") not in (None, "")]
    if not rows:
        return "no validation epoch recorded"
    best = max(rows, key=lambda r: float(r["val_dice"]))
    lines = [f"{'epoch':>6}{'val Dice':>11}{'val MAENB':>11}"]
    for row in rows:
        mark = "  <- best (best_generator.keras)" if row is best else ""
        lines.append(f"{int(float(row['epoch'])):>6d}{float(row['val_dice']):>11.3f}{float(row['val_maenb']):>11.3f}{mark}")
    return "\n".join(lines)
