"""Real human ideograms: band table, ISCN resolution merging, centromeres, patterns.

Expected band lists and stains are written out by hand from ideogram_data/cytobands_chm13.bed;
positions are read from the bed file itself (never from the code under test).
"""

import pathlib
import subprocess
import sys

import numpy as np
import pytest

from kerasgan import chromosome as kc

BED = pathlib.Path(kc.__file__).parent / "ideogram_data" / "cytobands_chm13.bed"


def bed_rows():
    return [line.split("\t") for line in BED.read_text().splitlines() if line.strip()]


def bed(chromosome, band):
    """(start, end) of one finest band read straight from the table."""
    for row in bed_rows():
        if row[0] == f"chr{chromosome}" and row[3] == band:
            return float(row[1]), float(row[2])
    raise KeyError((chromosome, band))


def bed_length(chromosome):
    return max(float(row[2]) for row in bed_rows() if row[0] == f"chr{chromosome}")


def names(ideogram):
    return [band.name for band in ideogram.bands]


def stains(ideogram):
    return [band.stain for band in ideogram.bands]


def test_table_is_complete_and_shipped():
    rows = bed_rows()
    assert len(rows) == 862
    assert {row[0] for row in rows} == {f"chr{c}" for c in list(range(1, 23)) + ["X", "Y"]}
    assert kc.CHROMOSOMES == tuple(str(i) for i in range(1, 23)) + ("X", "Y")
    assert (BED.parent / "PROVENANCE.md").read_text().count("MIT") >= 2
    for chromosome in kc.CHROMOSOMES:
        finest = kc.ideogram(chromosome, 850)
        assert len(finest.bands) == sum(row[0] == f"chr{chromosome}" for row in rows)
        assert finest.length == bed_length(chromosome)


def test_band_counts_per_haploid_set():
    # Measured on the table with the hierarchical rule (module docstring): 1-22 + X, then with Y.
    haploid = kc.CHROMOSOMES[:23]
    counts = {r: sum(len(kc.ideogram(c, r).bands) for c in haploid) for r in kc.RESOLUTIONS}
    assert counts == {850: 851, 550: 720, 400: 353}
    assert sum(len(kc.ideogram(c, 400).bands) for c in kc.CHROMOSOMES) == 358
    assert counts[400] < counts[550] < counts[850]


def test_merging_p36_hierarchy_and_stains():
    assert names(kc.ideogram(1, 850))[:9] == [
        "p36.33", "p36.32", "p36.31", "p36.23", "p36.22", "p36.21", "p36.13", "p36.12", "p36.11",
    ]  # fmt: skip
    at550 = kc.ideogram(1, 550)
    assert names(at550)[:4] == ["p36.3", "p36.2", "p36.1", "p35.3"]
    assert (at550.bands[0].start, at550.bands[0].end) == (0.0, bed(1, "p36.31")[1])
    assert (at550.bands[2].start, at550.bands[2].end) == (bed(1, "p36.13")[0], bed(1, "p36.11")[1])
    at400 = kc.ideogram(1, 400)
    assert names(at400)[:3] == ["p36", "p35", "p34"]
    assert (at400.bands[0].start, at400.bands[0].end) == (0.0, bed(1, "p36.11")[1])

    # p36.3 = p36.33 gneg + p36.32 gpos25 + p36.31 gneg: darkness 0.25 * len(p36.32) / len = 0.116 -> gneg
    length = lambda band: bed(1, band)[1] - bed(1, band)[0]  # noqa: E731
    darkness = 0.25 * length("p36.32") / (bed(1, "p36.31")[1])
    assert 0.1 < darkness < 0.125
    assert at550.bands[0].stain == "gneg"
    # p36.2 = p36.23 gpos25 + p36.22 gneg + p36.21 gpos50: 0.247 -> gpos25
    darkness = (0.25 * length("p36.23") + 0.5 * length("p36.21")) / (bed(1, "p36.21")[1] - bed(1, "p36.23")[0])
    assert 0.24 < darkness < 0.25
    assert at550.bands[1].stain == "gpos25"
    # p36 at 400: gpos25 p36.32, p36.23, p36.12 and gpos50 p36.21 over 0..p36.11 end: 0.138 -> gpos25
    darkness = (0.25 * (length("p36.32") + length("p36.23") + length("p36.12")) + 0.5 * length("p36.21")) / bed(
        1, "p36.11"
    )[1]
    assert 0.13 < darkness < 0.14
    assert at400.bands[0].stain == "gpos25"


def test_chr21_all_resolutions_by_hand():
    assert names(kc.ideogram(21, 850)) == [
        "p13", "p12", "p11.2", "p11.1", "q11.1", "q11.2", "q21.1", "q21.2", "q21.3",
        "q22.11", "q22.12", "q22.13", "q22.2", "q22.3",
    ]  # fmt: skip
    at550 = kc.ideogram(21, 550)
    assert names(at550) == [
        "p13", "p12", "p11.2", "p11.1", "q11.1", "q11.2", "q21.1", "q21.2", "q21.3", "q22.1", "q22.2", "q22.3",
    ]  # fmt: skip
    # q22.1 = q22.11 gneg + q22.12 gpos50 + q22.13 gneg: darkness 0.1232, just nearer gneg than gpos25
    q221 = at550.bands[9]
    darkness = 0.5 * (bed(21, "q22.12")[1] - bed(21, "q22.12")[0]) / (bed(21, "q22.13")[1] - bed(21, "q22.11")[0])
    assert 0.12 < darkness < 0.125
    assert (q221.start, q221.end, q221.stain) == (bed(21, "q22.11")[0], bed(21, "q22.13")[1], "gneg")
    at400 = kc.ideogram(21, 400)
    # gvar, stalk and acen are never merged and keep their names; q11.2 alone becomes q11
    assert names(at400) == ["p13", "p12", "p11.2", "p11.1", "q11.1", "q11", "q21", "q22"]
    # q21: q21.1 gpos100 + q21.2 gneg + q21.3 gpos75 -> 0.73 gpos75; q22: two gpos50 of five -> 0.148 gpos25
    assert stains(at400) == ["gvar", "stalk", "gvar", "acen", "acen", "gneg", "gpos75", "gpos25"]
    assert all(band.chromosome == "21" for band in at400.bands)


def test_y_triple_digit_subbands_merge():
    assert names(kc.ideogram("Y", 550)) == ["p11.3", "p11.2", "p11.1", "q11.1", "q11.2", "q12"]
    assert names(kc.ideogram("Y", 400)) == ["p11", "p11.1", "q11.1", "q11", "q12"]


@pytest.mark.parametrize("resolution", kc.RESOLUTIONS)
def test_bands_tile_and_never_cross_centromere(resolution):
    for chromosome in kc.CHROMOSOMES:
        ideo = kc.ideogram(chromosome, resolution)
        starts = [band.start for band in ideo.bands]
        ends = [band.end for band in ideo.bands]
        assert starts[0] == 0.0 and ends[-1] == bed_length(chromosome)
        assert starts[1:] == ends[:-1]
        arms = "".join(band.arm for band in ideo.bands)
        assert arms == "p" * arms.count("p") + "q" * arms.count("q")
        assert [b.name for b in ideo.bands if b.stain == "acen"] == [
            b.name for b in kc.ideogram(chromosome, 850).bands if b.stain == "acen"
        ]


def test_centromeres_and_relative_lengths():
    # The centromere is the end of the p-arm acen band (p11.1 on 1 and 21, p11 on 5).
    one, five, twentyone = kc.ideogram(1), kc.ideogram(5, 400), kc.ideogram(21, 550)
    assert one.centromere == bed(1, "p11.1")[1] == bed(1, "q11")[0]
    assert one.centromere_fraction == pytest.approx(bed(1, "p11.1")[1] / bed_length(1))
    assert five.centromere_fraction == pytest.approx(bed(5, "p11")[1] / bed_length(5))
    assert twentyone.centromere_fraction == pytest.approx(bed(21, "p11.1")[1] / bed_length(21))
    assert 0.45 < one.centromere_fraction <= 0.5  # metacentric
    assert 0.25 < five.centromere_fraction < 0.3  # submetacentric
    assert twentyone.centromere_fraction < 0.25  # acrocentric
    assert one.p_length + one.q_length == one.length
    assert five.q_length == bed_length(5) - bed(5, "q11.1")[0]
    assert one.relative_length == 1.0
    assert twentyone.relative_length == pytest.approx(bed_length(21) / bed_length(1))
    assert 0.18 < twentyone.relative_length < 0.19


def test_find_any_level():
    nine = kc.ideogram(9, 400)
    assert nine.find("q34") == (bed(9, "q34.11")[0], bed(9, "q34.3")[1])
    assert nine.find("q34.1") == (bed(9, "q34.11")[0], bed(9, "q34.13")[1])
    assert nine.find("q34.12") == bed(9, "q34.12")
    assert kc.ideogram(5).find("p15.2") == bed(5, "p15.2")
    assert kc.ideogram(5).find("p15") == (0.0, bed(5, "p15.1")[1])
    # "q2" is not a prefix band of q21 (region+band digits are whole), and q1 is not a band of 9
    with pytest.raises(ValueError, match="band q2 is not on chromosome 9"):
        nine.find("q2")


@pytest.mark.parametrize(
    "chromosome, band, message",
    [
        (9, "q35", r"band q35 is not on chromosome 9 \(its q arm ends at q34\.3\)"),
        (5, "p16", r"band p16 is not on chromosome 5 \(its p arm ends at p15\.33\)"),
        (9, "q21.4", r"band q21\.4 is not on chromosome 9 \(its q21 has q21\.11 to q21\.33\)"),
        (9, "x12", r"band 'x12' is not an ISCN band name"),
        (9, "q", r"band 'q' is not an ISCN band name"),
    ],
)
def test_find_errors(chromosome, band, message):
    with pytest.raises(ValueError, match=message):
        kc.ideogram(chromosome).find(band)


def test_function_survives_importing_its_module_first():
    # kc.ideogram is the function even when kerasgan.chromosome.ideogram (same name) is imported first.
    code = (
        "import kerasgan.chromosome.ideogram, sys; from kerasgan import chromosome as kc; "
        "assert callable(kc.ideogram) and kc.ideogram(21).chromosome == '21'; "
        "assert sys.modules['kerasgan.chromosome.ideogram'].ideogram is kc.ideogram"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_chromosome_names_accepted():
    nine = kc.ideogram("9")
    assert kc.ideogram(9) == nine == kc.ideogram("chr9") == kc.ideogram(np.int64(9))
    assert kc.ideogram("X").chromosome == kc.ideogram("chrX").chromosome == "X"
    assert nine.chromosome == "9" and nine.resolution == 850


@pytest.mark.parametrize("bad", ["23", "chrZ", 0, "", "9p", 1.5, True, None])
def test_bad_chromosome(bad):
    with pytest.raises(ValueError, match="chromosome"):
        kc.ideogram(bad)


@pytest.mark.parametrize("bad", [500, 0, "400", True])
def test_bad_resolution(bad):
    with pytest.raises(ValueError, match="resolution must be one of"):
        kc.ideogram(1, resolution=bad)


def test_band_properties():
    grey = {
        "gneg": 1.0, "gpos25": 0.75, "gpos50": 0.5, "gpos75": 0.25, "gpos100": 0.0,
        "gvar": 0.0, "acen": 0.6, "stalk": 0.9,
    }  # fmt: skip
    black = {"gpos50", "gpos75", "gpos100", "gvar"}
    for stain, value in grey.items():
        band = kc.Band("q21.3", 10.0, 25.0, stain, "5")
        assert band.grey == value
        assert band.black == (stain in black)
        assert band.arm == "q" and band.length == 15.0
    assert kc.Band("p11.2", 0, 1, "gneg").arm == "p"
    with pytest.raises(ValueError, match="stain 'gpos60'"):
        kc.Band("p11", 0, 1, "gpos60")
    with pytest.raises(ValueError, match="before start"):
        kc.Band("p11", 5, 1, "gneg")


def test_pattern_orientation_binary_and_grey():
    # chr21, 10 samples at (i + 0.5) * 4.509 Mb: p13 gvar, p11.2 gvar, q11.1 acen, q21.1 gpos100, q21.1,
    # q21.3 gpos75, q22.11 gneg, q22.12 gpos50, q22.2 gpos50, q22.3 gneg (pter first).
    binary = kc.ideogram_pattern(21, 10)
    assert binary.dtype == np.uint8
    np.testing.assert_array_equal(binary, [0, 0, 1, 0, 0, 0, 1, 0, 0, 1])
    grey = kc.ideogram_pattern(kc.ideogram("chr21"), 10, levels="grey")
    assert grey.dtype == np.float32
    np.testing.assert_allclose(grey, [0.0, 0.0, 0.6, 0.0, 0.0, 0.25, 1.0, 0.5, 0.5, 1.0])
    # The sample positions themselves: sample 2 lies inside the short q11.1 acen band.
    q111 = bed(21, "q11.1")
    assert q111[0] < 2.5 / 10 * bed_length(21) < q111[1]


def test_pattern_matches_band_fractions():
    # With many samples the share of white samples is the white share of the chromosome's length.
    rows = [row for row in bed_rows() if row[0] == "chr5"]
    white = sum(float(r[2]) - float(r[1]) for r in rows if r[4].strip() in ("gneg", "gpos25", "acen", "stalk"))
    pattern = kc.ideogram_pattern("5", 20000)
    assert pattern.mean() == pytest.approx(white / bed_length(5), abs=1e-3)
    assert pattern[0] == 1 and pattern[-1] == 1  # p15.33 and q35.3 are gneg
    first_black = np.argmax(pattern == 0)  # p15.2 gpos50 is the first black band
    assert first_black == pytest.approx(bed(5, "p15.2")[0] / bed_length(5) * 20000, abs=1)


def test_pattern_of_any_object_with_bands():
    class Toy:
        bands = (kc.Band("p1", 100.0, 150.0, "gneg"), kc.Band("q1", 150.0, 200.0, "gpos100"))
        length = 100.0

    np.testing.assert_array_equal(kc.ideogram_pattern(Toy(), 4), [1, 1, 0, 0])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"source": 1, "length": 0}, ValueError, "length must be a positive integer"),
        ({"source": 1, "length": 3.5}, ValueError, "length must be a positive integer"),
        ({"source": 1, "length": 8, "levels": "rgb"}, ValueError, "levels must be 'binary' or 'grey'"),
        ({"source": 3.5, "length": 8}, TypeError, "source must be a chromosome name"),
        ({"source": "chr30", "length": 8}, ValueError, "not a human chromosome"),
    ],
)
def test_pattern_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        kc.ideogram_pattern(**kwargs)
