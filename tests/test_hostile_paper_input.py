"""Property-based hostile input over the papers' public entry points (hypothesis).

Each call either works, with a result of the promised form, or raises a clean
ValueError/TypeError/FileNotFoundError with a message. KERASGAN_HOSTILE_REPORT=path.json
records how many cases each entry point saw.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hostile import CASES, outcome, write_report

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                      HealthCheck.function_scoped_fixture])

dtypes = st.sampled_from([np.uint8, np.uint16, np.int16, np.float32, np.float64, np.bool_])


@st.composite
def images(draw, max_dims=4, max_side=48):
    dtype = draw(dtypes)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=max_side))
    kind = draw(st.sampled_from(["random", "constant", "blob", "special"]))
    if kind == "special" and np.issubdtype(dtype, np.floating):
        value = draw(st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1.0, 1e30]))
        array = np.full(shape, value, dtype=dtype)
        if array.size:
            array.flat[0] = 0.5
        return array
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "constant":
        return np.full(shape, draw(st.integers(0, 1)), dtype=dtype)
    array = rng.random(shape)
    if kind == "blob" and len(shape) >= 2 and min(shape[:2]) > 4:
        # A dark elongated blob on a light background: something that may really be a chromosome.
        yy, xx = np.mgrid[: shape[0], : shape[1]]
        blob = ((yy - shape[0] / 2) / (shape[0] / 3)) ** 2 + ((xx - shape[1] / 2) / (shape[1] / 8)) ** 2 < 1
        array = np.where(blob[(...,) + (None,) * (len(shape) - 2)], 0.2 * array, 0.9 + 0.1 * array)
    if dtype == np.bool_:
        return array > 0.5
    if np.issubdtype(dtype, np.integer):
        return (array * min(np.iinfo(dtype).max, 65535)).astype(dtype)
    return array.astype(dtype)


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


@SETTINGS
@given(image=images())
@example(image=np.zeros((0, 0, 3), np.uint8))  # once reached OpenCV's cvtColor unchecked
@example(image=np.zeros((5, 40, 3), np.uint8))
def test_chromosome_extraction(image):
    from kerasgan import chromosome as kc

    mask = outcome("chromosome.shape_mask", kc.shape_mask, image)
    if mask is not None:
        assert mask.dtype == bool and mask.shape == image.shape[:2] and mask.any()
    pattern = outcome("chromosome.banding_pattern", kc.banding_pattern, image)
    if pattern is not None:
        assert pattern.ndim == 1 and len(pattern) > 0 and set(np.unique(pattern)) <= {0, 1}


@st.composite
def patterns(draw):
    values = draw(st.lists(st.sampled_from([0, 1, 1, 0, 2, -1, 0.5, float("nan")]), max_size=60))
    dtype = draw(st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_, object]))
    array = np.array(values, dtype=np.float64)
    if dtype in (np.uint8, np.int64):
        array = np.nan_to_num(array, nan=0.0).astype(np.int64)
        array = array.astype(dtype) if dtype == np.int64 else np.clip(array, 0, 255).astype(np.uint8)
    elif dtype is np.bool_:
        array = np.nan_to_num(array) > 0.5
    elif dtype is object:
        array = array.astype(object)
    else:
        array = array.astype(dtype)
    if draw(st.booleans()):
        array = array.reshape(1, -1)
    return array


SHAPES = {}


def chromosome_shape(seed):
    from kerasgan import chromosome as kc

    if seed not in SHAPES:
        SHAPES[seed] = kc.shape_mask(kc.render_chromosome(seed=seed, size=64).image)
    return SHAPES[seed]


@SETTINGS
@given(pattern=patterns(), seed=st.integers(0, 3))
def test_back_projection(pattern, seed):
    from kerasgan import chromosome as kc

    shape = chromosome_shape(seed)
    mask = outcome("chromosome.back_project", kc.back_project, pattern, shape)
    if mask is not None:
        flat = np.asarray(pattern, dtype=float).ravel()
        assert flat.size > 0 and set(np.unique(flat)) <= {0.0, 1.0}, "accepted a non-binary pattern"
        mask2d = mask[..., 0] if mask.ndim == 3 else mask
        assert mask.dtype == np.uint8 and mask2d.shape == shape.shape
        assert set(np.unique(mask2d)) <= {0, 127, 255}
        assert np.all(mask2d[shape] != 255) and np.all(mask2d[~shape] == 255)


@FEW
@given(image=images(max_side=40))
def test_nucleus_masks(image):
    from kerasgan import syncgan

    masks = outcome("syncgan.nucleus_masks", syncgan.nucleus_masks, image)
    if masks is not None:
        # One mask per image, same height and width, one channel, binary (a 2-D image is gray).
        expected = (image.shape if image.ndim == 2 else image.shape[:-1]) + (1,)
        assert masks.shape == expected and set(np.unique(masks)) <= {0, 1}


@SETTINGS
@given(image=images(), threshold=st.one_of(st.just("otsu"), st.floats(allow_nan=True, allow_infinity=True),
                                           st.text(max_size=5)))
def test_structure_maps(image, threshold):
    from kerasgan.transforms import structure_map

    result = outcome("transforms.structure_map", structure_map, image, threshold=threshold)
    if result is not None:
        assert result.shape[:2] == image.shape[:2] and set(np.unique(result)) <= {0, 1}


@SETTINGS
@given(image=images(max_dims=4, max_side=40))
def test_singan_input(image):
    from kerasgan.models.singan import prepare_image

    result = outcome("SinGAN input", prepare_image, image)
    if result is not None:
        assert result.ndim == 3 and result.dtype == np.float32
        assert result.min() >= -1.0 and result.max() <= 1.0 and np.all(np.isfinite(result))


@FEW
@given(data=st.binary(max_size=400), extension=st.sampled_from([".dcm", ".nii", ".nii.gz", ".png", ""]))
def test_medical_files(tmp_path_factory, data, extension):
    from kerasgan.medisingan.io import read_medical

    path = tmp_path_factory.mktemp("medical") / f"scan with spaces ü{extension}"
    path.write_bytes(data)
    image = outcome("medisingan.read_medical", read_medical, path)
    if image is not None:
        assert image.ndim in (2, 3) and image.size > 0
