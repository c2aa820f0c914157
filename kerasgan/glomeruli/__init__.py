"""Mode-seeking pix2pix for histology (Allender et al., "GAN based data augmentation for
histopathological image segmentation"): mask + structure map -> tissue image.

    from kerasgan.glomeruli import ihc_patches, make_condition
    from kerasgan.models import ModeSeekingPix2Pix
    generator = kerasgan.zoo.load("glomeruli")
    condition = make_condition(mask, image)   # structure map at the model's stored threshold
                                              # (zoo_structure_threshold(); "otsu" only if asked)

Modules: `structure` (structure maps), `data` (paired folders, the shipped histology),
`ablation` (the paper's ablation, measured), `plots`, `commands` (CLI), `zoo_entry`.
"""

from kerasgan._lazy import lazy_exports

_EXPORTS = {
    "structure_map": "structure",
    "PairedPatches": "data",
    "ihc_patches": "data",
    "nucleus_mask": "data",
    "load_paired_folder": "data",
    "write_paired_folder": "data",
    "make_condition": "data",
    "zoo_structure_threshold": "data",
    "otsu_structure_threshold": "data",
    "with_structure_threshold": "data",
    "training_dataset": "data",
    "SHIPPED_DATA_DESCRIPTION": "data",
    "VARIANTS": "ablation",
    "AblationSettings": "ablation",
    "run_ablation": "ablation",
    "format_table": "ablation",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
