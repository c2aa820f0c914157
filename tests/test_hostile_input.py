"""Property-based hostile input over the foundation's public entry points (hypothesis).

Each call either works or raises ValueError/TypeError/FileNotFoundError with a message: never a
bare error from deep inside TensorFlow/OpenCV, never a silently wrong result. Set
KERASGAN_HOSTILE_REPORT=path.json to record how many cases each entry point saw.
"""

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from hostile import CASES, outcome, write_report
from kerasgan import zoo
from kerasgan.cli import main
from kerasgan.data import read_image, write_image
from kerasgan.data.image_io import decode_image, to_unit_float
from kerasgan.transforms import pad_to_square, resize, to_minus_one_one

FAST = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

names = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\x00"),
                min_size=1, max_size=20)
dtypes = st.sampled_from([np.uint8, np.uint16, np.int32, np.float16, np.float32, np.float64, np.bool_])
arrays = hnp.arrays(
    dtype=dtypes,
    shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12),
    elements={"allow_nan": True, "allow_infinity": True} if False else None,
)


@st.composite
def any_array(draw):
    dtype = draw(dtypes)
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=12))
    if np.issubdtype(dtype, np.floating):
        elements = st.floats(allow_nan=True, allow_infinity=True, width=16 if dtype == np.float16 else 32)
    else:
        elements = None
    return draw(hnp.arrays(dtype=dtype, shape=shape, elements=elements))


@pytest.fixture(scope="module", autouse=True)
def report():
    yield
    write_report()


@FAST
@given(data=st.binary(max_size=300))
def test_decode_random_bytes(data):
    image = outcome("decode_image", decode_image, data, "'random.png'")
    if image is not None:
        assert image.ndim == 3 and image.size > 0


@FAST
@given(cut=st.integers(min_value=0, max_value=400), extension=st.sampled_from([".png", ".jpg", ".tif", ".bmp"]))
def test_truncated_files_with_any_extension(tmp_path_factory, cut, extension):
    folder = tmp_path_factory.mktemp("truncated")
    source = folder / f"whole{extension}"
    write_image(source, (np.arange(30 * 20 * 3) % 251).astype(np.uint8).reshape(30, 20, 3))
    data = source.read_bytes()
    wrong = {".png": ".jpg", ".jpg": ".tif", ".tif": ".png", ".bmp": ".png"}[extension]
    for name, payload in ((f"cut {cut}{extension}", data[:cut]), (f"ünï cödé{wrong}", data)):
        path = folder / name
        path.write_bytes(payload)
        image = outcome("read_image", read_image, path)
        if image is not None:
            assert image.shape[:2] == (30, 20)  # decoded: must be the real picture


@FAST
@given(name=names)
def test_read_missing_paths_with_any_name(tmp_path_factory, name):
    folder = tmp_path_factory.mktemp("names")
    with pytest.raises((FileNotFoundError, ValueError)):
        outcome_path = folder / name
        if outcome_path.exists():
            raise FileNotFoundError("exists")
        CASES["read_image"] += 1
        read_image(outcome_path)


@FAST
@given(array=any_array())
def test_array_transforms(array):
    for entry, function in (("to_unit_float", to_unit_float), ("to_minus_one_one", to_minus_one_one),
                            ("pad_to_square", pad_to_square)):
        result = outcome(entry, function, array)
        if result is not None:
            assert np.all(np.isfinite(result)) or entry == "pad_to_square"
            if entry != "pad_to_square":
                assert result.min() >= (-1.0 if entry == "to_minus_one_one" else 0.0) - 1e-6
                assert result.max() <= 1.0 + 1e-6
    result = outcome("resize", resize, array, 5)
    if result is not None:
        assert result.shape[:2] == (5, 5)


@FAST
@given(name=st.one_of(names, st.none(), st.integers(), st.just(""), st.just("../zoo")))
def test_zoo_names(name):
    if isinstance(name, str) and name in zoo.list():
        return
    CASES["zoo.load"] += 1
    with pytest.raises((zoo.ZooError, TypeError)) as error:
        zoo.load(name)
    assert str(error.value)


@SLOW
@given(
    verb=st.sampled_from(["train", "generate", "evaluate", "ablation", "augment-study", "zoo", "bogus"]),
    target=st.one_of(st.sampled_from(["pix2pix", "chromosome", "syncgan", "glomeruli", "singan", "verify", "x"]), names),
    options=st.lists(st.sampled_from(["--data", "--out", "--epochs", "--batch-size", "--image-size", "--count"]), max_size=4),
    values=st.lists(st.one_of(names, st.integers(-5, 0).map(str)), min_size=4, max_size=4),
)
def test_cli_arguments(tmp_path_factory, monkeypatch, verb, target, options, values):
    monkeypatch.chdir(tmp_path_factory.mktemp("cli"))
    argv = [verb, target]
    for option, value in zip(options, values):
        argv += [option, f"missing {value}" if option in ("--data", "--out") else value]
    CASES["cli"] += 1
    try:
        code = main(argv)
    except SystemExit as exit_info:  # argparse's usage errors
        assert exit_info.code in (0, 2)
        return
    assert code in (0, 1, 2)
