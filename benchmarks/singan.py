"""SinGAN training speed: seconds per iteration (3 critic steps with gradient penalty + 3
generator steps with reconstruction) at the four reference scales, XLA on/off, oneDNN on/off.

    python benchmarks/singan.py                       # all rows, XLA on and off, oneDNN on
    python benchmarks/singan.py --rows 0 1 --onednn both
    python benchmarks/singan.py --quick               # fewer timed iterations

Each row trains one `SinGANScale` exactly as `SinGAN.fit` does (same dataset with fresh
random draws through the coarser scales each critic step, same compiled step, steps per
execution), on a random 3-channel image, with the coarser scales of a 0.75 pyramid from 25x33
up to the row's size in place (random weights: their cost, not their values, matters). The
first call (trace/XLA compile) is timed separately and excluded from s/iteration.

The machine is a shared 2-core CPU: other jobs run at the same time, so absolute numbers are
noisy; the load average at the start and end of each row is recorded next to its timing, and
the process CPU time per iteration (all threads; what the step costs regardless of how many
other jobs compete) is printed beside the wall time. The bars are wall-clock s/iteration.
The total for a full 250 px, 2000-iteration run is extrapolated from the rows (per scale,
the nearest measured row scaled by pixels x filters^2).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import time

# Reference PyTorch SinGAN (official architecture and losses) on this CPU, from the issue.
ROWS = [
    # (height, width, filters, reference s/iteration, bar s/iteration)
    (25, 33, 32, 0.072, 0.036),
    (59, 79, 32, 0.22, 0.11),
    (105, 140, 64, 1.88, 1.9),
    (188, 250, 128, 19.3, 19.3),
]
CHAIN = [(25, 33), (33, 44), (44, 59), (59, 79), (79, 105), (105, 140), (141, 188), (188, 250)]
RESULTS = pathlib.Path(__file__).resolve().parent / "results" / "singan.json"


def _load():
    return os.getloadavg()[0]


def measure_row(row, jit, warmup, timed):
    import numpy as np
    import tensorflow as tf

    from kerasgan.models.singan import SinGANScale, _steps_per_execution, singan_optimizer
    from kerasgan.networks.singan_blocks import scale_filters, singan_critic, singan_generator

    height, width, filters = ROWS[row][:3]
    scale = CHAIN.index((height, width))
    channels = 3
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (height, width, channels)).astype(np.float32)
    previous_generators = [singan_generator(channels, scale_filters(i)) for i in range(scale)]

    draw = None
    if scale:
        from kerasgan.models.singan import resize_images

        # autograph off (a plain Python loop), as SinGAN's own sampler: tf.data traces this in
        # its own thread while fit traces the step, and autograph conversion is not thread-safe
        @tf.function(autograph=False)
        def draw(count):
            image = tf.zeros((count, *CHAIN[0], channels))
            for index, generator in enumerate(previous_generators):
                if index:
                    image = resize_images(image, CHAIN[index])
                noise = 0.1 * tf.random.normal((count, *CHAIN[index], channels))
                image = generator([noise, image], training=False)
            return resize_images(image, (height, width))

    trainer = SinGANScale(singan_generator(channels, filters), singan_critic(channels, filters))
    steps = _steps_per_execution(timed) if timed >= 10 else 1
    trainer.compile(singan_optimizer(2000), singan_optimizer(2000), jit_compile=jit, steps_per_execution=steps)
    dataset = SinGANScale.dataset(real, 0.1, np.zeros((1, 1, 1, 1), np.float32),
                                  np.zeros((1, height, width, channels), np.float32), draw,
                                  coarsest=scale == 0)
    # Steady state: one fit of warmup + timed iterations, timed between the ends of compiled
    # executions (fit's start-up, the trace/compile and the prefetch fill are excluded, as they
    # are once per scale in a 2000-iteration run).
    marks = _ExecutionMarks()
    warmup = max(warmup, steps)
    load_before = _load()
    started = time.perf_counter()
    trainer.fit(dataset, epochs=1, steps_per_epoch=warmup + timed, shuffle=False, verbose=0,
                callbacks=[marks])
    first = next(i for i, (step, _, _) in enumerate(marks.marks) if step >= warmup)
    (step0, wall0, cpu0), (step1, wall1, cpu1) = marks.marks[first], marks.marks[-1]
    first_call = marks.marks[0][1] - started
    per_iteration = (wall1 - wall0) / (step1 - step0)
    cpu_per_iteration = (cpu1 - cpu0) / (step1 - step0)
    timed = step1 - step0
    return {"height": height, "width": width, "filters": filters, "xla": jit,
            "seconds_per_iteration": per_iteration, "first_call_seconds": first_call,
            "cpu_seconds_per_iteration": cpu_per_iteration,
            "timed_iterations": timed, "load_before": load_before, "load_after": _load()}


def iteration_gflop(height, width, filters, channels=3, kernel=3, blocks=5):
    """Convolution GFLOP of one SinGAN iteration (multiply-adds x 2), counted per pass.

    F_G / F_D: one forward pass of the generator (input zero-padded by 5, valid convs) and of
    the critic (valid convs on the image); a conv's input-gradient and filter-gradient passes
    each cost about its forward. Per critic step: the generator's fake (F_G), the critic on real
    and fake (2 F_D) and their backward (4 F_D), and the gradient penalty (6 F_D: forward,
    input gradient, and the gradient of that gradient back through both). Per generator step:
    the random and reconstruction passes (2 F_G), their backward (4 F_G), the critic on the
    fake and its input gradient (2 F_D). So 3 (F_G + 12 F_D) + 3 (6 F_G + 2 F_D).
    """
    def network(h, w, widths):
        flop = 0
        for index, (c_in, c_out) in enumerate(widths, start=1):
            flop += 2 * (h - 2 * index * (kernel // 2)) * (w - 2 * index * (kernel // 2)) * kernel ** 2 * c_in * c_out
        return flop

    inner = [(filters, filters)] * (blocks - 2)
    pad = blocks * (kernel // 2)
    generator = network(height + 2 * pad, width + 2 * pad, [(channels, filters)] + inner + [(filters, channels)])
    critic = network(height, width, [(channels, filters)] + inner + [(filters, 1)])
    return (21 * generator + 42 * critic) / 1e9


def conv_kernel_gflops(height, width, filters, repeats=50):
    """GFLOP/s of a filters->filters 3x3 conv's forward, input-gradient and filter-gradient ops
    at the row's size, each as `repeats` independent ops in one graph (the executor may run
    two at once): what the kernels deliver with nothing else in the step around them."""
    import tensorflow as tf

    x = tf.random.normal((1, height + 6, width + 6, filters))
    kernel = tf.random.normal((3, 3, filters, filters)) * 0.05
    gradient = tf.random.normal((1, height + 4, width + 4, filters))
    flop = 2 * (height + 4) * (width + 4) * 9 * filters * filters
    ops = {
        "forward": lambda i: tf.nn.conv2d(x + i, kernel, 1, "VALID"),
        "input_gradient": lambda i: tf.raw_ops.Conv2DBackpropInput(
            input_sizes=tf.shape(x), filter=kernel + i, out_backprop=gradient, strides=[1, 1, 1, 1],
            padding="VALID"),
        "filter_gradient": lambda i: tf.raw_ops.Conv2DBackpropFilter(
            input=x + i, filter_sizes=tf.shape(kernel), out_backprop=gradient, strides=[1, 1, 1, 1],
            padding="VALID"),
    }
    rates = {}
    for name, op in ops.items():
        @tf.function
        def run(op=op):
            total = tf.constant(0.0)
            for index in range(repeats):
                total += tf.reduce_sum(op(float(index)))
            return total

        run()
        started = time.perf_counter()
        for _ in range(3):
            run().numpy()
        rates[name] = 3 * repeats * flop / (time.perf_counter() - started) / 1e9
    return rates


class _ExecutionMarks:
    """Keras callback: (iterations done, wall, process CPU time) at the end of each execution."""

    def __new__(cls):
        import keras

        class Marks(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.marks = []

            def on_train_batch_end(self, batch, logs=None):
                self.marks.append((batch + 1, time.perf_counter(), time.process_time()))

        return Marks()


def run_child(args):
    import kerasgan  # noqa: F401  (sets oneDNN before TensorFlow loads)
    from kerasgan._runtime import onednn_enabled

    results = []
    for row in args.rows:
        big = ROWS[row][0] * ROWS[row][1] * ROWS[row][2] ** 2 > 2e8
        timed = (2 if args.quick else 3) if big else (20 if args.quick else 200)
        warmup = 1 if big else 10
        for jit in args.xla:
            result = measure_row(row, jit, warmup, timed)
            result["onednn"] = onednn_enabled()
            result["intra_op_threads"] = int(os.environ.get("TF_NUM_INTRAOP_THREADS", "0")) or "default"
            result["conv_gflop_per_iteration"] = iteration_gflop(*ROWS[row][:3])
            result["conv_kernel_gflops_alone"] = conv_kernel_gflops(*ROWS[row][:3])
            print(json.dumps(result), flush=True)
            results.append(result)
    return results


def extrapolate_total(results, iterations=2000):
    """Seconds for a full 188x250 run: each pyramid scale from the nearest measured row."""
    from kerasgan.models.singan import pyramid_shapes
    from kerasgan.networks.singan_blocks import scale_filters

    if not results:
        return None
    shapes, _ = pyramid_shapes(188, 250)
    total = 0.0
    for scale, (height, width) in enumerate(shapes):
        filters = scale_filters(scale)
        work = height * width * filters ** 2
        nearest = min(results, key=lambda r: abs(r["height"] * r["width"] - height * width))
        nearest_work = nearest["height"] * nearest["width"] * nearest["filters"] ** 2
        total += nearest["seconds_per_iteration"] * max(work / nearest_work, 0.0) * iterations
    return total


def reconstruction_bar(max_size=40, iterations=2000, seed=0):
    """Train with the default settings at a small size; RMSE of the fixed-noise reconstruction.

    Image: scikit-image `immunohistochemistry` (real histology, 512x512 RGB, ships offline).
    """
    import kerasgan  # noqa: F401
    import numpy as np
    from skimage import data

    from kerasgan._runtime import set_intra_op_threads
    from kerasgan.models import SinGAN
    from kerasgan.models.singan import preferred_intra_op_threads

    image = data.immunohistochemistry()
    # the threads `kerasgan train singan` would pick for this pyramid (before TensorFlow starts)
    threads = preferred_intra_op_threads(*image.shape[:2], max_size=max_size)
    set_intra_op_threads(threads)
    started = time.time()
    model = SinGAN(max_size=max_size, seed=seed)
    model.fit(image, iterations_per_scale=iterations, verbose=2)
    rmse = model.reconstruction_rmse()
    # RMSE of each scale of the fixed-noise chain against that scale's training image: where
    # the error comes from (the finest one, before clipping, is the bar's number).
    per_scale = [float(np.sqrt(np.mean((rec[0] - real) ** 2)))
                 for rec, real in zip(model._reconstructions, model.reals())]
    result = {"image": "skimage.data.immunohistochemistry (real histology)", "max_size": max_size,
              "iterations_per_scale": iterations, "scales": [list(s) for s in model.shapes],
              "intra_op_threads": threads or "default",
              "reconstruction_rmse": rmse, "per_scale_rmse": per_scale,
              "bar": 0.05, "bar_met": rmse <= 0.05,
              "wall_seconds": time.time() - started,
              "per_scale_seconds": [h["seconds"] for h in model.history]}
    print(f"reconstruction RMSE (finest scale, fixed noise, [-1, 1] units): {rmse:.4f} "
          f"(bar <= 0.05: {'met' if rmse <= 0.05 else 'NOT met'})", flush=True)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=list(range(len(ROWS))))
    parser.add_argument("--xla", choices=["on", "off", "both"], default="both")
    parser.add_argument("--onednn", choices=["on", "off", "both"], default="on")
    parser.add_argument("--threads", choices=["default", "one-per-op", "both"], default="both",
                        help="TensorFlow intra-op threads: default (all cores per op) or one per op "
                             "(TF_NUM_INTRAOP_THREADS=1; the cores then run independent ops)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reconstruction", action="store_true",
                        help="only run the reconstruction bar (default training at a small max_size)")
    parser.add_argument("--max-size", type=int, default=40, help="max_size of the reconstruction run")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)  # "1,0": XLA settings
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)
    args.xla = [x == "1" for x in args.child.split(",")] if args.child else \
        {"on": [True], "off": [False], "both": [True, False]}[args.xla]

    if args.reconstruction:
        result = reconstruction_bar(max_size=args.max_size)
        output = pathlib.Path(args.out)
        payload = json.loads(output.read_text()) if output.exists() else {}
        result["command"] = f"python benchmarks/singan.py --reconstruction --max-size {args.max_size}"
        runs = payload.setdefault("reconstruction_runs", {})  # the latest run of each size
        runs[f"max_size={args.max_size}"] = result
        # "reconstruction" is the bar's setting (the default size) once it has been run
        payload["reconstruction"] = runs.get(f"max_size={parser.get_default('max_size')}", result)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(payload, indent=1))
        return 0

    if args.child:
        run_child(args)
        return 0

    results = []
    settings = [(onednn, threads)
                for onednn in {"on": ["1"], "off": ["0"], "both": ["1", "0"]}[args.onednn]
                for threads in {"default": [None], "one-per-op": ["1"], "both": ["1", None]}[args.threads]]
    for onednn, threads in settings:
        command = [sys.executable, __file__, "--child", ",".join("1" if x else "0" for x in args.xla),
                   "--rows", *map(str, args.rows)] + (["--quick"] if args.quick else [])
        environment = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=onednn, TF_CPP_MIN_LOG_LEVEL="2")
        environment.pop("TF_NUM_INTRAOP_THREADS", None)
        if threads:
            environment["TF_NUM_INTRAOP_THREADS"] = threads
        process = subprocess.run(command, env=environment, capture_output=True, text=True)
        if process.returncode:
            print(process.stderr[-3000:], file=sys.stderr)
        for line in process.stdout.splitlines():
            if line.startswith("{"):
                results.append(json.loads(line))

    header = (f"{'scale':>9} {'filters':>7} {'oneDNN':>6} {'XLA':>4} {'threads':>7} {'s/iter':>8} {'cpu s/it':>8} {'ref':>6} "
              f"{'bar':>6} {'met':>4} {'1st call s':>10} {'load':>9} {'GFLOP/it':>8} {'GFLOP/s':>7} "
              f"{'bar needs':>9} {'kernels alone fwd/in/filter':>27}")
    print(header)
    print("-" * len(header))
    for result in results:
        row = next(r for r in ROWS if r[:3] == (result["height"], result["width"], result["filters"]))
        result["reference_seconds_per_iteration"], result["bar_seconds_per_iteration"] = row[3], row[4]
        result["bar_met"] = result["seconds_per_iteration"] <= row[4]
        print(f"{result['height']:>4}x{result['width']:<4} {result['filters']:>7} "
              f"{'on' if result['onednn'] else 'off':>6} {'on' if result['xla'] else 'off':>4} "
              f"{'1/op' if result.get('intra_op_threads') == 1 else 'all':>7} "
              f"{result['seconds_per_iteration']:>8.3f} {result['cpu_seconds_per_iteration']:>8.3f} "
              f"{row[3]:>6.3f} {row[4]:>6.3f} "
              f"{'yes' if result['bar_met'] else 'NO':>4} {result['first_call_seconds']:>10.1f} "
              f"{result['load_before']:>4.1f}/{result['load_after']:<4.1f} "
              f"{result['conv_gflop_per_iteration']:>8.2f} "
              f"{result['conv_gflop_per_iteration'] / result['seconds_per_iteration']:>7.0f} "
              f"{result['conv_gflop_per_iteration'] / row[4]:>9.0f} "
              f"{'/'.join(f'{v:.0f}' for v in result['conv_kernel_gflops_alone'].values()):>27}")
    output = pathlib.Path(args.out)
    previous = json.loads(output.read_text()) if output.exists() else {}
    merged = {json.dumps([r["height"], r["width"], r["filters"], r["xla"], r["onednn"],
                          r.get("intra_op_threads", "default")]): r
              for r in previous.get("results", []) + results}
    # A run uses one setting for all its scales (threads are per process): extrapolate each.
    totals = {}
    for result in merged.values():
        setting = f"xla={'on' if result['xla'] else 'off'} oneDNN={'on' if result['onednn'] else 'off'} " \
                  f"threads={result.get('intra_op_threads', 'default')}"
        totals.setdefault(setting, []).append(result)
    totals = {setting: extrapolate_total(rows) for setting, rows in totals.items() if len(rows) == len(ROWS)}
    for setting, total in totals.items():
        print(f"extrapolated full run (188x250, 10 scales, 2000 iterations each), {setting}: "
              f"{total / 3600:.1f} h")
    output.parent.mkdir(parents=True, exist_ok=True)
    reconstruction = {key: value for key, value in previous.items() if key.startswith("reconstruction")}
    payload = {"command": "python benchmarks/singan.py " + " ".join(argv or sys.argv[1:]),
               "cpu_count": os.cpu_count(), "note": "shared 2-core CPU; load average recorded per row",
               "results": list(merged.values()),
               "extrapolated_full_run_seconds": totals}
    payload.update(reconstruction)  # the reconstruction runs are kept, not re-measured here
    output.write_text(json.dumps(payload, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
