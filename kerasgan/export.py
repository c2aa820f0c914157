"""Export a trained generator and run it fast on many images.

    from kerasgan.export import export_saved_model, export_onnx, BulkGenerator
    export_saved_model(model.generator, "exported/generator")      # TF SavedModel, `serve` signature
    export_onnx(model.generator, "exported/generator.onnx")        # needs the [onnx] extra
    images = BulkGenerator(model.generator)(conditions)            # (N, H, W, C) in [-1, 1]

Export the *generator*, not the GAN wrapper: the wrapper holds two optimizers and a
discriminator that inference does not need (and Keras cannot export it). Given a wrapper with a
`generator` attribute, these functions export that generator.

`BulkGenerator` runs a single-input, single-output image generator in inference mode
(dropout off, batch norm with its moving statistics) over an array of conditions, batch by
batch, on the fastest path available. On the 2-core CPU this project is measured on (see
benchmarks/pix2pix_throughput.py), ONNX Runtime (the batch split across the cores) is the
fastest, then a `tf.function` with a fixed input signature (oneDNN on), then the reloaded
SavedModel; `backend="auto"` takes the first that is installed. Every backend matches the
Keras generator to 1e-4 (tests/test_export.py).

Inference protocol: every export and `BulkGenerator` take `inference="deterministic"` (the
default: dropout off, BatchNorm moving statistics, one output per input) or
`inference="reference"` (pix2pix's test.py and Isola et al.: dropout on, each example
normalised by its own batch statistics; `kerasgan.inference_graph.reference_protocol_graph`).
A reference-mode SavedModel or ONNX file holds the same weights and never writes them: its
BatchNorm moving statistics are not read or updated, and dropout draws a fresh mask per call.
An exported file carries the protocol it was exported with.
"""

import os
import pathlib
import shutil
import tempfile
import uuid
import warnings

import numpy as np

BACKENDS = ("auto", "keras", "saved_model", "onnx")
# Order of preference of `backend="auto"`, fastest first on CPU (measured by
# benchmarks/pix2pix_throughput.py: ONNX Runtime > tf.function > SavedModel).
_AUTO_ORDER = ("onnx", "keras")
DEFAULT_OPSET = 17
# tf2onnx 1.17 knows opsets up to 18 (tf2onnx.constants.OPSET_TO_IR_VERSION); below 13 the
# converter falls back to deprecated op forms (Split/Squeeze/Resize attributes) and writes
# graphs ONNX Runtime rejects, so exports are limited to 13..18.
MIN_OPSET, MAX_OPSET = 13, 18
SAVED_MODEL_ENDPOINT = "serve"


# ------------------------------------------------------------------------------ helpers
def _as_generator(model):
    """The keras.Model to export: the model itself, or the `generator` of a GAN wrapper."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(f"expected a keras.Model generator, got {type(model).__name__}")
    inner = getattr(model, "generator", None)
    if isinstance(inner, keras.Model) and inner is not model:
        return inner
    return model


def _check_single_image_model(generator):
    inputs = generator.inputs or []
    outputs = generator.outputs or []
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            f"expected a generator with one image input and one image output; "
            f"{generator.name!r} has {len(inputs)} inputs and {len(outputs)} outputs"
        )
    input_shape = tuple(generator.input_shape)
    if len(input_shape) != 4:
        raise ValueError(
            f"expected a generator taking (batch, height, width, channels) images; "
            f"{generator.name!r} takes {input_shape}"
        )
    return input_shape


def _input_signature(generator):
    # Explicit, so a generator that was never called (e.g. just cloned or loaded) exports too;
    # the batch axis stays dynamic and the input keeps its layer name.
    import tensorflow as tf

    input_shape = _check_single_image_model(generator)
    name = generator.inputs[0].name.split(":")[0] if generator.inputs else "condition"
    return [tf.TensorSpec((None,) + tuple(input_shape[1:]), tf.float32, name=name)]


def _onnx_modules():
    try:
        import onnxruntime  # noqa: F401
        import tf2onnx  # noqa: F401
    except ImportError as error:
        raise ImportError(
            "ONNX export/inference needs tf2onnx and onnxruntime: pip install 'kerasgan[onnx]' "
            f"(missing: {error.name})"
        ) from error
    return onnxruntime


def onnx_available():
    """Whether tf2onnx and onnxruntime can be imported."""
    try:
        _onnx_modules()
    except ImportError:
        return False
    return True


def _sibling_temp(path, suffix=""):
    # Same folder as the destination, so the final os.replace is an atomic rename.
    return path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:8]}{suffix}")


def _remove(path):
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def cpu_count():
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ------------------------------------------------------------------------------ exports
def _protocol_graph(generator, inference):
    from kerasgan.inference_graph import check_inference, reference_protocol_graph

    check_inference(inference)
    return reference_protocol_graph(generator) if inference == "reference" else generator


def export_saved_model(generator, path, overwrite=True, inference="deterministic"):
    """Export `generator` as a TF SavedModel with a `serve` signature (and `serving_default`).

    The signature takes float32 (batch, height, width, channels) conditions in [-1, 1] and
    runs the generator in inference mode. The folder is written next to `path` and renamed
    into place, so a crash never leaves a half-written SavedModel at `path`. `inference`:
    "deterministic" (default) or "reference" (dropout on, per-example batch statistics, no
    state written; see the module docstring).

    Reload with `tf.saved_model.load(path).serve(conditions)` (no kerasgan needed).

    Returns:
        the `pathlib.Path` of the SavedModel folder.
    """
    generator = _as_generator(generator)
    _check_single_image_model(generator)
    graph = _protocol_graph(generator, inference)
    path = pathlib.Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"export path {path} exists; pass overwrite=True to replace it")
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"export path {path} exists and is a file, not a SavedModel folder")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _sibling_temp(path)
    try:
        graph.export(str(temporary), format="tf_saved_model", verbose=False,
                         input_signature=_input_signature(generator))
        if path.exists():
            old = _sibling_temp(path, ".old")
            os.replace(path, old)
            os.replace(temporary, path)
            _remove(old)
        else:
            os.replace(temporary, path)
    finally:
        if temporary.exists():
            _remove(temporary)
    return path


def export_onnx(generator, path, opset=DEFAULT_OPSET, overwrite=True,
                batch_small_maps=None, inference="deterministic"):
    """Export `generator` to an ONNX file (via tf2onnx) with a dynamic batch axis.

    Needs the optional extra: `pip install 'kerasgan[onnx]'` (tf2onnx, onnxruntime). The graph
    runs the generator in inference mode; ONNX Runtime reproduces the Keras outputs to ~1e-7.
    Convolutions on maps of at most `batch_small_maps` positions (the U-Net bottleneck) are
    written as one MatMul over the batch, which reads their weights once per batch instead of
    once per image (`kerasgan.inference_graph`; same outputs, ~15 % more images/s at 128 px
    batch 8); None takes `inference_graph.DEFAULT_MAX_PIXELS` (16), 0 exports the layers as
    they are. `inference`: "deterministic" (default) or "reference" (module docstring).

    Returns:
        the `pathlib.Path` of the .onnx file.
    """
    if isinstance(opset, bool) or not isinstance(opset, (int, np.integer)):
        raise TypeError(f"opset must be an integer in {MIN_OPSET}..{MAX_OPSET}, got {opset!r}")
    if not MIN_OPSET <= opset <= MAX_OPSET:
        raise ValueError(f"opset must be in {MIN_OPSET}..{MAX_OPSET} (what tf2onnx converts and ONNX "
                         f"Runtime runs), got {opset}")
    _onnx_modules()
    from kerasgan.inference_graph import DEFAULT_MAX_PIXELS, batch_small_convolutions

    generator = _as_generator(generator)
    _check_single_image_model(generator)
    protocol_graph = _protocol_graph(generator, inference)
    if batch_small_maps is None:
        batch_small_maps = DEFAULT_MAX_PIXELS
    if isinstance(batch_small_maps, bool) or not isinstance(batch_small_maps, (int, np.integer)) \
            or batch_small_maps < 0:
        raise ValueError(f"batch_small_maps must be an integer >= 0, got {batch_small_maps!r}")
    path = pathlib.Path(path)
    if path.exists() and not overwrite:
        raise FileExistsError(f"export path {path} exists; pass overwrite=True to replace it")
    if path.is_dir():
        raise IsADirectoryError(f"ONNX export path {path} is a folder; give a file name (*.onnx)")
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = _sibling_temp(path, ".onnx")
    try:
        with warnings.catch_warnings():
            # Keras' tf2onnx shim probes np.object, which numpy 2 deprecates: not ours to fix.
            warnings.simplefilter("ignore", FutureWarning)
            graph = batch_small_convolutions(protocol_graph, int(batch_small_maps))
            graph.export(str(temporary), format="onnx", opset_version=int(opset),
                         verbose=False, input_signature=_input_signature(generator))
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()
    return path


# ------------------------------------------------------------------------------ runners
class _KerasRunner:
    """`tf.function` over the generator with a fixed input signature: traced once, any batch."""

    name = "keras"

    def __init__(self, generator, input_shape):
        import tensorflow as tf

        self.generator = generator
        spec = tf.TensorSpec((None,) + tuple(input_shape[1:]), tf.float32, name="condition")

        @tf.function(input_signature=[spec], jit_compile=False, reduce_retracing=True)
        def run(conditions):
            return generator(conditions, training=False)

        self._run = run

    def __call__(self, batch):
        return self._run(batch).numpy()


class _SavedModelRunner:
    name = "saved_model"

    def __init__(self, path):
        import tensorflow as tf

        self.loaded = tf.saved_model.load(str(path))
        if SAVED_MODEL_ENDPOINT in self.loaded.signatures:
            self._function = self.loaded.signatures[SAVED_MODEL_ENDPOINT]
        elif "serving_default" in self.loaded.signatures:
            self._function = self.loaded.signatures["serving_default"]
        else:
            raise ValueError(
                f"SavedModel {path} has no 'serve' or 'serving_default' signature "
                f"(signatures: {sorted(self.loaded.signatures)})"
            )
        input_specs = self._function.structured_input_signature[1]
        output_specs = self._function.structured_outputs
        if len(input_specs) != 1 or len(output_specs) != 1:
            raise ValueError(
                f"SavedModel {path} must take one image and return one image; its signature has "
                f"inputs {sorted(input_specs)} and outputs {sorted(output_specs)}"
            )
        (self._input_name, input_spec), = input_specs.items()
        (self._output_name, output_spec), = output_specs.items()
        self.input_shape = tuple(input_spec.shape.as_list())
        self.output_shape = tuple(output_spec.shape.as_list())

    def __call__(self, batch):
        return self._function(**{self._input_name: batch})[self._output_name].numpy()


class _OnnxRunner:
    """ONNX Runtime on the CPU cores this process may use.

    A batch of two or more images is split across the cores and the parts run at the same
    time, each as a one-thread call (`InferenceSession.run` is thread-safe and releases the
    GIL); measured at 128 px batch 8 on 2 cores this is ~8 % faster than one call with a
    thread per core, which synchronises its threads inside every convolution. A single image
    runs as one call with a thread per core.
    """

    name = "onnx"

    def __init__(self, model_path_or_bytes, threads=None):
        self._onnxruntime = _onnx_modules()
        if isinstance(model_path_or_bytes, (str, os.PathLike)):
            # Kept in memory: the second session is made on first need, maybe after the file went.
            model_path_or_bytes = pathlib.Path(model_path_or_bytes).read_bytes()
        self._model = model_path_or_bytes
        self.threads = int(threads or cpu_count())
        self._sessions = {}
        self._pool = None
        session = self._session(1 if self.threads > 1 else self.threads)
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ValueError("the ONNX model must take one image and return one image")
        self._input_name = inputs[0].name

        def shape(dims):
            return tuple(d if isinstance(d, int) else None for d in dims)

        self.input_shape = shape(inputs[0].shape)
        self.output_shape = shape(outputs[0].shape)

    def _session(self, threads):
        session = self._sessions.get(threads)
        if session is None:
            onnxruntime = self._onnxruntime
            options = onnxruntime.SessionOptions()
            # A U-Net is a chain of convolutions: parallelism is inside ops, not between them.
            options.intra_op_num_threads = threads
            options.inter_op_num_threads = 1
            options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            session = onnxruntime.InferenceSession(
                self._model, sess_options=options, providers=["CPUExecutionProvider"]
            )
            self._sessions[threads] = session
        return session

    def _run(self, session, batch):
        return session.run(None, {self._input_name: batch})[0]

    def __call__(self, batch):
        workers = min(self.threads, len(batch))
        if workers <= 1:
            return self._run(self._session(self.threads), batch)
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="kerasgan-onnx")
        session = self._session(1)
        parts = np.array_split(batch, workers)
        return np.concatenate(list(self._pool.map(lambda part: self._run(session, part), parts)))


# ------------------------------------------------------------------------------ BulkGenerator
class BulkGenerator:
    """Run an image generator over many conditions, batch by batch, on the fastest CPU path.

    Args:
        generator_or_path: a Keras generator (or a GAN wrapper with a `.generator`), a `.keras`
            file, a SavedModel folder or a `.onnx` file.
        backend: "auto" (ONNX Runtime if tf2onnx and onnxruntime are installed, else
            "keras"), "keras" (a `tf.function` with a fixed input signature), "saved_model"
            (export then `tf.saved_model.load`) or "onnx" (tf2onnx + ONNX Runtime).
        batch_size: images per forward pass (8 is the throughput sweet spot on 2 cores).
        threads: cores for ONNX Runtime (default: the cores this process may use); a batch
            is split into that many parts run at the same time.
        progress: show a tqdm bar; None shows it when there are more than 4 batches.
        inference: "deterministic" (default for a Keras generator) or "reference" (dropout
            on, per-example batch statistics, no state written). An exported SavedModel or
            .onnx file runs the protocol it was exported with; None accepts that.

    Calling it with float conditions in [-1, 1] of shape (N, H, W, C) (or one (H, W, C)
    image) returns float32 images of shape (N, H', W', C') (or (H', W', C')). Outputs match
    the Keras generator in inference mode to 1e-4.
    """

    def __init__(self, generator_or_path, backend="auto", batch_size=8, threads=None,
                 progress=None, inference=None):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if threads is not None and (isinstance(threads, bool) or not isinstance(threads, (int, np.integer))
                                    or threads < 1):
            raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
        if inference is not None:
            from kerasgan.inference_graph import check_inference

            check_inference(inference)
        self.inference = inference
        self.batch_size = int(batch_size)
        self.progress = progress
        self.threads = threads
        self.source = generator_or_path
        self._runner = self._make_runner(generator_or_path, backend)
        self.backend = self._runner.name

    # ---------------------------------------------------------------- construction
    def _make_runner(self, source, backend):
        import keras

        if isinstance(source, keras.Model):
            generator = _as_generator(source)
            return self._runner_for_model(generator, backend)
        if not isinstance(source, (str, os.PathLike)):
            raise TypeError(
                "BulkGenerator takes a keras.Model, a .keras file, a SavedModel folder or a "
                f".onnx file; got {type(source).__name__}"
            )
        path = pathlib.Path(source)
        if not path.exists():
            raise FileNotFoundError(f"generator file or folder not found: {path}")
        if self.inference is not None and (path.is_dir() or path.suffix.lower() == ".onnx"):
            raise ValueError(
                f"{path} is an exported generator: it runs the inference protocol it was exported "
                f"with; export it with inference={self.inference!r} (or pass inference=None)"
            )
        if path.is_dir():
            if not (path / "saved_model.pb").exists():
                raise ValueError(f"{path} is a folder but not a SavedModel (no saved_model.pb)")
            if backend not in ("auto", "saved_model"):
                raise ValueError(
                    f"a SavedModel folder runs with backend='saved_model', not {backend!r}; "
                    "load the Keras generator to use the other backends"
                )
            runner = _SavedModelRunner(path)
            self.input_shape, self.output_shape = runner.input_shape, runner.output_shape
            return runner
        suffix = path.suffix.lower()
        if suffix == ".onnx":
            if backend not in ("auto", "onnx"):
                raise ValueError(f"an .onnx file runs with backend='onnx', not {backend!r}")
            runner = _OnnxRunner(str(path), self.threads)
            self.input_shape, self.output_shape = runner.input_shape, runner.output_shape
            return runner
        if suffix in (".keras", ".h5"):
            from kerasgan.serialization import load_keras_model
            generator = _as_generator(load_keras_model(path, compile=False))
            return self._runner_for_model(generator, backend)
        raise ValueError(
            f"cannot tell what {path} holds: expected a .keras file, a .onnx file or a "
            "SavedModel folder"
        )

    def _runner_for_model(self, generator, backend):
        self.input_shape = _check_single_image_model(generator)
        self.output_shape = tuple(generator.output_shape)
        self.inference = self.inference or "deterministic"
        exported = generator
        generator = _protocol_graph(generator, self.inference)
        if backend == "auto":
            backend = next(
                (name for name in _AUTO_ORDER if name != "onnx" or onnx_available()), "keras"
            )
        if backend == "keras":
            return _KerasRunner(generator, self.input_shape)
        with tempfile.TemporaryDirectory(prefix="kerasgan-export-") as folder:
            # The runtimes read the whole model into memory, so the files can go afterwards.
            if backend == "saved_model":
                return _SavedModelRunner(export_saved_model(exported, pathlib.Path(folder) / "g",
                                                            inference=self.inference))
            path = export_onnx(exported, pathlib.Path(folder) / "generator.onnx",
                               inference=self.inference)
            return _OnnxRunner(str(path), self.threads)

    # ---------------------------------------------------------------- running
    def _check(self, conditions):
        if hasattr(conditions, "numpy") and not isinstance(conditions, np.ndarray):
            conditions = conditions.numpy()
        conditions = np.asarray(conditions)
        if conditions.dtype == object or not (
            np.issubdtype(conditions.dtype, np.floating)
        ):
            raise TypeError(
                f"conditions must be floating point images in [-1, 1], got dtype "
                f"{conditions.dtype} (convert uint8/uint16 images with "
                "kerasgan.transforms.to_minus_one_one(kerasgan.data.image_io.to_unit_float(x)))"
            )
        expected = tuple(self.input_shape[1:])
        single = conditions.ndim == len(expected)
        if single:
            conditions = conditions[None]
        if conditions.ndim != len(expected) + 1:
            raise ValueError(
                f"conditions must have shape (N, {', '.join(map(str, expected))}) or "
                f"({', '.join(map(str, expected))}); got {conditions.shape}"
            )
        for axis, (want, got) in enumerate(zip(expected, conditions.shape[1:])):
            if want is not None and want != got:
                what = ("height", "width", "channels")[axis] if len(expected) == 3 else f"axis {axis + 1}"
                raise ValueError(
                    f"conditions have {got} {what} but the generator expects {want}: input "
                    f"shape (N, {', '.join(map(str, expected))}), got {conditions.shape}"
                )
        conditions = np.ascontiguousarray(conditions, dtype=np.float32)
        finite = np.isfinite(conditions)
        if not finite.all():
            bad = sorted(set(np.argwhere(~finite)[:, 0].tolist()))
            raise ValueError(
                f"conditions contain NaN or infinite values (images {bad[:10]}"
                f"{' ...' if len(bad) > 10 else ''})"
            )
        return conditions, single

    def __call__(self, conditions):
        conditions, single = self._check(conditions)
        count = conditions.shape[0]
        starts = range(0, count, self.batch_size)
        show = self.progress if self.progress is not None else len(starts) > 4
        if show:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=f"generating ({self.backend})", unit="batch")
        outputs = [self._runner(conditions[start:start + self.batch_size]) for start in starts]
        if not outputs:
            shape = tuple(0 if d is None else d for d in self.output_shape[1:])
            result = np.zeros((0,) + shape, np.float32)
        else:
            result = np.concatenate(outputs, axis=0).astype(np.float32, copy=False)
        return result[0] if single else result

    def __repr__(self):
        return (f"BulkGenerator(backend={self.backend!r}, batch_size={self.batch_size}, "
                f"inference={self.inference!r}, "
                f"input_shape={self.input_shape}, output_shape={self.output_shape})")
