"""Structure maps (Allender et al., section 2): binary images obtained by thresholding the tissue.

The generator's condition is concat(mask, structure map): the map pins down where the dark,
stained structures are, which the paper shows removes pix2pix's mode collapse on histology.
The function lives in `kerasgan.transforms` (an image op every paper folder may use); it is
re-exported here.
"""

from kerasgan.transforms import STRUCTURE_POLARITIES, _grey_level, structure_map  # noqa: F401
