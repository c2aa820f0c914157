"""Property tests of the shared rules of issue 13: masks, value ranges, numbers, output folders,
run settings (hypothesis). Expected values are built by hand from what each case was made of.

KERASGAN_HOSTILE_REPORT=path.json records how many cases each entry point saw.
"""

import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hostile import CASES, write_report
from kerasgan._args import check_float, check_int, fraction, positive_float, positive_int
from kerasgan._paths import UsageError, check_new_files, check_output_folder
from kerasgan.data.image_io import to_unit_float
from kerasgan.data.masks import read_mask_values
from kerasgan.transforms import from_minus_one_one, to_uint8

MANY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SOME = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=9)
mask_dtypes = st.sampled_from([np.uint8, np.uint16, np.int16, np.int32, np.int64, np.float32, np.float64])


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


def _max_of(dtype):
    return 1.0 if np.issubdtype(dtype, np.floating) else np.iinfo(dtype).max


# -- masks ---------------------------------------------------------------------------------

@MANY
@given(truth=hnp.arrays(bool, shapes), dtype=mask_dtypes, data=st.data(),
       layout=st.sampled_from(["hw", "hw1", "hw3"]))
def test_two_valued_masks_read_as_their_foreground(truth, dtype, data, layout):
    # {0, v} for any v > 0 is the same mask: {0, 1}, {0, 127}, {0, 255}, {0, 65535}, {0, 1.0}.
    top = _max_of(dtype)
    if np.issubdtype(dtype, np.floating):
        value = data.draw(st.floats(1e-3, 1e6))
    else:
        value = data.draw(st.integers(1, int(top)))
    mask = np.where(truth, value, 0).astype(dtype)
    if layout == "hw1":
        mask = mask[..., None]
    elif layout == "hw3":
        mask = np.repeat(mask[..., None], 3, axis=-1)
    CASES["read_mask_values"] += 1
    np.testing.assert_array_equal(read_mask_values(mask), truth)
    CASES["read_mask_values"] += 1
    np.testing.assert_array_equal(read_mask_values(truth), truth)


@MANY
@given(shape=shapes, dtype=mask_dtypes, data=st.data())
def test_label_images_are_refused_unless_labels_are_named(shape, dtype, data):
    # Two or more values above 0 (labels 1/2/3, chromosome 0/127/255, JPEG noise) are ambiguous.
    top = int(min(_max_of(dtype), 65535)) if not np.issubdtype(dtype, np.floating) else 1000
    low = data.draw(st.integers(1, max(1, top - 1)))
    high = data.draw(st.integers(low + 1, top)) if low < top else None
    if high is None:
        return
    labels = np.zeros(shape, dtype)
    labels.flat[0] = low
    labels.flat[-1] = high
    if labels.size < 2:
        return
    CASES["read_mask_values"] += 1
    with pytest.raises(ValueError, match="different foreground values"):
        read_mask_values(labels, name="masks[3]")
    CASES["read_mask_values"] += 1
    chosen = read_mask_values(labels, foreground=(high,))
    expected = np.zeros(shape, bool)
    expected.flat[-1] = True
    np.testing.assert_array_equal(chosen, expected)
    CASES["read_mask_values"] += 1
    np.testing.assert_array_equal(read_mask_values(labels, threshold=low),
                                  (np.arange(labels.size).reshape(shape) == 0) | expected)


@SOME
@given(shape=shapes, bad=st.sampled_from([-1.0, -0.5, np.nan, np.inf, -np.inf]))
def test_negative_or_non_finite_masks_are_refused(shape, bad):
    mask = np.zeros(shape, np.float32)
    mask.flat[0] = bad
    CASES["read_mask_values"] += 1
    with pytest.raises(ValueError, match="mask 'm.png'"):
        read_mask_values(mask, name="mask 'm.png'")


def test_mask_with_different_colour_channels_and_bad_types_are_refused():
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[0, 0, 1] = 255
    with pytest.raises(ValueError, match="different channels"):
        read_mask_values(rgb)
    with pytest.raises(TypeError):
        read_mask_values(np.array([["a", "b"]]))
    with pytest.raises(ValueError, match="non-empty"):
        read_mask_values(np.zeros((0, 3)))


# -- the value-range rule ------------------------------------------------------------------

int_dtypes = st.sampled_from([np.int16, np.int32, np.int64, np.uint32, np.uint64])


@MANY
@given(values=hnp.arrays(np.int64, shapes, elements=st.integers(0, 255)), dtype=int_dtypes,
       as_list=st.booleans())
def test_wide_integers_holding_8_bit_values_scale_by_255(values, dtype, as_list):
    image = values.astype(dtype)
    CASES["to_unit_float"] += 1
    result = to_unit_float(image.tolist() if as_list else image)
    np.testing.assert_allclose(result, values / 255.0, rtol=1e-6)


@MANY
@given(values=hnp.arrays(np.int64, shapes, elements=st.integers(0, 65535)), dtype=int_dtypes)
def test_wide_integers_holding_16_bit_values_scale_by_their_range(values, dtype):
    image = values.astype(dtype) if dtype != np.int16 else values.clip(0, 32767).astype(np.int16)
    source = image.astype(np.int64)
    CASES["to_unit_float"] += 1
    expected = source / (255.0 if source.max() <= 255 else 65535.0)
    np.testing.assert_allclose(to_unit_float(image), expected, rtol=1e-6)


@MANY
@given(values=hnp.arrays(np.float64, shapes, elements=st.floats(0, 255)))
def test_float_images_holding_0_to_255_are_not_flattened(values):
    CASES["to_unit_float"] += 1
    result = to_unit_float(values.astype(np.float32))
    high = values.max()
    expected = values if high <= 1.01 else values / 255.0
    np.testing.assert_allclose(result, np.clip(expected, 0, 1), rtol=1e-5, atol=1e-6)
    if high > 1.01 and values.min() < high:
        assert result.max() > result.min()  # never a flat image


@SOME
@given(shape=shapes, low=st.integers(-2**31, -1))
def test_negative_integers_and_non_finite_floats_are_refused(shape, low):
    image = np.zeros(shape, np.int64)
    image.flat[0] = low
    CASES["to_unit_float"] += 1
    with pytest.raises(ValueError, match="holds values"):
        to_unit_float(image, "image 'x.tif'")
    CASES["to_unit_float"] += 1
    with pytest.raises(ValueError, match="NaN"):
        to_unit_float(np.full(shape, np.nan, np.float32))


@SOME
@given(image=hnp.arrays(np.float32, shapes, elements=st.floats(-1, 1, width=32)), count=st.integers(1, 3))
def test_to_uint8_refuses_nan_and_maps_the_range(image, count):
    CASES["to_uint8"] += 1
    # Rounded to the nearest level, up to float32 error at the .5 ties (-2e-16 + 1 is 1.0 in float32).
    exact = (image.astype(np.float64) + 1) * 127.5
    assert np.all(np.abs(to_uint8(image).astype(np.float64) - exact) <= 0.5 + 1e-3)
    broken = image.copy()
    broken.flat[:count] = np.nan
    CASES["to_uint8"] += 1
    with pytest.raises(ValueError, match="NaN"):
        to_uint8(broken, "output for 'a.png'")
    with pytest.raises(ValueError, match="NaN"):
        from_minus_one_one(broken)


# -- numbers -------------------------------------------------------------------------------

@MANY
@given(value=st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True),
                       st.booleans(), st.text(max_size=3), st.none()))
def test_check_int_accepts_only_integral_values_at_least_the_minimum(value, ):
    CASES["check_int"] += 1
    integral = (not isinstance(value, (bool, str)) and value is not None and isinstance(value, (int, float))
                and np.isfinite(value) and float(value).is_integer())
    if integral and value >= 1:
        assert check_int(value, "count") == int(value)
    else:
        with pytest.raises((TypeError, ValueError), match="count"):
            check_int(value, "count")


@MANY
@given(text=st.one_of(st.integers(-5, 5).map(str), st.floats(allow_nan=True).map(str),
                      st.sampled_from(["2.5", "ab", "", "1e-3", "-0", "inf", "nan"])))
def test_argparse_number_types(text):
    import argparse

    CASES["cli number flags"] += 1
    try:
        number = float(text)
    except ValueError:
        number = None
    for parse, valid in (
        (positive_int, text.lstrip("-").isdigit() and int(text) >= 1),
        (positive_float, number is not None and np.isfinite(number) and number > 0),
        (fraction, number is not None and np.isfinite(number) and 0 < number <= 1),
    ):
        if valid:
            assert parse(text) == (int(text) if parse is positive_int else number)
        else:
            with pytest.raises(argparse.ArgumentTypeError):
                parse(text)


def test_check_float_names_the_argument():
    with pytest.raises(ValueError, match="validation_fraction"):
        check_float(-0.5, "validation_fraction", maximum=1.0)
    with pytest.raises(ValueError, match="learning_rate"):
        check_float(float("nan"), "learning_rate")
    with pytest.raises(TypeError, match="classes"):
        check_float("ab", "classes")
    assert check_float(0.25, "validation_fraction", maximum=1.0) == 0.25


# -- output folders ------------------------------------------------------------------------

@SOME
@given(depth=st.integers(0, 3), relation=st.sampled_from(["same", "inside", "contains", "sibling", "link"]))
def test_output_folder_never_is_contains_or_lies_inside_an_input(tmp_path_factory, depth, relation):
    root = tmp_path_factory.mktemp("paths")
    data = root / "data"
    for level in range(depth):
        data = data / f"level{level}"
    data.mkdir(parents=True)
    (data / "x.png").write_bytes(b"input")
    out = {"same": data, "inside": data / "sub" / "out", "contains": data.parent if depth else root,
           "sibling": root / "elsewhere", "link": root / "link"}[relation]
    if relation == "link":
        os.symlink(data, out)
    CASES["check_output_folder"] += 1
    if relation == "sibling":
        assert check_output_folder(out, {"--data": data}, create=True) == out
        assert out.is_dir()
    else:
        with pytest.raises(UsageError, match="--data"):
            check_output_folder(out, {"--data": data}, create=True)
    assert (data / "x.png").read_bytes() == b"input"


@SOME
@given(names=st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=6),
       existing=st.sets(st.sampled_from(["a.png", "b.png", "c.png", "d.png"])), overwrite=st.booleans())
def test_check_new_files_refuses_overwrite_and_double_writes(tmp_path_factory, names, existing, overwrite):
    out = tmp_path_factory.mktemp("out")
    for name in existing:
        (out / name).write_bytes(b"old")
    outputs = [f"{n}.png" for n in names]
    sources = [f"in/{n}.{'png' if i % 2 else 'jpg'}" for i, n in enumerate(names)]
    CASES["check_new_files"] += 1
    if len(set(outputs)) < len(outputs):
        with pytest.raises(UsageError, match="would both be written"):
            check_new_files(out, outputs, overwrite=overwrite, sources=sources)
    elif existing & set(outputs) and not overwrite:
        with pytest.raises(UsageError, match="--overwrite"):
            check_new_files(out, outputs, overwrite=overwrite)
    else:
        assert check_new_files(out, outputs, overwrite=overwrite) == [out / o for o in outputs]


def test_output_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(UsageError, match="is a file"):
        check_output_folder(tmp_path / "file")


# -- run settings --------------------------------------------------------------------------

setting_values = st.one_of(st.integers(-3, 3), st.floats(allow_nan=False, allow_infinity=False),
                           st.text(max_size=5), st.booleans(), st.none())


@SOME
@given(recorded=st.dictionaries(st.sampled_from(["--data", "--gan-loss", "--l1-weight", "--filters"]),
                                setting_values, min_size=1),
       change=st.sampled_from(["--data", "--gan-loss", "--l1-weight", "--filters", None]),
       value=setting_values)
def test_run_settings_refuse_a_resume_with_other_settings(tmp_path_factory, recorded, change, value):
    from kerasgan.training import RUN_SETTINGS, check_run_settings

    run = tmp_path_factory.mktemp("run")
    check_run_settings(run, recorded)
    assert json.loads((run / RUN_SETTINGS).read_text()) == recorded
    now = dict(recorded)
    if change is not None:
        now[change] = value
    CASES["check_run_settings"] += 1
    same = all(json.dumps(recorded.get(key)) == json.dumps(now.get(key)) for key in {*recorded, *now})
    if same:  # an absent key equals null: a later flag with a None default
        assert check_run_settings(run, now) == recorded
    else:
        with pytest.raises(UsageError) as error:
            check_run_settings(run, now)
        message = str(error.value)
        assert change in message and "\n" not in message


# -- write_image ---------------------------------------------------------------------------

@MANY
@given(data=st.data(), dtype=st.sampled_from([np.uint8, np.uint16, np.int32, np.float32, np.bool_]),
       shape=hnp.array_shapes(min_dims=2, max_dims=3, min_side=0, max_side=6),
       extension=st.sampled_from([".png", ".tif", ".jpg", ".bmp", ".xyz", ".gif", ""]))
def test_write_image_writes_what_it_was_given_or_names_the_file(tmp_path_factory, data, dtype, shape, extension):
    from kerasgan.data import read_image, write_image

    high = {np.uint8: 255, np.uint16: 65535, np.int32: 65535}.get(dtype)
    elements = st.integers(0, high) if high else (st.floats(0, 1, width=32) if dtype == np.float32 else None)
    image = data.draw(hnp.arrays(dtype, shape, elements=elements))
    path = tmp_path_factory.mktemp("write") / f"out{extension}"
    CASES["write_image"] += 1
    empty = 0 in image.shape
    bad_channels = image.ndim == 3 and image.shape[-1] not in (1, 3, 4)
    if extension in (".xyz", ".gif") or empty or bad_channels:
        with pytest.raises(ValueError, match="out"):
            write_image(path, image)
        assert not path.exists()
        return
    write_image(path, image)
    if extension in (".png", "") and dtype in (np.uint8, np.uint16):
        np.testing.assert_array_equal(read_image(path)[..., 0] if image.ndim == 2 else read_image(path),
                                      image)
    if extension == ".bmp" and dtype == np.uint16 and image.ndim == 2:
        # BMP holds 8 bits: the 16-bit values are scaled by 1/257, not saturated.
        np.testing.assert_array_equal(read_image(path)[..., 0], np.round(image / 257.0).astype(np.uint8))


def test_16_bit_into_an_8_bit_format_is_scaled_not_saturated(tmp_path):
    from kerasgan.data import read_image, write_image

    image = np.array([[0, 257, 30000, 65535]], np.uint16)
    write_image(tmp_path / "x.bmp", image)
    np.testing.assert_array_equal(read_image(tmp_path / "x.bmp")[..., 0], [[0, 1, 117, 255]])


@SOME
@given(boxes=st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=0, max_size=4, unique=True))
def test_one_component_rule_counts_separate_blobs(boxes):
    from kerasgan.data.masks import connected_components, require_one_component

    # 2x2 blobs on a grid of pitch 4: never touching, so the count is the number of boxes.
    mask = np.zeros((24, 24), np.uint8)
    for row, col in boxes:
        mask[4 * row:4 * row + 2, 4 * col:4 * col + 2] = 255
    CASES["require_one_component"] += 1
    assert connected_components(mask)[1] == len(boxes)
    if len(boxes) == 1:
        np.testing.assert_array_equal(require_one_component(mask), mask > 0)
    else:
        with pytest.raises(ValueError, match="chromosome 3"):
            require_one_component(mask, name="chromosome 3")
