"""Data: image files -> numpy (image_io) and tf.data pipelines (paired)."""

from kerasgan._lazy import lazy_exports

_EXPORTS = {
    "read_image": "image_io",
    "write_image": "image_io",
    "list_images": "image_io",
    "decode_image": "image_io",
    "to_unit_float": "image_io",
    "atomic_write_bytes": "image_io",
    "IMAGE_EXTENSIONS": "image_io",
    "paired_image_dataset": "paired",
    "find_pairs": "paired",
    "match_by_name": "paired",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
