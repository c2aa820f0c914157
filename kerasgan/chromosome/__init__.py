"""Banded chromosome synthesis (Uzolas et al. 2021): banding patterns -> pix2pix -> images.

    from kerasgan import chromosome as kc
    pattern = kc.banding_pattern(image)                         # f_BPE, {0,1} along the axis
    mask = kc.back_project(pattern, kc.shape_mask(image))       # f_SEG, uint8 0/127/255
    abnormal = kc.edit(pattern, deletion=(0.40, 0.55))          # named structural edits
    fake = kc.perlin_pattern(len(pattern), seed=3)              # random Perlin pattern
    generator = kerasgan.zoo.load("chromosome")
    image = generator(kc.to_model_input(kc.back_project(abnormal, kc.shape_mask(image))))

Pattern values: 0 = black (dark) band, 1 = white band. Masks: 0 black, 127 white, 255
background. `render_chromosome` makes SYNTHETIC chromosomes with ground truth.
"""

from kerasgan._lazy import lazy_exports

_EXPORTS = {
    # extraction.py: f_BPE and f_SEG
    "shape_mask": "extraction",
    "banding_pattern": "extraction",
    "back_project": "extraction",
    "to_model_input": "extraction",
    "extract": "extraction",
    "extract_many": "data",
    "Extraction": "extraction",
    "perpendicular_lines": "extraction",
    "PerpendicularLines": "extraction",
    "medial_axis_polyline": "extraction",
    "density_profile": "extraction",
    "uniform_band_profile": "extraction",
    "resample_pattern": "extraction",
    "SAMPLES_PER_PIXEL": "extraction",
    # patterns.py: abnormal patterns
    "perlin_pattern": "patterns",
    "PerlinBank": "patterns",
    "edit": "patterns",
    "deletion": "patterns",
    "duplication": "patterns",
    "inversion": "patterns",
    "insertion": "patterns",
    "reciprocal_translocation": "patterns",
    # synthetic.py: SYNTHETIC data with ground truth
    "render_chromosome": "synthetic",
    "render_dataset": "synthetic",
    "render_arc_chromosome": "synthetic",
    "render_chromosome_mask": "synthetic",
    "chromosome_source": "synthetic",
    "SyntheticChromosome": "synthetic",
    # data.py: tf.data pipelines and folder loading
    "ChromosomeSet": "data",
    "load_folder": "data",
    "preprocess_image": "data",
    "pair_dataset": "data",
    "mask_dataset": "data",
    # ideogram.py: real human ideograms (UCSC cytoBand, T2T-CHM13)
    "ideogram": "ideogram",
    "ideogram_pattern": "ideogram",
    "Ideogram": "ideogram",
    "Band": "ideogram",
    "CHROMOSOMES": "ideogram",
    "RESOLUTIONS": "ideogram",
    # iscn.py: ISCN karyotype strings
    "karyotype": "iscn",
    "Karyotype": "iscn",
    "KaryotypeChromosome": "iscn",
    "Segment": "iscn",
    "ISCNError": "iscn",
    # karyogram.py: whole karyograms in and out
    "render_karyogram": "karyogram",
    "render_karyograms": "karyogram",
    "crop_karyogram": "karyogram",
    "karyotype_chromosomes": "karyogram",
    "abnormal_chromosomes": "karyogram",
    "render_karyogram_variant": "karyogram",
    "Karyogram": "karyogram",
    "PlacedChromosome": "karyogram",
    "KaryogramCrop": "karyogram",
    "bbox_iou": "karyogram",
    # model.py
    "build_generator": "model",
    "build_pix2pix": "model",
    "generate": "model",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
# The function `ideogram` shares its name with its module: bound eagerly (numpy and the standard
# library only), so importing the submodule first cannot leave the module in its place.
from kerasgan.chromosome.ideogram import ideogram  # noqa: E402
