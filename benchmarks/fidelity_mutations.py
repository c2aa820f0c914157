"""Plant one fidelity bug at a time in a private clone and check the fast suite catches it (issue 12).

Each mutation is a named list of exact source edits (file, old text, new text). The old text
must occur exactly once in its file: when a refactor removes or duplicates it, the mutation is
reported as "no longer applies" instead of passing silently, and has to be re-pointed at the
new code. For each mutation the edits are applied in the clone, the fast tests most likely to
catch it (a fixed list of test files or test ids, -m "not slow", -x, a timeout) run there with
PYTHONPATH set to the clone, the result (caught or not, the failing test ids, seconds) is
recorded, and the files are restored (`git checkout --`) before the next one.

    git clone -q /work/main /tmp/mutants/clone   # never plant bugs in a shared working tree
    python benchmarks/fidelity_mutations.py --clone /tmp/mutants/clone
    python benchmarks/fidelity_mutations.py --clone /tmp/mutants/clone --only ms_detached,p2p_l1_detached
    python benchmarks/fidelity_mutations.py --check     # only check that every mutation applies

The clone must be clean in every file a mutation edits (checked). Unless --no-baseline, the
union of the selected tests first runs on the clean clone: a mutation can only count as caught
when its tests pass without it. Results go to benchmarks/results/fidelity_mutations.json (with
--only, the selected rows are merged into the existing file).
"""

import argparse
import dataclasses
import json
import os
import pathlib
import re
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results" / "fidelity_mutations.json"
sys.path.insert(0, str(HERE))

P2P = "kerasgan/models/pix2pix.py"
MS = "kerasgan/models/mode_seeking_pix2pix.py"
MASK = "kerasgan/models/mask_gan.py"
SIN = "kerasgan/models/singan.py"
LOSSES = "kerasgan/losses.py"
APPENDIX = "kerasgan/networks/appendix_generator.py"
PIPELINE = "kerasgan/syncgan/pipeline.py"
STUDY = "kerasgan/syncgan/study.py"

T_P2P = "tests/test_objectives_pix2pix.py"
T_MASK = "tests/test_objectives_mask_gan.py"
T_SIN = "tests/test_objectives_singan.py"
T_DEV = "tests/test_objectives_deviations.py"
T_REF = "tests/test_reference_equivalence.py"
T_SYNC_MODELS = "tests/test_syncgan_models.py"
T_INFER = "tests/test_inference_protocol_paths.py"


@dataclasses.dataclass(frozen=True)
class Mutation:
    name: str
    description: str
    edits: tuple  # ((file, old, new), ...)
    tests: tuple  # test files or test ids, run in this order with -x


def M(name, description, edits, tests):
    return Mutation(name, description, tuple(edits), tuple(tests))


MUTATIONS = [
    # ------------------------------------------------------------ pix2pix (Isola et al.)
    M("p2p_d_targets_swapped", "pix2pix D: real target 0, fake target 1",
      [(P2P, "real = losses.adversarial_loss(real_logits, 1.0, self.gan_loss)\n"
             "        fake = losses.adversarial_loss(fake_logits, 0.0, self.gan_loss)",
        "real = losses.adversarial_loss(real_logits, 0.0, self.gan_loss)\n"
        "        fake = losses.adversarial_loss(fake_logits, 1.0, self.gan_loss)")],
      [T_P2P]),
    M("p2p_d_half_removed", "pix2pix D loss without the 0.5 factor",
      [(P2P, "return 0.5 * (real + fake)", "return real + fake")], [T_P2P]),
    M("p2p_g_target_zero", "pix2pix G adversarial target 0 instead of 1",
      [(P2P, "gan = losses.adversarial_loss(fake_logits, 1.0, self.gan_loss)",
        "gan = losses.adversarial_loss(fake_logits, 0.0, self.gan_loss)")], [T_P2P]),
    M("p2p_l1_detached", "pix2pix L1 term detached from the generator's gradient",
      [(P2P, "reconstruction = losses.reconstruction_loss(self.reconstruction_loss)(fake, target)",
        "reconstruction = losses.reconstruction_loss(self.reconstruction_loss)(ops.stop_gradient(fake), target)")],
      [T_P2P]),
    M("p2p_gan_term_detached", "pix2pix G adversarial term detached (D sees stop_gradient(G(x)) in the G step)",
      [(P2P, "fake_logits = self.discriminator(self.discriminator_input(condition, fake), training=True)",
        "fake_logits = self.discriminator(self.discriminator_input(condition, ops.stop_gradient(fake)), training=True)")],
      [T_P2P]),
    M("p2p_l1_weight_10", "pix2pix default lambda 100 -> 10",
      [(P2P, "        l1_weight=100.0,\n        reconstruction_loss=\"l1\",",
        "        l1_weight=10.0,\n        reconstruction_loss=\"l1\",")], [T_P2P]),
    M("bce_lsgan_swapped", "adversarial_loss: 'bce' computes LSGAN and 'lsgan' computes BCE",
      [(LOSSES, 'if kind == "bce":\n        values = ops.binary_crossentropy(target, logits, from_logits=True)\n'
                '    elif kind == "lsgan":',
        'if kind == "lsgan":\n        values = ops.binary_crossentropy(target, logits, from_logits=True)\n'
        '    elif kind == "bce":')], [T_P2P]),
    # ------------------------------------------------------------ mode seeking (Allender et al. eq. 4)
    M("ms_detached", "mode-seeking term detached from the generator's gradient",
      [(MS, 'ops.cast(condition, "float32"), ops.cast(fake, "float32"),',
        'ops.cast(condition, "float32"), ops.stop_gradient(ops.cast(fake, "float32")),')], [T_P2P]),
    M("ms_ratio_inverted", "mode-seeking ratio inverted: ||G1 - G2|| / (||x1 - x2|| + eps)",
      [(LOSSES, "return condition_distance / (output_distance + epsilon)",
        "return output_distance / (condition_distance + epsilon)")], [T_P2P]),
    M("ms_eps_1e-3", "mode-seeking eps 1e-5 -> 1e-3",
      [(LOSSES, "MODE_SEEKING_EPSILON = 1e-5", "MODE_SEEKING_EPSILON = 1e-3")], [T_P2P]),
    M("ms_channel_mean", "mode-seeking norms averaged over channels too (eq. 4 scaled by C_G / C_x)",
      [(LOSSES, "condition_distance = l1_per_example(conditions, partner_conditions) * _channels(conditions)\n"
                "    output_distance = l1_per_example(outputs, partner_outputs) * _channels(outputs)",
        "condition_distance = l1_per_example(conditions, partner_conditions)\n"
        "    output_distance = l1_per_example(outputs, partner_outputs)")], [T_P2P]),
    M("ms_weight_1", "mode-seeking default mu 10 -> 1",
      [(MS, "        mode_seeking_weight=10.0,\n        mode_seeking_epsilon=",
        "        mode_seeking_weight=1.0,\n        mode_seeking_epsilon=")], [T_P2P]),
    # ------------------------------------------------------------ SynCGAN mask GAN (Dey et al.)
    M("mask_g_target_095", "mask GAN generator trained towards 0.95 instead of 1",
      [(MASK, 'return losses.adversarial_loss(fake_logits, 1.0, "bce")',
        'return losses.adversarial_loss(fake_logits, 0.95, "bce")')], [T_MASK]),
    M("mask_d_half_added", "mask GAN D loss halved (eq. 5 has no 0.5)",
      [(MASK, 'return (losses.adversarial_loss(real_logits, real_labels, "bce")',
        'return 0.5 * (losses.adversarial_loss(real_logits, real_labels, "bce")')], [T_MASK]),
    M("mask_real_smoothing_0.8", "mask GAN real-label smoothing U(0.9, 1) -> U(0.8, 1)",
      [(MASK, "real_label_range=(0.9, 1.0),", "real_label_range=(0.8, 1.0),")], [T_MASK, T_SYNC_MODELS]),
    M("mask_fake_smoothing_zero", "mask GAN fake-label smoothing U(0, 0.1) -> 0",
      [(MASK, "fake_label_range=(0.0, 0.1),", "fake_label_range=(0.0, 0.0),")], [T_MASK, T_SYNC_MODELS]),
    M("mask_flip_disabled", "mask GAN label flipping disabled",
      [(MASK, "flip = tf.random.uniform(coin_shape) < self.flip_probability",
        "flip = tf.random.uniform(coin_shape) < 0.0")], [T_MASK, T_SYNC_MODELS]),
    M("mask_flip_per_example_default", "mask GAN flips per example by default (paper: whole iterations)",
      [(MASK, 'flip_per="iteration",', 'flip_per="example",')], [T_MASK]),
    M("mask_flip_real_only", "mask GAN flip swaps the real targets only",
      [(MASK, "real, fake = tf.where(flip, 1.0 - real, real), tf.where(flip, 1.0 - fake, fake)",
        "real, fake = tf.where(flip, 1.0 - real, real), fake")], [T_MASK, T_SYNC_MODELS]),
    M("mask_flip_rate_0.2", "mask GAN default flip probability 0.05 -> 0.2",
      [(MASK, "flip_probability=0.05,\n        flip_per=", "flip_probability=0.2,\n        flip_per=")], [T_MASK]),
    # ------------------------------------------------------------ SynCGAN pipeline
    M("syncgan_mse_weight_10", "SynCGAN CGAN lambda 100 -> 10 (BCE + 10 MSE)",
      [(PIPELINE, "reconstruction_weight=100.0,", "reconstruction_weight=10.0,")], [T_P2P]),
    M("syncgan_l1_not_mse", "SynCGAN CGAN reconstruction L1 instead of MSE",
      [(PIPELINE, 'reconstruction_loss="mse", name="cgan"', 'reconstruction_loss="l1", name="cgan"')], [T_P2P]),
    M("syncgan_study_carve_out", "study: SynCGAN picks its CGAN epoch on a carve-out of the training split",
      [(STUDY, "batch_size=batch_size, validation=(images[validation], labels[validation]),",
        "batch_size=batch_size, validation=None,")], [T_DEV + "::test_study_passes_its_own_validation_split_to_syncgan"]),
    M("syncgan_fit_carves_given_validation", "SynCGAN.fit still carves pairs out of the training images when given a validation split",
      [(PIPELINE, "train, held_out = np.arange(len(images)), len(val_images)",
        "train, held_out = rng.permutation(len(images))[len(val_images):], len(val_images)")],
      [T_DEV + "::test_syncgan_picks_the_cgan_epoch_on_the_given_validation_split_and_trains_on_all"]),
    # ------------------------------------------------------------ SinGAN (Rott Shaham et al.)
    M("singan_noise_amplitude_1", "SinGAN noise amplitude 0.1 -> 1.0 (sigma_n = RMSE)",
      [(SIN, "noise_amplitude=0.1,\n", "noise_amplitude=1.0,\n")], [T_SIN]),
    M("singan_sigma_mse", "SinGAN sigma_n from the MSE instead of the RMSE",
      [(SIN, "rmse = float(np.sqrt(np.mean((real[None] - previous_reconstruction) ** 2)))",
        "rmse = float(np.mean((real[None] - previous_reconstruction) ** 2))")], [T_SIN]),
    M("singan_gp_weight_10", "SinGAN gradient-penalty weight 0.1 -> 10",
      [(SIN, "gradient_penalty_weight=0.1, learning_rate=5e-4,", "gradient_penalty_weight=10.0, learning_rate=5e-4,")],
      [T_SIN]),
    M("singan_alpha_1", "SinGAN reconstruction weight alpha 10 -> 1",
      [(SIN, "reconstruction_weight=10.0, gradient_penalty_weight=0.1, learning_rate=5e-4,",
        "reconstruction_weight=1.0, gradient_penalty_weight=0.1, learning_rate=5e-4,")], [T_SIN]),
    M("singan_scale_alpha_dropped", "SinGANScale generator loss adds the reconstruction term unweighted",
      [(SIN, "generator_loss = adversarial + self.reconstruction_weight * reconstruction_loss",
        "generator_loss = adversarial + reconstruction_loss")], [T_SIN]),
    M("singan_critic_sign", "SinGAN critic loss sign flipped: E[D(real)] - E[D(fake)]",
      [(SIN, "critic_loss = fake_score - real_score + self.gradient_penalty_weight * penalty",
        "critic_loss = real_score - fake_score + self.gradient_penalty_weight * penalty")], [T_SIN]),
    M("singan_lr_drop_removed", "SinGAN learning-rate drop removed",
      [(SIN, "[learning_rate, learning_rate * drop_factor]", "[learning_rate, learning_rate]")], [T_SIN]),
    M("singan_lr_drop_50", "SinGAN learning rate drops after 50 % of the iterations instead of 80 %",
      [(SIN, "drop_fraction=0.8, drop_factor=0.1, critic_steps=3, generator_steps=3,",
        "drop_fraction=0.5, drop_factor=0.1, critic_steps=3, generator_steps=3,")], [T_SIN]),
    M("singan_critic_steps_1", "SinGAN 1 critic step per iteration instead of 3",
      [(SIN, "drop_fraction=0.8, drop_factor=0.1, critic_steps=3, generator_steps=3,",
        "drop_fraction=0.8, drop_factor=0.1, critic_steps=1, generator_steps=3,")], [T_SIN]),
    M("singan_generator_steps_1", "SinGAN 1 generator step per iteration instead of 3",
      [(SIN, "drop_fraction=0.8, drop_factor=0.1, critic_steps=3, generator_steps=3,",
        "drop_fraction=0.8, drop_factor=0.1, critic_steps=3, generator_steps=1,")], [T_SIN]),
    M("singan_rec_noise_above_coarsest", "SinGAN reconstruction noise non-zero above the coarsest scale",
      [(SIN, 'amplitude, fixed = s["noise_amplitude"] * rmse, np.zeros((1, 1, 1, 1), np.float32)',
        'amplitude, fixed = s["noise_amplitude"] * rmse, np.ones((1, 1, 1, 1), np.float32)')], [T_SIN]),
    M("singan_no_previous_init", "SinGAN scales start from fresh weights, not the previous scale's",
      [(SIN, "if trainer is not None and self.filters_at(scale - 1) == filters:",
        "if False and trainer is not None and self.filters_at(scale - 1) == filters:"),
       (SIN, "if scale > 0 and self.filters_at(scale - 1) == filters:  # resumed run",
        "if False and scale > 0 and self.filters_at(scale - 1) == filters:  # resumed run")], [T_SIN]),
    M("singan_optimizer_not_reset", "SinGAN continues the previous scale's optimizer state",
      [(SIN, "trainer.reset_optimizers()  # weights carry over", "pass  # weights carry over")], [T_SIN]),
    # ------------------------------------------------------------ inference protocol (pix2pix test.py)
    M("ref_inference_training_false", "reference inference runs in inference mode (training=False)",
      [(P2P, "[v.value for v in generator.non_trainable_variables], inputs, training=True,",
        "[v.value for v in generator.non_trainable_variables], inputs, training=False,")], [T_DEV, T_INFER]),
    M("ref_inference_writes_statistics", "reference inference writes the BatchNorm moving statistics",
      [(P2P, 'if variable.path.endswith("seed_generator_state"):', "if True:")], [T_DEV, T_INFER]),
    M("ref_inference_batch_statistics", "reference inference normalises the batch together, not each example",
      [(P2P, "if batch is None or batch <= 1:", "if True:")], [T_DEV, T_INFER]),
    # ------------------------------------------------------------ appendix generator (Allender et al. table 1)
    M("appendix_kernel_4", "appendix generator kernel 5x5 -> 4x4",
      [(APPENDIX, "APPENDIX_KERNEL_SIZE = 5", "APPENDIX_KERNEL_SIZE = 4")], [T_DEV]),
    M("appendix_no_bias", "appendix generator convs without bias",
      [(APPENDIX, 'strides=2, padding="same", use_bias=True,', 'strides=2, padding="same", use_bias=False,')],
      [T_DEV]),
    M("appendix_two_dropouts", "appendix generator dropout after 2 decoder layers instead of 3",
      [(APPENDIX, "APPENDIX_DROPOUT_LAYERS = 3", "APPENDIX_DROPOUT_LAYERS = 2")], [T_DEV]),
    # ------------------------------------------------------------ beyond the brief's list
    M("syncgan_no_flip_default", "SynCGAN's mask GANs built without label flipping (flip_probability 0.05 -> 0)",
      [(PIPELINE, "flip_probability=0.05,\n        label_smoothing=True,", "flip_probability=0.0,\n        label_smoothing=True,")],
      [T_MASK, T_SYNC_MODELS]),
    M("syncgan_no_smoothing_default", "SynCGAN's mask GANs built without label smoothing",
      [(PIPELINE, "flip_probability=0.05,\n        label_smoothing=True,", "flip_probability=0.05,\n        label_smoothing=False,")],
      [T_MASK, T_SYNC_MODELS]),
    M("mask_smoothing_per_position", "mask GAN smoothed targets drawn per patch logit, not per example",
      [(MASK, "real = losses.smoothed_labels(batch_shape, True, self.real_label_range, self.fake_label_range)\n"
              "            fake = losses.smoothed_labels(batch_shape, False, self.real_label_range, self.fake_label_range)",
        "real = losses.smoothed_labels(logits_shape, True, self.real_label_range, self.fake_label_range)\n"
        "            fake = losses.smoothed_labels(logits_shape, False, self.real_label_range, self.fake_label_range)")],
      [T_MASK, T_SYNC_MODELS]),
    M("singan_penalty_per_image_default", "SinGAN's default gradient penalty per image instead of per position (official code)",
      [(SIN, 'gradient_penalty="per_position", jit_compile=False, seed=None', 'gradient_penalty="per_image", jit_compile=False, seed=None')],
      [T_SIN]),
    M("gp_interpolation_dropped", "WGAN-GP evaluated at the real image instead of a*real + (1-a)*fake",
      [(LOSSES, "interpolated = alpha * real + (1.0 - alpha) * fake", "interpolated = real + 0.0 * alpha")],
      [T_SIN, "tests/test_singan.py::test_gradient_penalty_of_a_linear_critic"]),
    M("singan_rec_chain_noise_above_coarsest", "SinGAN's reconstruction chain feeds noise above the coarsest scale",
      [(SIN, "fixed = self.fixed_noise if scale == 0 else np.zeros_like(previous)",
        "fixed = self.fixed_noise if scale == 0 else np.ones_like(previous)")], [T_SIN]),
    M("singan_coarsest_noise_all_channels", "SinGAN's coarsest training noise drawn per channel (reference: one channel broadcast)",
      [(SIN, "noise = rng.standard_normal((1, height, width, 1 if coarsest else channels))",
        "noise = rng.standard_normal((1, height, width, channels))")], [T_SIN]),
    M("appendix_relu_encoder", "appendix generator encoder ReLU instead of LeakyReLU 0.2",
      [(APPENDIX, "x = keras.layers.LeakyReLU(0.2, name=", "x = keras.layers.LeakyReLU(0.0, name=")], [T_DEV]),
    M("appendix_no_tanh", "appendix generator output without tanh",
      [(APPENDIX, 'keras.layers.Activation("tanh", dtype="float32", name="output")',
        'keras.layers.Activation("linear", dtype="float32", name="output")')], [T_DEV]),
    M("appendix_bn_on_first", "appendix generator batch norm on the first encoder layer too",
      [(APPENDIX, 'if level > 0 and norm != "none":', 'if norm != "none":')], [T_DEV]),
    M("p2p_generator_inference_mode", "pix2pix train_step runs the generator in inference mode (no batch statistics, no dropout)",
      [(P2P, "fake = self.generator(condition, training=True)", "fake = self.generator(condition, training=False)")],
      [T_P2P + "::test_train_step_runs_the_generator_in_train_mode", T_P2P]),
    M("syncgan_best_epoch_last", "SynCGAN keeps the last CGAN epoch, not the one of lowest validation generator loss",
      [(PIPELINE, "if loss < self.best_loss:", "if True:")],
      [T_P2P + "::test_syncgan_keeps_the_generator_of_the_lowest_validation_generator_loss", T_DEV]),
]

NAMES = [mutation.name for mutation in MUTATIONS]
assert len(set(NAMES)) == len(NAMES), "duplicate mutation names"

FAILED_LINE = re.compile(r"^(FAILED|ERROR) (\S+)")


def _git(clone, *args):
    return subprocess.run(["git", "-C", str(clone), *args], capture_output=True, text=True, check=True).stdout


def check_applies(mutation, root):
    """None if every edit's old text occurs exactly once in its file under `root`, else why not."""
    for file, old, _ in mutation.edits:
        path = pathlib.Path(root) / file
        if not path.exists():
            return f"{file} does not exist"
        count = path.read_text().count(old)
        if count != 1:
            return f"old text occurs {count} times in {file}: {old[:60]!r}"
    return None


def apply(mutation, clone):
    for file, old, new in mutation.edits:  # edits of one file apply in order
        path = pathlib.Path(clone) / file
        text = path.read_text()
        assert text.count(old) == 1, (mutation.name, file)
        path.write_text(text.replace(old, new, 1))


def restore(mutation, clone):
    files = sorted({file for file, _, _ in mutation.edits})
    _git(clone, "checkout", "--", *files)


def run_tests(clone, tests, timeout):
    """(returncode, failing ids, seconds, output tail) of the fast tests in the clone."""
    env = dict(os.environ, PYTHONPATH=str(clone))
    env.pop("CI", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", "-x",
               "-rfE", f"--timeout={timeout}", *tests]
    started = time.perf_counter()
    try:
        result = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True, timeout=timeout + 120)
        output, code = result.stdout + result.stderr, result.returncode
    except subprocess.TimeoutExpired as error:
        output, code = (error.stdout or b"").decode() if isinstance(error.stdout, bytes) else (error.stdout or ""), -9
    seconds = time.perf_counter() - started
    failing = []
    for line in output.splitlines():
        match = FAILED_LINE.match(line)
        if match and match.group(2) not in failing:
            failing.append(match.group(2))
    return code, failing, seconds, "\n".join(output.splitlines()[-15:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clone", default="/tmp/mutants/clone", help="private git clone to plant bugs in")
    parser.add_argument("--only", default=None, help="comma-separated mutation names (default: all)")
    parser.add_argument("--timeout", type=int, default=300, help="seconds per test run")
    parser.add_argument("--no-baseline", action="store_true", help="skip the clean run of the selected tests")
    parser.add_argument("--check", action="store_true", help="only check that each mutation applies (to this repo)")
    parser.add_argument("--files-only", action="store_true",
                        help="run whole test files instead of test ids (e.g. on an older commit without those tests)")
    parser.add_argument("--out", default=str(RESULTS))
    args = parser.parse_args(argv)

    selected = MUTATIONS
    if args.only:
        wanted = [name.strip() for name in args.only.split(",") if name.strip()]
        unknown = sorted(set(wanted) - set(NAMES))
        if unknown:
            parser.error(f"unknown mutations {unknown}; known: {NAMES}")
        selected = [mutation for mutation in MUTATIONS if mutation.name in wanted]

    if args.check:
        problems = {m.name: check_applies(m, REPO) for m in selected}
        for name, problem in problems.items():
            print(f"{name:40s} {'ok' if problem is None else 'NO LONGER APPLIES: ' + problem}")
        return 1 if any(problems.values()) else 0

    clone = pathlib.Path(args.clone).resolve()
    if not (clone / ".git").exists():
        parser.error(f"{clone} is not a git clone; run: git clone -q {REPO} {clone}")
    if clone == REPO:
        parser.error("refusing to plant bugs in the repository itself: use a private clone")
    edited = sorted({file for m in selected for file, _, _ in m.edits})
    dirty = _git(clone, "status", "--porcelain", "--", *edited).strip()
    if dirty:
        parser.error(f"the clone has local changes in files the mutations edit:\n{dirty}")
    commit = _git(clone, "rev-parse", "HEAD").strip()

    baseline = None
    if not args.no_baseline:
        tests = list(dict.fromkeys(t for m in selected for t in m.tests))
        code, failing, seconds, tail = run_tests(clone, tests, args.timeout * 3)
        baseline = {"tests": tests, "passed": code == 0, "failing": failing, "seconds": round(seconds, 1)}
        print(f"baseline (clean clone): {'pass' if code == 0 else 'FAIL'} in {seconds:.0f}s {failing}", flush=True)
        if code != 0:
            print(tail)
            print("the clean clone fails its tests: a mutation cannot be judged caught; fix that first")
            return 2

    rows = []
    for mutation in selected:
        problem = check_applies(mutation, clone)
        if problem is not None:
            row = {"name": mutation.name, "status": "no longer applies", "reason": problem, "caught": False,
                   "tests": list(mutation.tests), "caught_by": [], "seconds": 0.0}
        else:
            tests = list(mutation.tests)
            if args.files_only:
                tests = list(dict.fromkeys(test.split("::")[0] for test in tests))
            apply(mutation, clone)
            try:
                code, failing, seconds, tail = run_tests(clone, tests, args.timeout)
            finally:
                restore(mutation, clone)
            # pytest exit codes: 1 tests failed, 2 collection errors / interrupted (a planted bug
            # that breaks an import), 4 usage error (e.g. a test id that does not exist), 5 none ran
            caught = code in (1, 2) and bool(failing)
            status = "caught" if caught else ("NOT CAUGHT" if code == 0 else f"pytest error (exit {code})")
            row = {"name": mutation.name, "status": status, "caught": caught,
                   "tests": tests, "caught_by": failing, "seconds": round(seconds, 1)}
            if not caught and code != 0:
                row["output_tail"] = tail
        row["description"] = mutation.description
        row["commit"] = commit
        rows.append(row)
        print(f"{row['name']:38s} {row['status']:17s} {row['seconds']:6.1f}s  {', '.join(row['caught_by'])}",
              flush=True)

    from machine import cpu_info

    out = pathlib.Path(args.out)
    previous = json.loads(out.read_text()) if (args.only and out.exists()) else {}
    by_name = {row["name"]: row for row in previous.get("mutations", [])}
    by_name.update({row["name"]: row for row in rows})
    ordered = [by_name[name] for name in NAMES if name in by_name]
    result = {
        "benchmark": "fidelity_mutations",
        "commit": commit,
        "cpu": cpu_info(),
        "command": "python benchmarks/fidelity_mutations.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "pytest": '-m "not slow" -x, one mutation at a time in a private clone',
        "baseline": baseline if not args.only else {**previous.get("baseline", {}), "rerun": baseline},
        "caught": sum(row["caught"] for row in ordered),
        "total": len(ordered),
        "mutations": ordered,
    }
    if args.only:
        result["runs"] = previous.get("runs", []) + [{"commit": commit, "only": [r["name"] for r in rows]}]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")

    print()
    print(f"{'mutation':38s} {'result':17s} {'seconds':>7s}  caught by")
    for row in ordered:
        print(f"{row['name']:38s} {row['status']:17s} {row['seconds']:7.1f}  {', '.join(row['caught_by']) or '-'}")
    print(f"\n{result['caught']}/{result['total']} caught; wrote {out}")
    return 0 if result["caught"] == result["total"] else 1


if __name__ == "__main__":
    sys.exit(main())
