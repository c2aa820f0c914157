"""Chromosome paper benchmark: extraction accuracy and speed, pipeline rate, Perlin bank, zoo.

    python benchmarks/chromosome.py            # full: 500 held-out SYNTHETIC chromosomes
    python benchmarks/chromosome.py --quick    # small counts (CI smoke)

Prints a table and writes benchmarks/results/chromosome.json. Bars (issue 3):
extraction Dice >= 0.90 and MAENB <= 0.10 vs ground truth; back-projection >= 2,000 masks/s
at 128 px; extraction >= 200 chromosomes/s; tf.data >= 1,000 pairs/s; zoo generator Dice >=
0.82 (real patterns), >= 0.72 (Perlin), MAENB <= 0.11.
Issue 15 (human chromosomes): on held-out SYNTHETIC human chromosomes (`ideogram:` data, 24
classes, seed 3) the zoo generator's Dice >= 0.85 from their own extracted patterns and >= 0.75
from Perlin patterns, per class reported, and Dice from each class's own ideogram pattern.
Karyograms (crop_karyogram, generate karyotype speed) are in benchmarks/karyogram.py.

The machine is shared by other jobs: wall-clock rates are noisy, so CPU time (process_time)
is reported beside them, and rates that must be compared are measured in the same run.
"""

import argparse

from machine import cpu_info  # benchmarks/machine.py
import json
import os
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kerasgan  # noqa: E402  (sets TensorFlow options before it is imported)
from kerasgan import chromosome as kc  # noqa: E402
from kerasgan.chromosome import extraction  # noqa: E402
from kerasgan.metrics.segmentation import banded_dice, maenb  # noqa: E402

TEST_SEED = 3  # the zoo model trained on seeds 1 (train) and 2 (validation)


def timed(function, repeat=1):
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(repeat):
        result = function()
    return result, (time.perf_counter() - wall) / repeat, (time.process_time() - cpu) / repeat


def extraction_accuracy(images, masks, patterns):
    dices, errors, failures = [], [], 0
    for image, truth, pattern in zip(images, masks, patterns):
        try:
            result = kc.extract(image)
        except ValueError:
            failures += 1
            dices.append(0.0)
            errors.append(1.0)
            continue
        dices.append(banded_dice(kc.back_project(result.pattern, result.lines), truth))
        if pattern is not None:
            errors.append(maenb(pattern, result.pattern))
    return {"dice": float(np.mean(dices)), "dice_p05": float(np.percentile(dices, 5)),
            "maenb": float(np.mean(errors)) if errors else None, "failures": failures,
            "count": len(dices)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts (smoke test)")
    parser.add_argument("--count", type=int, default=500, help="held-out SYNTHETIC chromosomes")
    parser.add_argument("--zoo", default="zoo/chromosome", help="zoo entry folder to evaluate ('' skips)")
    parser.add_argument("--human-count", type=int, default=480,
                        help="held-out SYNTHETIC human chromosomes (ideogram:COUNT:3, 20 per class)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "chromosome.json"))
    args = parser.parse_args(argv)
    count = 40 if args.quick else args.count
    load_before = os.getloadavg()[0]
    results = {"machine": f"{os.cpu_count()} CPUs, shared with other jobs (rates are noisy)",
               "data": f"{count} SYNTHETIC chromosomes (render_dataset seed {TEST_SEED}), 128 px"}

    # 1. Extraction accuracy vs ground truth.
    (images, masks, patterns), render_wall, _ = timed(lambda: kc.render_dataset(count, seed=TEST_SEED))
    results["render_per_second"] = count / render_wall
    results["extraction_synthetic"] = extraction_accuracy(images, masks, patterns)
    arcs = [kc.render_arc_chromosome(10_000 + i) for i in range(count // 2)]
    results["extraction_independent_arcs"] = extraction_accuracy(
        [a for a, _ in arcs], [b for _, b in arcs], [None] * len(arcs))

    # 2. Speeds.
    subset = images[: min(count, 200)]
    extracted, wall, cpu = timed(lambda: [kc.extract(image) for image in subset])
    results["extraction_per_second_1_process"] = {"wall": len(subset) / wall, "cpu": len(subset) / cpu}
    from kerasgan.chromosome.data import extract_many

    before = os.times()
    _, wall, _ = timed(lambda: extract_many(images, workers=2))
    after = os.times()
    # CPU of the two worker processes (reaped when the pool closes) plus this process.
    cpu = sum(after[i] - before[i] for i in range(4))
    results["extraction_per_second_2_processes"] = {
        "wall": len(images) / wall, "cpu_per_core": len(images) / max(cpu, 1e-9),
        "capacity_2_cores": 2 * len(images) / max(cpu, 1e-9)}
    lines = [e.lines for e in extracted]
    for item in lines:
        item.index_map  # noqa: B018  (build once, as the pipeline cache does)
    rng = np.random.default_rng(0)
    new_patterns = [rng.integers(0, 2, len(item)) for item in lines]
    repeat = 5
    _, wall, cpu = timed(lambda: [kc.back_project(p, l) for p, l in zip(new_patterns, lines)], repeat)
    results["back_projection_per_second_cached_lines"] = {"wall": len(lines) / wall, "cpu": len(lines) / cpu}
    shapes = [item.shape for item in lines]
    extraction._GEOMETRY_CACHE.clear()
    _, wall, cpu = timed(lambda: [kc.back_project(p, s) for p, s in zip(new_patterns, shapes)])
    results["back_projection_per_second_new_shape"] = {"wall": len(lines) / wall, "cpu": len(lines) / cpu}
    _, wall, cpu = timed(lambda: [kc.back_project(p, s) for p, s in zip(new_patterns, shapes)])
    results["back_projection_per_second_same_shape_mask"] = {"wall": len(lines) / wall, "cpu": len(lines) / cpu}

    from kerasgan.chromosome.data import ChromosomeSet, mask_dataset, pair_dataset

    chromosomes = ChromosomeSet.from_images(images, synthetic=True, workers=2)
    for name, dataset in (("pairs_real_augmented", pair_dataset(chromosomes, batch_size=32)),
                          ("masks_perlin", mask_dataset(chromosomes, "perlin", batch_size=32, repeat=True)),
                          ("masks_edited", mask_dataset(chromosomes, "edited", batch_size=32, repeat=True))):
        iterator = iter(dataset)
        next(iterator)
        batches = 10 if args.quick else 60
        _, wall, _ = timed(lambda: [next(iterator) for _ in range(batches)])
        results[f"tf_data_{name}_per_second"] = batches * 32 / wall

    # 3. Perlin: the package per point, the bank build, drawing from the bank.
    _, wall, _ = timed(lambda: kc.perlin_pattern(400, seed=1))
    results["perlin_noise_microseconds_per_point"] = wall / 400 * 1e6
    build_tracks, build_length = (4, 512) if args.quick else (16, 1536)
    _, wall, _ = timed(lambda: kc.PerlinBank.build(build_tracks, build_length, seed=99))
    results["perlin_bank_build_points_per_second"] = build_tracks * build_length / wall
    bank = kc.PerlinBank()
    draw_rng = np.random.default_rng(1)
    _, wall, _ = timed(lambda: [bank.sample(160, draw_rng) for _ in range(5000)])
    results["perlin_bank_patterns_per_second"] = 5000 / wall
    direct_rate = 1.0 / (results["perlin_noise_microseconds_per_point"] * 1e-6 * 160)
    results["perlin_bank_speedup_vs_direct"] = results["perlin_bank_patterns_per_second"] / direct_rate

    # 4. Zoo generator (the paper's Table 3 layout) on the same held-out shapes.
    zoo_folder = ROOT / args.zoo if args.zoo else None
    if zoo_folder and (zoo_folder / "generator.weights.npz").exists():
        from kerasgan.chromosome import zoo_entry
        from kerasgan.chromosome.evaluation import evaluate_generator, format_table

        card = json.loads((zoo_folder / "card.json").read_text())
        generator = zoo_entry.load(zoo_folder, card)
        report, wall, _ = timed(lambda: evaluate_generator(generator, chromosomes, bank=bank))
        report["seconds"] = wall
        results["zoo"] = report
        print(format_table(report, title="zoo 'chromosome'"))
    else:
        results["zoo"] = None

    # 5. Human chromosomes (ideogram banding, 24 classes): extraction and the zoo per class.
    human_count = 48 if args.quick else args.human_count
    human_images, human_masks, human_patterns, _ = kc.render_dataset(human_count, seed=TEST_SEED,
                                                                       kind="ideogram", return_classes=True)
    results["extraction_human_synthetic"] = extraction_accuracy(human_images, human_masks, human_patterns)
    if results["zoo"] is not None:
        from kerasgan.chromosome.evaluation import format_class_table

        human = ChromosomeSet.synthetic_set(human_count, seed=TEST_SEED, kind="ideogram", workers=2)
        report, wall, _ = timed(lambda: evaluate_generator(generator, human, sources=("real", "perlin", "ideogram"),
                                                           bank=bank))
        report["seconds"] = wall
        results["zoo_human"] = report
        print(format_table(report, title="zoo 'chromosome', human chromosomes"))
        print(format_class_table(report))

    results["cpu"] = cpu_info()
    results["load_average_start_end"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    results["machine"] += f"; load average {results['load_average_start_end'][0]} -> {results['load_average_start_end'][1]}"
    print_table(results)
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


def print_table(results):
    synthetic, arcs = results["extraction_synthetic"], results["extraction_independent_arcs"]
    rows = [
        ("extraction Dice, SYNTHETIC (bar >= 0.90)", f"{synthetic['dice']:.3f} (p5 {synthetic['dice_p05']:.3f}, {synthetic['failures']} failed)"),
        ("extraction MAENB, SYNTHETIC (bar <= 0.10)", f"{synthetic['maenb']:.3f}"),
        ("extraction Dice, independent arc images", f"{arcs['dice']:.3f} (p5 {arcs['dice_p05']:.3f}, {arcs['failures']} failed)"),
        ("extraction /s, 1 process (wall | cpu)", "{wall:.0f} | {cpu:.0f}".format(**results["extraction_per_second_1_process"])),
        ("extraction /s, 2 processes (bar >= 200): wall | 2 x per-core cpu", "{wall:.0f} | {capacity_2_cores:.0f}".format(**results["extraction_per_second_2_processes"])),
        ("back-projection /s, cached lines (bar >= 2000)", "{wall:.0f} | {cpu:.0f}".format(**results["back_projection_per_second_cached_lines"])),
        ("back-projection /s, new shape (geometry)", "{wall:.0f} | {cpu:.0f}".format(**results["back_projection_per_second_new_shape"])),
        ("back-projection /s, repeated shape mask", "{wall:.0f} | {cpu:.0f}".format(**results["back_projection_per_second_same_shape_mask"])),
        ("tf.data real pairs /s, augmented (bar >= 1000)", f"{results['tf_data_pairs_real_augmented_per_second']:.0f}"),
        ("tf.data Perlin masks /s", f"{results['tf_data_masks_perlin_per_second']:.0f}"),
        ("tf.data edited masks /s", f"{results['tf_data_masks_edited_per_second']:.0f}"),
        ("perlin-noise us per point", f"{results['perlin_noise_microseconds_per_point']:.1f}"),
        ("Perlin bank build points /s", f"{results['perlin_bank_build_points_per_second']:.0f}"),
        ("Perlin bank patterns /s (160 samples)", f"{results['perlin_bank_patterns_per_second']:.0f} (x{results['perlin_bank_speedup_vs_direct']:.0f} vs direct)"),
    ]
    zoo = results.get("zoo")
    if zoo:
        rows += [
            ("zoo Dice real (bar >= 0.82)", f"{zoo['real']['dice']:.3f}"),
            ("zoo MAENB real (bar <= 0.11)", f"{zoo['real']['maenb']:.3f}"),
            ("zoo Dice Perlin (bar >= 0.72)", f"{zoo['perlin']['dice']:.3f}"),
            ("zoo MAENB Perlin", f"{zoo['perlin']['maenb']:.3f}"),
            ("baseline Dice (Perlin vs real masks)", f"{zoo['baseline_dice']:.3f}"),
        ]
    human = results.get("extraction_human_synthetic")
    if human:
        rows.append(("extraction Dice, SYNTHETIC human chromosomes", f"{human['dice']:.3f} ({human['failures']} failed)"))
    zoo_human = results.get("zoo_human")
    if zoo_human:
        rows += [
            ("zoo human Dice real (bar >= 0.85)", f"{zoo_human['real']['dice']:.3f}"),
            ("zoo human Dice Perlin (bar >= 0.75)", f"{zoo_human['perlin']['dice']:.3f}"),
            ("zoo human Dice own ideogram pattern", f"{zoo_human['ideogram']['dice']:.3f}"),
            ("zoo human MAENB real", f"{zoo_human['real']['maenb']:.3f}"),
        ]
    width = max(len(name) for name, _ in rows)
    print(results["data"] + "; " + results["machine"])
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    sys.exit(main())
