"""Fidelity and diversity of the zoo entry "glomeruli" on held-out patches of its own data.

    python -m kerasgan.glomeruli.evaluation --out zoo_table.json

Loads `kerasgan.zoo.load("glomeruli")`, cuts the held-out patches its card's `"data"` record
names (source, patch count, seed; the test split, never trained on) with their structure maps
at the card's stored threshold, and reports the ablation's four numbers
(`kerasgan.glomeruli.ablation.evaluate_outputs`: L1 to the real patch, pairwise L1, 1-MS-SSIM,
R2 of the condition) under both test protocols, beside the real test images' own row.
"""

import argparse
import json
import os
import pathlib
import sys
import time

import numpy as np

PROTOCOLS = ("reference", "deterministic")


def card_test_patches(card, count=None, seed=None):
    """The held-out patches a card's `"data"` record describes, structure maps cut at the card's
    `preprocessing.structure_threshold` (what the model's training maps were cut at)."""
    from kerasgan.glomeruli import data

    record = card.get("data")
    if not isinstance(record, dict) or "source" not in record:
        raise ValueError("the card has no 'data' record with a 'source' (ihc or he)")
    threshold = float(card["preprocessing"]["structure_threshold"])
    size = int(card["architecture"]["image_size"])
    return data.shipped_patches(record["source"], size, int(count or record.get("test_patches", 64)), "test",
                                seed=int(record.get("seed", 0) if seed is None else seed),
                                structure_threshold=threshold)


def measure(generator, test, seed=0):
    """{protocol: row} for the generator on `test`, plus "real_test_images" (the data's own)."""
    import keras

    from kerasgan.glomeruli.ablation import evaluate_outputs, generate, reference_row

    rows = {}
    for protocol in PROTOCOLS:
        keras.utils.set_random_seed(seed)  # the reference protocol's dropout masks
        outputs = generate(generator, test.conditions(True), inference=protocol)
        rows[protocol] = evaluate_outputs(test.conditions(True), outputs, test.images)
    rows["real_test_images"] = reference_row(test)
    return rows


COLUMNS = (("l1_to_ground_truth", "L1 to GT"), ("pairwise_l1", "pairwise L1"),
           ("pairwise_ms_ssim_distance", "1-MS-SSIM"), ("explained_variance_share", "R2(input)"))


def format_table(rows):
    lines = ["| set | " + " | ".join(title for _, title in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for name, row in rows.items():
        label = {"reference": "generated, reference protocol", "deterministic": "generated, deterministic protocol",
                 "real_test_images": "real test images"}.get(name, name)
        values = ["-" if name == "real_test_images" and key == "l1_to_ground_truth" else f"{row[key]:.4f}"
                  for key, _ in COLUMNS]
        lines.append(f"| {label} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=None, help="held-out patches (default: the card's)")
    parser.add_argument("--seed", type=int, default=None, help="patch seed (default: the card's)")
    parser.add_argument("--out", default=None, help="write the rows, settings and load average as JSON here")
    args = parser.parse_args(argv)
    import kerasgan.zoo

    load, start = os.getloadavg(), time.perf_counter()
    card = kerasgan.zoo.metadata("glomeruli")
    generator = kerasgan.zoo.load("glomeruli")
    test = card_test_patches(card, args.count, args.seed)
    rows = measure(generator, test)
    print(format_table(rows))
    if args.out:
        record = {"command": "python -m kerasgan.glomeruli.evaluation " + " ".join(sys.argv[1:] if argv is None else argv),
                  "measured": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                  "zoo_files_sha256": card["files"], "data": card.get("data"), "test_examples": len(test),
                  "structure_threshold": test.structure_threshold, "rows": rows,
                  "wall_seconds": round(time.perf_counter() - start, 1),
                  "load_average_before": [round(v, 2) for v in load]}
        pathlib.Path(args.out).write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
