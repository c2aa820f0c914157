"""Training loop utilities: resumable, atomic, observable `fit` for every GAN in the zoo.

`train_gan` wraps `model.fit` with what a long GAN run needs:
  * resume after a kill (`ResumableBackup`, a BackupAndRestore whose writes are atomic: the
    weights go to a new file, then a small JSON naming it is renamed into place, so a
    half-written file is never taken as the latest);
  * one checkpoint of the generator per epoch (kept, never overwritten) and the best one by
    a validation metric;
  * a sample grid PNG per epoch and a CSV log rebuilt from the backup's own record, so the
    log always agrees with the weights it describes;
  * a clear stop on a non-finite loss, naming the step and the last good checkpoint.
"""

import csv
import io
import json
import math
import os
import pathlib

import keras
import numpy as np

from kerasgan.data.image_io import atomic_write_bytes
from kerasgan.serialization import atomic_path, remove_partial_writes

BACKUP_STATE = "state.json"
# The run-settings record lives in a TensorFlow-free module so the CLI checks it first.
from kerasgan._runs import RUN_SETTINGS, check_run_settings, files_fingerprint  # noqa: E402,F401


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the last good checkpoint is left untouched."""


def read_backup_state(backup_dir):
    """The state recorded by `ResumableBackup` in `backup_dir`, or None if there is none."""
    path = pathlib.Path(backup_dir) / BACKUP_STATE
    if not path.is_file():
        return None
    try:
        state = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"backup state '{path}' is corrupt: {error}") from error
    if not isinstance(state, dict) or not isinstance(state.get("weights"), str) \
            or not isinstance(state.get("epoch"), int):
        raise ValueError(f"backup state '{path}' is corrupt: it lacks 'weights' (file name) or 'epoch'")
    weights = pathlib.Path(backup_dir) / state["weights"]
    if not weights.is_file():
        raise FileNotFoundError(f"backup state '{path}' names '{weights}', which does not exist")
    return state


class ResumableBackup(keras.callbacks.BackupAndRestore):
    """`keras.callbacks.BackupAndRestore` with atomic, versioned writes and a log record.

    Each epoch end writes `epoch_NNNN.weights.h5` (model + optimizer state) through a temporary
    file and a rename, then renames `state.json` (epoch, weights file, per-epoch logs) into
    place; only then is the previous weights file removed. A kill at any instant leaves a
    consistent pair. The backup is kept after training (delete_checkpoint=False) so a finished
    run can be extended with more epochs.
    """

    def __init__(self, backup_dir, on_saved=None):
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=False)
        self.history_record = []
        self.on_saved = on_saved

    def _load_model(self):
        state = read_backup_state(self.backup_dir)
        if state is None:
            return
        for optimizer in _optimizers(self.model):
            if not optimizer.built:
                raise RuntimeError("compile the model before resuming from a backup")
        weights = os.path.join(self.backup_dir, state["weights"])
        try:
            self.model.load_weights(weights)
        except (OSError, ValueError, KeyError) as error:  # truncated h5, or another model's weights
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"cannot resume from '{weights}': {first[:300]}; the run folder holds a "
                             "damaged checkpoint or one of another model (other --filters/--image-size?)"
                             ) from None
        self.model._initial_epoch = state["epoch"]
        self.history_record = list(state.get("history", []))

    def on_epoch_end(self, epoch, logs=None):
        self._current_epoch = epoch + 1
        self.history_record.append({"epoch": epoch + 1, **_plain_logs(logs)})
        self._save_model()

    def _save_model(self):
        backup = pathlib.Path(self.backup_dir)
        backup.mkdir(parents=True, exist_ok=True)
        previous = read_backup_state(backup)
        weights_name = f"epoch_{self._current_epoch:04d}.weights.h5"
        with atomic_path(backup / weights_name) as temporary:
            self.model.save_weights(temporary)
        state = {"epoch": self._current_epoch, "weights": weights_name, "history": self.history_record}
        atomic_write_bytes(backup / BACKUP_STATE, json.dumps(state, indent=1).encode())
        if previous and previous["weights"] != weights_name:
            (backup / previous["weights"]).unlink(missing_ok=True)
        if self.on_saved is not None:
            self.on_saved(state)


def _optimizers(model):
    return [v for v in vars(model).values() if isinstance(v, keras.optimizers.Optimizer)]


def _plain_logs(logs):
    return {key: float(value) for key, value in (logs or {}).items()}


def write_log_csv(path, history):
    """Write the per-epoch log (list of dicts) as CSV, atomically."""
    columns = []
    for row in history:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(history)
    atomic_write_bytes(path, buffer.getvalue().encode())


class StopOnNonFiniteLoss(keras.callbacks.Callback):
    """Stop at the first NaN/inf in any logged loss, naming the step and the last good checkpoint."""

    def __init__(self, backup_dir=None, keys=None):
        super().__init__()
        self.backup_dir = backup_dir
        self.keys = keys
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        for key, value in (logs or {}).items():
            if self.keys is not None and key not in self.keys:
                continue
            if not math.isfinite(float(value)):
                state = read_backup_state(self.backup_dir) if self.backup_dir else None
                kept = (
                    f"the last good checkpoint is '{pathlib.Path(self.backup_dir) / state['weights']}' "
                    f"(end of epoch {state['epoch']}) and was left untouched"
                    if state else "no checkpoint had been written yet"
                )
                self.model.stop_training = True
                raise NonFiniteLossError(
                    f"loss '{key}' became {value} at epoch {self._epoch + 1}, step {batch + 1}; "
                    f"training stopped. {kept}. Lower the learning rate or check the data for "
                    "NaN/inf values."
                )


def save_sample_grid(path, conditions, generated, targets=None, title=None, max_rows=8):
    """A PNG grid: one row per sample, columns condition | generated [| target] (matplotlib)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    def show(array):
        array = np.clip((np.asarray(array, dtype=np.float32) + 1.0) / 2.0, 0.0, 1.0)
        if array.shape[-1] == 1:
            return array[..., 0], "gray"
        if array.shape[-1] == 2:  # e.g. mask + structure map: show the first channel
            return array[..., 0], "gray"
        return array[..., :3], None

    columns = [("condition", conditions), ("generated", generated)]
    if targets is not None:
        columns.append(("target", targets))
    rows = min(len(conditions), max_rows)
    figure, axes = plt.subplots(rows, len(columns), figsize=(2.2 * len(columns), 2.2 * rows), squeeze=False)
    for row in range(rows):
        for column, (label, images) in enumerate(columns):
            image, cmap = show(images[row])
            axes[row, column].imshow(image, cmap=cmap, vmin=0, vmax=1)
            axes[row, column].set_axis_off()
            if row == 0:
                axes[row, column].set_title(label)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    from kerasgan.figures import save_figure

    return save_figure(figure, path, dpi=80)


class EpochArtifacts(keras.callbacks.Callback):
    """Per epoch: generator checkpoint, best generator, sample grid and CSV log.

    Runs *before* the backup commits the epoch: a kill in between re-runs the epoch and
    rewrites the same artefacts, whereas the other order could lose them for good.
    """

    def __init__(self, out_dir, backup, sample_conditions=None, sample_targets=None, monitor="val_l1",
                 monitor_mode="min"):
        super().__init__()
        if monitor_mode not in ("min", "max"):
            raise ValueError(f"monitor_mode must be 'min' or 'max', got {monitor_mode!r}")
        self.monitor_mode = monitor_mode
        self.out_dir = pathlib.Path(out_dir)
        self.backup = backup
        self.sample_conditions = sample_conditions
        self.sample_targets = sample_targets
        self.monitor = monitor

    def on_epoch_end(self, epoch, logs=None):
        generator = getattr(self.model, "generator", self.model)
        number = epoch + 1
        checkpoints = self.out_dir / "checkpoints"
        with atomic_path(checkpoints / f"generator_epoch_{number:04d}.weights.h5") as temporary:
            generator.save_weights(temporary)
        history = [*self.backup.history_record, {"epoch": number, **_plain_logs(logs)}]
        if self.monitor and logs and self.monitor in logs:
            values = [row[self.monitor] for row in history if self.monitor in row]
            earlier, current = values[:-1], values[-1]
            # Only a strict improvement replaces the best, so a tie keeps the earlier epoch.
            if not earlier or (current < min(earlier) if self.monitor_mode == "min" else current > max(earlier)):
                with atomic_path(self.out_dir / "best_generator.keras") as temporary:
                    generator.save(temporary)
        if self.sample_conditions is not None:
            generated = generator.predict(self.sample_conditions, verbose=0)
            save_sample_grid(
                self.out_dir / "samples" / f"epoch_{number:04d}.png",
                self.sample_conditions, generated, self.sample_targets, title=f"epoch {number}",
            )
        write_log_csv(self.out_dir / "log.csv", history)


CHECKPOINT_PATTERN = "generator_epoch_*.weights.h5"  # what EpochArtifacts writes per epoch


def epoch_checkpoints(run, epochs=None):
    """The per-epoch generator weights of a `train_gan` run folder: {epoch: path}, in order.

    With `epochs`, exactly those epochs (FileNotFoundError naming the missing ones); without,
    every `checkpoints/generator_epoch_NNNN.weights.h5` there is (FileNotFoundError if none).
    """
    import re

    run = pathlib.Path(run)
    found = {}
    for path in sorted((run / "checkpoints").glob(CHECKPOINT_PATTERN)):
        match = re.fullmatch(r"generator_epoch_(\d+)\.weights\.h5", path.name)
        if match:
            found[int(match.group(1))] = path
    if epochs is not None:
        epochs = [int(epoch) for epoch in epochs]
        missing = sorted(set(epochs) - set(found))
        if missing:
            raise FileNotFoundError(f"run '{run}' has no checkpoint for epoch(s) {missing}")
        return {epoch: found[epoch] for epoch in sorted(set(epochs))}
    if not found:
        raise FileNotFoundError(f"run '{run}' has no checkpoints/{CHECKPOINT_PATTERN}")
    return found


def train_gan(
    model,
    train_data,
    out_dir,
    epochs,
    validation_data=None,
    sample_conditions=None,
    sample_targets=None,
    monitor="val_l1",
    steps_per_epoch=None,
    extra_callbacks=(),
    epoch_metrics=(),
    monitor_mode="min",
    verbose="auto",
    tensorboard_dir=None,
):
    """Fit a compiled GAN with resumable, atomic checkpoints and per-epoch artefacts.

    Args:
        model: a compiled GAN (`Pix2Pix` or any model with a `generator` attribute).
        train_data: a tf.data.Dataset, or a callable `first_epoch -> Dataset` that yields the
            data of epochs first_epoch..epochs-1 in order (then a resumed run sees exactly the
            batches an uninterrupted run would; give `steps_per_epoch` with it).
        out_dir: run folder: backup/ (resume state), checkpoints/, samples/, log.csv,
            best_generator.keras, generator.keras (final).
        epochs: total epochs; running again after a kill resumes at the last completed epoch,
            running again with more epochs extends a finished run.
        monitor, monitor_mode: the validation log that picks best_generator.keras, and
            whether its "min" (a loss) or "max" (e.g. val_dice) is best.
        epoch_metrics: callbacks that add metrics to the epoch's logs (e.g. a validation
            Dice every N epochs); they run before the checkpoint/best/log callbacks.
        tensorboard_dir: also log each epoch's scalars and sample grid there
            (`tensorboard --logdir DIR`; see kerasgan.tensorboard_logging); None: no logging.
    Returns: the keras History of this call.
    """
    from kerasgan._args import check_int

    epochs = check_int(epochs, "epochs")
    if steps_per_epoch is not None:
        steps_per_epoch = check_int(steps_per_epoch, "steps_per_epoch")
    out_dir = pathlib.Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise NotADirectoryError(f"run folder '{out_dir}' is a file, not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    backup_dir = out_dir / "backup"
    remove_partial_writes(out_dir)  # a kill during a write leaves its temporary file
    state = read_backup_state(backup_dir)
    first_epoch = state["epoch"] if state else 0
    if first_epoch >= epochs:
        print(f"{out_dir}: already trained for {first_epoch} epochs (asked for {epochs}); nothing to do")
        return None
    if state:
        print(f"{out_dir}: resuming after epoch {first_epoch} from '{backup_dir / state['weights']}'")
    if callable(train_data) and not hasattr(train_data, "element_spec"):
        train_data = train_data(first_epoch)
    backup = ResumableBackup(str(backup_dir))
    callbacks = [
        # Callbacks that add validation metrics to the epoch's logs run first, so that the
        # best generator, the log and the backup's record all see them.
        *epoch_metrics,
        EpochArtifacts(out_dir, backup, sample_conditions, sample_targets, monitor, monitor_mode),
        backup,
        StopOnNonFiniteLoss(str(backup_dir)),
        *extra_callbacks,
    ]
    if tensorboard_dir is not None:
        from kerasgan.tensorboard_logging import tensorboard_callbacks

        callbacks += tensorboard_callbacks(tensorboard_dir, out_dir / "samples")
    try:
        history = model.fit(
            train_data,
            validation_data=validation_data,
            epochs=epochs,
            steps_per_epoch=steps_per_epoch,
            callbacks=callbacks,
            verbose=_plain_when_redirected(verbose),
        )
        generator = getattr(model, "generator", model)
        with atomic_path(out_dir / "generator.keras") as temporary:
            generator.save(temporary)
    except OSError as error:
        raise CheckpointWriteError(_write_failure_message(out_dir, backup_dir, error)) from error
    return history


def _plain_when_redirected(verbose):
    """Keras's "auto" progress bar writes ANSI codes and redraws into a redirected log; one plain
    line per epoch (verbose 2) is what a log file wants."""
    import sys

    if verbose == "auto" and not (hasattr(sys.stdout, "isatty") and sys.stdout.isatty()):
        return 2
    return verbose


class CheckpointWriteError(OSError):
    """Writing a run's files failed mid-run (disk full, read-only, removed folder); the message
    names the last intact checkpoint, from which the same command resumes."""


def _write_failure_message(out_dir, backup_dir, error):
    try:
        state = read_backup_state(backup_dir)
    except (OSError, ValueError):
        state = None
    kept = (f"the last intact checkpoint is '{pathlib.Path(backup_dir) / state['weights']}' (end of "
            f"epoch {state['epoch']}); run the same command again to resume from it"
            if state else "no checkpoint had been completed yet")
    where = f" '{error.filename}'" if getattr(error, "filename", None) else ""
    reason = error.strerror or str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"writing the run in '{out_dir}' failed{where}: {reason}; {kept}"
