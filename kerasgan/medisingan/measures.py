"""Per-start-scale measures shared by the MediSinGAN zoo entries (image + mask channel models).

`sample_measures` samples the model at each start scale and returns, per scale, the mask-image
agreement table (`kerasgan.metrics.mask_agreement.agreement_rows`), how binary the raw mask
channel is, the copy distances, and (for scales 0 and 1) the realism report of the image
channels against held-out real sets A / B. Each entry supplies its own intensity (T1 for white
matter, darkness for H&E nuclei), its held-out sets and the rows about its real images.
"""

import numpy as np


def sample_measures(model, intensity, mask_channel, image_channels, real_intensity, real_mask, threshold,
                    held_out, set_a, set_b, count=32, seed=0, start_scales=(0, 1, 2), realism_scales=(0, 1),
                    mask_threshold=0.0):
    """{"agreement", "binary_fraction", "copies", "realism"}: dicts keyed "start_scale_S".

    intensity: function (N x H x W x C samples or held-out images) -> N x H x W intensity whose
        `> threshold` should match the mask; mask_channel: index of the mask channel;
        image_channels: slice of the image channels compared for realism.
    """
    from kerasgan.metrics import mask_agreement as agreement
    from kerasgan.metrics.realism import realism_report

    result = {"agreement": {}, "binary_fraction": {}, "copies": {}, "realism": {}}
    reconstruction = model.reconstruct()
    for start_scale in start_scales:
        if start_scale >= model.num_scales:
            continue
        samples = np.clip(model.sample(count, start_scale=start_scale, seed=seed), -1.0, 1.0)
        key = f"start_scale_{start_scale}"
        result["agreement"][key] = agreement.agreement_rows(
            intensity(samples), samples[..., mask_channel], real_intensity, real_mask, threshold,
            held_out_images=intensity(held_out), held_out_masks=held_out[..., mask_channel] > mask_threshold,
            mask_threshold=mask_threshold)
        result["binary_fraction"][key] = agreement.binary_fraction(samples[..., mask_channel])
        result["copies"][key] = agreement.copy_distances(samples, model.image, reconstruction)
        if start_scale in realism_scales:
            result["realism"][key] = realism_report(samples[..., image_channels], set_a[..., image_channels], 1.0,
                                                    second_real=set_b[..., image_channels], value_range=(-1, 1))
    return result


def summary_text(summary):
    """'mean ± std (min m, n=N)' of a {mean, std, min, count} row."""
    return f"{summary['mean']:.3f} ± {summary['std']:.3f} (min {summary['min']:.3f}, n={summary['count']})"


def markdown_tables(measured, real_label, held_out_label):
    """(agreement rows, binary-fraction rows, copy rows, realism tables) of `measured` as Markdown
    lines for a model card; the real rows are labelled `real_label` / `held_out_label`."""
    from kerasgan.metrics.realism import format_realism_table

    agreement = measured["agreement"]
    first = agreement["start_scale_1"]
    rows = [f"| {real_label} | {summary_text(first['real_training_slice'])} |",
            f"| {held_out_label} | {summary_text(first['held_out_real'])} |"]
    for key, values in agreement.items():
        scale = key.rsplit("_", 1)[1]
        rows.append(f"| samples, start scale {scale} | {summary_text(values['generated'])} |")
        rows.append(f"| baseline: samples, start scale {scale}, mask paired with another sample's image "
                    f"| {summary_text(values['generated_shuffled_pairs'])} |")
        rows.append(f"| baseline: samples, start scale {scale}, own mask shifted by 2 px "
                    f"| {summary_text(values['generated_mask_shifted_2px'])} |")
    binary_rows = [f"| {key.replace('_', ' ')} | {value:.3f} |" for key, value in measured["binary_fraction"].items()]
    copy_rows = [f"| samples, start scale {key.rsplit('_', 1)[1]} | {summary_text(values['sample_rmse'])} | "
                 f"{values['fraction_farther_than_reconstruction']:.3f} | {values['ratio_mean_to_reconstruction']:.2f} |"
                 for key, values in measured["copies"].items() if key.startswith("start_scale")]
    realism = [format_realism_table(report, title=f"samples from start scale {key.rsplit('_', 1)[1]}")
               for key, report in measured["realism"].items()]
    return "\n".join(rows), "\n".join(binary_rows), "\n".join(copy_rows), "\n\n".join(realism)
