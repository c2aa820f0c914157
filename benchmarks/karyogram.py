"""Karyogram benchmark: crop_karyogram on rendered karyograms, and generate-karyotype speed.

    python benchmarks/karyogram.py            # 24 ISCN strings x 2 seeds (SYNTHETIC), 8 zoo-drawn, speed
    python benchmarks/karyogram.py --quick    # fewer karyograms and repeats (CI smoke)

(a) Every chromosome of the project's own rendered karyograms (SYNTHETIC renderer and the zoo
generator) must be found by `kc.crop_karyogram` with bounding-box IoU >= 0.9 and the right
class for >= 95 % (issue 15); the same on `kc.render_karyogram_variant` karyograms (another
layout, tilted chromosomes, grey JPEG background: no bar, a robustness check). (b) `generate karyotype` >= 2 karyograms/s (46 chromosomes each,
batched zoo generator) on 2 cores: timed through the Python API (`render_karyogram`) and the
CLI command in-process (`--count 8`, PNG/JSON writing and the contact sheet included; the
interpreter and TensorFlow start-up are not). The machine is shared: the load average is
recorded beside every rate; measure when it is quietest.

Writes benchmarks/results/karyogram.json.
"""

import argparse
import contextlib
import io
import json
import os
import pathlib
import re
import sys
import tempfile
import time

from machine import cpu_model  # noqa: E402  (benchmarks/machine.py: CPU model, vector extensions)

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import kerasgan  # noqa: E402,F401  (sets TensorFlow options before it is imported)
from kerasgan import chromosome as kc  # noqa: E402

KARYOTYPES = [
    "46,XX", "46,XY", "47,XX,+21", "47,XY,+21", "47,XX,+18", "47,XY,+13", "45,X", "47,XXY", "47,XYY",
    "46,XY,del(5)(p15.2)", "46,XX,t(9;22)(q34;q11.2)", "46,XY,inv(9)(p12q13)", "46,X,i(X)(q10)",
    "46,XX,del(4)(p16)", "46,XY,dup(1)(q21q32)", "46,XX,t(11;22)(q23;q11.2)", "46,XY,t(4;11)(q21;q23)",
    "46,XX,inv(16)(p13.1q22)", "46,XY,del(7)(q11.23q11.23)", "46,XX,i(17)(q10)", "45,XY,-21",
    "48,XXYY", "47,XX,+8", "46,XY,t(8;21)(q22;q22)",
]


def score_variant(image, truth, size=128):
    crops = kc.crop_karyogram(image, size=size)
    result = {"chromosomes": len(truth), "crops": len(crops), "iou_0.9": 0, "iou_0.8": 0, "class_ok": 0,
              "touching": sum(c.touching for c in crops)}
    for cls, box in truth:
        best = max(crops, key=lambda crop: kc.bbox_iou(crop.bbox, box))
        iou = kc.bbox_iou(best.bbox, box)
        result["iou_0.9"] += iou >= 0.9
        result["iou_0.8"] += iou >= 0.8
        result["class_ok"] += iou >= 0.5 and best.chromosome_class == cls
    return result


def variant_accuracy(karyotypes, seeds):
    rows = []
    for iscn in karyotypes:
        for seed in seeds:
            image, truth = kc.render_karyogram_variant(iscn, seed=seed)
            rows.append({"iscn": iscn, "seed": seed, **{k: int(v) for k, v in score_variant(image, truth).items()}})
    total = sum(r["chromosomes"] for r in rows)
    return {"karyograms": len(rows), "chromosomes": total,
            "iou_ge_0.9": sum(r["iou_0.9"] for r in rows) / total,
            "iou_ge_0.8": sum(r["iou_0.8"] for r in rows) / total,
            "right_class": sum(r["class_ok"] for r in rows) / total,
            "crop_count_exact": sum(r["crops"] == r["chromosomes"] for r in rows) / len(rows),
            "touching_flags": sum(r["touching"] for r in rows)}


def score(karyogram, size=128):
    """Fractions of placed chromosomes whose best crop has IoU >= 0.9, the right class, both."""
    crops = kc.crop_karyogram(karyogram.image, size=size)
    found = right = both = 0
    for placed in karyogram.chromosomes:
        best = max(crops, key=lambda crop: kc.bbox_iou(crop.bbox, placed.bbox))
        good_box = kc.bbox_iou(best.bbox, placed.bbox) >= 0.9
        good_class = best.chromosome_class == placed.chromosome_class
        found += good_box
        right += good_class
        both += good_box and good_class
    return {"chromosomes": len(karyogram.chromosomes), "crops": len(crops), "iou_ok": found,
            "class_ok": right, "both_ok": both, "touching": sum(c.touching for c in crops)}


def accuracy(karyotypes, seeds, generator=None, size=128):
    rows = []
    for iscn in karyotypes:
        for seed in seeds:
            karyogram = kc.render_karyogram(iscn, generator=generator, seed=seed, size=size)
            rows.append({"iscn": iscn, "seed": seed, **score(karyogram)})
    total = sum(r["chromosomes"] for r in rows)
    return {
        "karyograms": len(rows), "chromosomes": total,
        "iou_ge_0.9": sum(r["iou_ok"] for r in rows) / total,
        "right_class": sum(r["class_ok"] for r in rows) / total,
        "iou_and_class": sum(r["both_ok"] for r in rows) / total,
        "crop_count_exact": sum(r["crops"] == r["chromosomes"] for r in rows) / len(rows),
        "touching_flags": sum(r["touching"] for r in rows),
        "worst": sorted(rows, key=lambda r: r["both_ok"] / r["chromosomes"])[:3],
    }


def speed_api(generator, repeats):
    karyotype = kc.karyotype("46,XY")
    kc.render_karyogram(karyotype, generator=generator, seed=0)  # warm up (traces predict)
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    for seed in range(1, repeats + 1):
        kc.render_karyogram(karyotype, generator=generator, seed=seed)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"karyograms": repeats, "per_second": repeats / wall, "cpu_seconds_per_karyogram": cpu / repeats,
            "load_average_before": round(load, 2), "load_average_after": round(os.getloadavg()[0], 2)}


def speed_cli(count):
    from kerasgan.cli import main

    with tempfile.TemporaryDirectory() as folder:
        argv = ["generate", "karyotype", "--iscn", "46,XY", "--count", str(count), "--out", folder,
                "--generator", "zoo"]
        main(argv + ["--overwrite", "--count", "1"])  # warm up: zoo load, tracing
        load = os.getloadavg()[0]
        printed = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(printed):
            code = main(argv + ["--overwrite"])
        wall = time.perf_counter() - start
    loop = re.search(r"\(([0-9.]+) karyograms/s, files included", printed.getvalue())
    return {"karyograms": count, "per_second_whole_command": count / wall, "exit_code": code,
            "per_second_generation_loop": float(loop.group(1)) if loop else None,
            "load_average_before": round(load, 2), "load_average_after": round(os.getloadavg()[0], 2),
            "whole_command_includes": "zoo load, masks, generator, PNG/JSON writing, contact sheet",
            "generation_loop_includes": "masks, generator, composing, PNG/JSON writing"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "karyogram.json"))
    parser.add_argument("--speed-only", action="store_true",
                        help="re-measure the two speed rows only (e.g. on a quieter machine) and update --out")
    args = parser.parse_args(argv)
    import kerasgan.zoo

    if args.speed_only:
        out = pathlib.Path(args.out)
        results = json.loads(out.read_text()) if out.exists() else {}
        generator = kerasgan.zoo.load("chromosome")
        results["speed_api"] = speed_api(generator, 10)
        results["speed_cli"] = speed_cli(8)
        results["speed_measured_with"] = "python benchmarks/karyogram.py --speed-only"
        out.write_text(json.dumps(results, indent=2) + "\n")
        print(f"generate (API, 46 chr, 1 batched call): {results['speed_api']['per_second']:.2f} karyograms/s "
              f"(load {results['speed_api']['load_average_before']}); CLI loop "
              f"{results['speed_cli']['per_second_generation_loop']:.2f}, whole command "
              f"{results['speed_cli']['per_second_whole_command']:.2f} (load {results['speed_cli']['load_average_before']})")
        return results

    start_load = list(os.getloadavg())
    karyotypes = KARYOTYPES[:6] if args.quick else KARYOTYPES
    seeds = (0,) if args.quick else (0, 1)
    results = {"command": "python benchmarks/karyogram.py" + (" --quick" if args.quick else ""),
               "cpu": cpu_model(), "cpus": os.cpu_count(), "load_average_start": start_load}
    started = time.perf_counter()
    results["crop_synthetic"] = accuracy(karyotypes, seeds)
    results["crop_variant_layout"] = variant_accuracy(karyotypes[: 4 if args.quick else 12], (0, 1))
    generator = kerasgan.zoo.load("chromosome")
    results["zoo_generator_parameters"] = int(generator.count_params())
    results["crop_zoo_generator"] = accuracy(karyotypes[: 3 if args.quick else 8], (5,), generator=generator)
    results["speed_api"] = speed_api(generator, 3 if args.quick else 10)
    results["speed_cli"] = speed_cli(2 if args.quick else 8)
    results["wall_seconds"] = round(time.perf_counter() - started, 1)
    results["load_average_end"] = list(os.getloadavg())
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")

    table = [("rendered karyograms (SYNTHETIC) | chromosomes",
              f"{results['crop_synthetic']['karyograms']} | {results['crop_synthetic']['chromosomes']}")]
    for key, label in (("crop_synthetic", "SYNTHETIC"), ("crop_zoo_generator", "zoo generator")):
        r = results[key]
        table += [(f"{label}: IoU >= 0.9 | right class | both (bar 0.95)",
                   f"{r['iou_ge_0.9']:.4f} | {r['right_class']:.4f} | {r['iou_and_class']:.4f}"),
                  (f"{label}: karyograms with every chromosome cut once", f"{r['crop_count_exact']:.3f}")]
    r = results["crop_variant_layout"]
    table += [("variant layout (tilted, centromere-aligned, X in row 2, JPEG): IoU >= 0.9 | >= 0.8 | class",
               f"{r['iou_ge_0.9']:.4f} | {r['iou_ge_0.8']:.4f} | {r['right_class']:.4f} ({r['karyograms']} karyograms)")]
    table += [("generate (API, 46 chr, 1 batched call) karyograms/s (bar 2)",
               f"{results['speed_api']['per_second']:.2f} (load {results['speed_api']['load_average_before']})"),
              ("generate karyotype CLI: generation loop | whole command, karyograms/s",
               f"{results['speed_cli']['per_second_generation_loop']:.2f} | "
               f"{results['speed_cli']['per_second_whole_command']:.2f} "
               f"(load {results['speed_cli']['load_average_before']})")]
    width = max(len(name) for name, _ in table)
    print(f"CPU: {results['cpu']} ({results['cpus']} cores); load average at start {start_load[0]:.2f}")
    for name, value in table:
        print(f"{name:<{width}}  {value}")
    print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
