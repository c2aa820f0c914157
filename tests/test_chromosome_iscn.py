"""ISCN karyotype strings -> chromosomes with real bands.

Every expected segment list, band sequence and count below is written out by hand from
ideogram_data/cytobands_chm13.bed (band names) with positions read from that file; none is derived
by the code under test. Conventions (kerasgan.chromosome.iscn docstring): the named band goes with the
segment named as moved or lost; interstitial segments include both named bands.
"""

import collections
import pathlib

import numpy as np
import pytest

from kerasgan import chromosome as kc

BED = pathlib.Path(kc.__file__).parent / "ideogram_data" / "cytobands_chm13.bed"
ROWS = [line.split("\t") for line in BED.read_text().splitlines() if line.strip()]


def start(chromosome, band):
    (row,) = [r for r in ROWS if r[0] == f"chr{chromosome}" and r[3] == band]
    return float(row[1])


def end(chromosome, band):
    (row,) = [r for r in ROWS if r[0] == f"chr{chromosome}" and r[3] == band]
    return float(row[2])


def L(chromosome):  # noqa: N802 - the chromosome's length
    return max(float(r[2]) for r in ROWS if r[0] == f"chr{chromosome}")


def cen(chromosome, p_acen_band="p11.1"):
    """The centromere: the end of the p-arm acen band (named by hand)."""
    return end(chromosome, p_acen_band)


def segments(chromosome):
    return [(s.chromosome, s.start, s.end, s.reversed) for s in chromosome.segments]


def labels(chromosome):
    return [f"{band.chromosome}{band.name}" for band in chromosome.bands]


def abnormal(karyotype):
    return [c for c in karyotype.chromosomes if c.abnormal]


def by_name(karyotype, name):
    (found,) = [c for c in karyotype.chromosomes if c.name == name]
    return found


def classes(karyotype):
    return collections.Counter(c.chromosome_class for c in karyotype.chromosomes)


def contains_run(sequence, run):
    return any(sequence[i : i + len(run)] == run for i in range(len(sequence) - len(run) + 1))


# ------------------------------------------------------------------------------------------------
# Numerical and sex chromosome karyotypes: class counts by hand.

NORMAL = {str(i): 2 for i in range(1, 23)}


@pytest.mark.parametrize(
    "iscn, changes",
    [
        ("46,XX", {"X": 2}),
        ("46,XY", {"X": 1, "Y": 1}),
        ("47,XX,+21", {"X": 2, "21": 3}),
        ("47,XY,+18", {"X": 1, "Y": 1, "18": 3}),
        ("45,X", {"X": 1}),
        ("47,XXY", {"X": 2, "Y": 1}),
        ("47,XXX", {"X": 3}),
        ("48,XXYY", {"X": 2, "Y": 2}),
        ("45,XY,-15", {"X": 1, "Y": 1, "15": 1}),
        ("46,XY,+21,-15", {"X": 1, "Y": 1, "21": 3, "15": 1}),
    ],
)
def test_numerical(iscn, changes):
    karyo = kc.karyotype(iscn)
    expected = {**NORMAL, **changes}
    assert dict(classes(karyo)) == {c: n for c, n in expected.items() if n}
    assert karyo.count == len(karyo.chromosomes) == sum(expected.values())
    assert karyo.iscn == iscn and karyo.sex == iscn.split(",")[1]
    assert not abnormal(karyo)
    # karyogram order: 1, 1, 2, 2, ..., X, Y
    order = [c.chromosome_class for c in karyo.chromosomes]
    assert order == sorted(order, key=kc.CHROMOSOMES.index)
    for chromosome in karyo.chromosomes:
        assert chromosome.name == chromosome.chromosome_class and chromosome.breakpoints == ()
        assert segments(chromosome) == [(chromosome.name, 0.0, L(chromosome.name), False)]


def test_normal_chromosome_matches_its_ideogram():
    karyo = kc.karyotype("46,XY", resolution=550)
    five = [c for c in karyo.chromosomes if c.chromosome_class == "5"][0]
    assert five.bands == kc.ideogram(5, 550).bands
    assert five.centromere == pytest.approx(cen(5, "p11") / L(5))
    assert five.relative_length == pytest.approx(L(5) / L(1))
    assert five.length == L(5)


# ------------------------------------------------------------------------------------------------
# Structural abnormalities: segments and bands written out by hand.

STRUCTURAL = [
    # (iscn, chromosome name, segments pter -> qter, band runs that must appear, first, last band)
    (
        "46,XY,del(5)(p15.2)",  # cri-du-chat: p15.2 -> pter lost
        "del(5)(p15.2)",
        lambda: [("5", end(5, "p15.2"), L(5), False)],
        [["5p15.1", "5p14.3"]],
        "5p15.1",
        "5q35.3",
    ),
    (
        "46,XX,del(5)(q33)",  # terminal q: q33 -> qter lost
        "del(5)(q33)",
        lambda: [("5", 0.0, start(5, "q33.1"), False)],
        [["5q31.3", "5q32"]],
        "5p15.33",
        "5q32",
    ),
    (
        "46,XX,del(5)(q13q33)",  # interstitial: q13 and q33 both lost
        "del(5)(q13q33)",
        lambda: [("5", 0.0, start(5, "q13.1"), False), ("5", end(5, "q33.3"), L(5), False)],
        [["5q12.3", "5q34"]],
        "5p15.33",
        "5q35.3",
    ),
    (
        "46,XY,del(22)(q11.21q11.23)",  # 22q11.2 deletion, sub-band level
        "del(22)(q11.21q11.23)",
        lambda: [("22", 0.0, start(22, "q11.21"), False), ("22", end(22, "q11.23"), L(22), False)],
        [["22q11.1", "22q12.1"]],
        "22p13",
        "22q13.33",
    ),
    (
        "46,XY,dup(1)(q21q32)",  # tandem direct: 1pter -> 1q32 :: 1q21 -> 1qter
        "dup(1)(q21q32)",
        lambda: [("1", 0.0, end(1, "q32.3"), False), ("1", start(1, "q21.1"), L(1), False)],
        [["1q32.2", "1q32.3", "1q21.1", "1q21.2"]],
        "1p36.33",
        "1q44",
    ),
    (
        "46,XX,dup(17)(p12)",  # one band duplicated
        "dup(17)(p12)",
        lambda: [("17", 0.0, end(17, "p12"), False), ("17", start(17, "p12"), L(17), False)],
        [["17p13.1", "17p12", "17p12", "17p11.2"]],
        "17p13.3",
        "17q25.3",
    ),
    (
        "46,XX,inv(9)(p12q13)",  # pericentric: p12 ... q13 read backwards
        "inv(9)(p12q13)",
        lambda: [
            ("9", 0.0, start(9, "p12"), False),
            ("9", start(9, "p12"), end(9, "q13"), True),
            ("9", end(9, "q13"), L(9), False),
        ],
        [["9p13.1", "9q13", "9q12", "9q11", "9p11.1", "9p11.2", "9p12", "9q21.11"]],
        "9p24.3",
        "9q34.3",
    ),
    (
        "46,XX,inv(3)(q21q26.2)",  # paracentric
        "inv(3)(q21q26.2)",
        lambda: [
            ("3", 0.0, start(3, "q21.1"), False),
            ("3", start(3, "q21.1"), end(3, "q26.2"), True),
            ("3", end(3, "q26.2"), L(3), False),
        ],
        [["3q13.33", "3q26.2", "3q26.1", "3q25.33"], ["3q21.2", "3q21.1", "3q26.31"]],
        "3p26.3",
        "3q29",
    ),
    (
        "46,XY,ins(5;2)(p14;q22q32)",  # direct: q22 stays nearer 5's centromere
        "der(5)ins(5;2)(p14;q22q32)",
        lambda: [
            ("5", 0.0, end(5, "p14.1"), False),
            ("2", start(2, "q22.1"), end(2, "q32.3"), True),
            ("5", end(5, "p14.1"), L(5), False),
        ],
        [["5p14.1", "2q32.3", "2q32.2"], ["2q22.2", "2q22.1", "5p13.3"]],
        "5p15.33",
        "5q35.3",
    ),
    (
        "46,XY,ins(5;2)(p14;q22q32)",
        "der(2)ins(5;2)(p14;q22q32)",
        lambda: [("2", 0.0, start(2, "q22.1"), False), ("2", end(2, "q32.3"), L(2), False)],
        [["2q21.3", "2q33.1"]],
        "2p25.3",
        "2q37.3",
    ),
    (
        "46,XX,ins(5;2)(p14;q32q22)",  # inverted insertion: the segment reads q22 -> q32 from pter
        "der(5)ins(5;2)(p14;q32q22)",
        lambda: [
            ("5", 0.0, end(5, "p14.1"), False),
            ("2", start(2, "q22.1"), end(2, "q32.3"), False),
            ("5", end(5, "p14.1"), L(5), False),
        ],
        [["5p14.1", "2q22.1"], ["2q32.3", "5p13.3"]],
        "5p15.33",
        "5q35.3",
    ),
    (
        "46,XX,ins(2)(p13q21q31)",  # within one chromosome: 2q21 -> 2q31 moved into 2p13
        "ins(2)(p13q21q31)",
        lambda: [
            ("2", 0.0, end(2, "p13.1"), False),
            ("2", start(2, "q21.1"), end(2, "q31.3"), True),
            ("2", end(2, "p13.1"), start(2, "q21.1"), False),
            ("2", end(2, "q31.3"), L(2), False),
        ],
        [["2p13.1", "2q31.3"], ["2q21.1", "2p12"], ["2q14.3", "2q32.1"]],
        "2p25.3",
        "2q37.3",
    ),
    (
        "46,XX,t(9;22)(q34;q11.2)",  # Philadelphia: der(22) = 22pter -> 22q11.1 :: 9q34 -> 9qter
        "der(22)t(9;22)(q34;q11.2)",
        lambda: [("22", 0.0, start(22, "q11.21"), False), ("9", start(9, "q34.11"), L(9), False)],
        [["22q11.1", "9q34.11"]],
        "22p13",
        "9q34.3",
    ),
    (
        "46,XX,t(9;22)(q34;q11.2)",  # der(9) = 9pter -> 9q33.3 :: 22q11.2 -> 22qter
        "der(9)t(9;22)(q34;q11.2)",
        lambda: [("9", 0.0, start(9, "q34.11"), False), ("22", start(22, "q11.21"), L(22), False)],
        [["9q33.3", "22q11.21"]],
        "9p24.3",
        "22q13.33",
    ),
    (
        "46,XY,der(1)t(1;3)(p22;q13)",  # 3qter -> 3q13 :: 1p21 -> 1qter
        "der(1)t(1;3)(p22;q13)",
        lambda: [("3", start(3, "q13.11"), L(3), True), ("1", end(1, "p22.1"), L(1), False)],
        [["3q13.12", "3q13.11", "1p21.3"]],
        "3q29",
        "1q44",
    ),
    (
        "46,XX,t(1;3)(p22;q13)",  # the reciprocal der(3) = 3pter -> 3q12.3 :: 1p22 -> 1pter
        "der(3)t(1;3)(p22;q13)",
        lambda: [("3", 0.0, start(3, "q13.11"), False), ("1", 0.0, end(1, "p22.1"), True)],
        [["3q12.3", "1p22.1", "1p22.2"]],
        "3p26.3",
        "1p36.33",
    ),
    (
        "46,XY,t(11;22)(q23;q11.2)",  # the recurrent constitutional translocation
        "der(11)t(11;22)(q23;q11.2)",
        lambda: [("11", 0.0, start(11, "q23.1"), False), ("22", start(22, "q11.21"), L(22), False)],
        [["11q22.3", "22q11.21"]],
        "11p15.5",
        "22q13.33",
    ),
    (
        "46,XY,t(1;3;5)(p22;q13;q31)",  # three-way: 1's piece -> 3, 3's -> 5, 5's -> 1
        "der(1)t(1;3;5)(p22;q13;q31)",
        lambda: [("5", start(5, "q31.1"), L(5), True), ("1", end(1, "p22.1"), L(1), False)],
        [["5q31.1", "1p21.3"]],
        "5q35.3",
        "1q44",
    ),
    (
        "46,XY,t(1;3;5)(p22;q13;q31)",
        "der(5)t(1;3;5)(p22;q13;q31)",
        lambda: [("5", 0.0, start(5, "q31.1"), False), ("3", start(3, "q13.11"), L(3), False)],
        [["5q23.3", "3q13.11"]],
        "5p15.33",
        "3q29",
    ),
    (
        "46,XX,t(1;2)(p10;q10)",  # whole-arm exchange: der(1) = 2qter -> 2cen :: 1cen -> 1qter, class 1
        "der(1)t(1;2)(p10;q10)",
        lambda: [("2", cen(2), L(2), True), ("1", cen(1), L(1), False)],
        [["2q11.2", "2q11.1", "1q11", "1q12"]],
        "2q37.3",
        "1q44",
    ),
    (
        "46,X,i(X)(q10)",  # Xqter -> Xcen -> Xqter
        "i(X)(q10)",
        lambda: [("X", cen("X"), L("X"), True), ("X", cen("X"), L("X"), False)],
        [["Xq11.2", "Xq11.1", "Xq11.1", "Xq11.2"]],
        "Xq28",
        "Xq28",
    ),
    (
        "46,XX,i(17)(q10)",
        "i(17)(q10)",
        lambda: [("17", cen(17), L(17), True), ("17", cen(17), L(17), False)],
        [["17q11.1", "17q11.1"]],
        "17q25.3",
        "17q25.3",
    ),
    (
        "47,XY,+i(12)(p10)",  # Pallister-Killian: an extra i(12p)
        "i(12)(p10)",
        lambda: [("12", 0.0, cen(12), False), ("12", 0.0, cen(12), True)],
        [["12p11.21", "12p11.1", "12p11.1", "12p11.21"]],
        "12p13.33",
        "12p13.33",
    ),
    (
        "46,XX,r(5)(p14q33)",  # ring keeps p14 -> q33, both named bands
        "r(5)(p14q33)",
        lambda: [("5", start(5, "p14.3"), end(5, "q33.3"), False)],
        [],
        "5p14.3",
        "5q33.3",
    ),
    (
        "46,X,del(X)(p21)",  # abnormal X beside one normal X
        "del(X)(p21)",
        lambda: [("X", end("X", "p21.1"), L("X"), False)],
        [],
        "Xp11.4",
        "Xq28",
    ),
    (
        "46,XY,der(9)del(9)(p12)t(9;22)(q34;q11.2)",  # a der with two rearrangements
        "der(9)del(9)(p12)t(9;22)(q34;q11.2)",
        lambda: [("9", end(9, "p12"), start(9, "q34.11"), False), ("22", start(22, "q11.21"), L(22), False)],
        [["9q33.3", "22q11.21"]],
        "9p11.2",
        "22q13.33",
    ),
    (
        "46,XY,del(5)(p15.2)mat",  # inheritance ignored
        "del(5)(p15.2)",
        lambda: [("5", end(5, "p15.2"), L(5), False)],
        [],
        "5p15.1",
        "5q35.3",
    ),
]


@pytest.mark.parametrize("iscn, name, expected, runs, first, last", STRUCTURAL, ids=[c[1] for c in STRUCTURAL])
def test_structural(iscn, name, expected, runs, first, last):
    karyo = kc.karyotype(iscn)
    assert len(karyo.chromosomes) == karyo.count
    chromosome = by_name(karyo, name)
    assert chromosome.abnormal
    assert segments(chromosome) == expected()
    assert chromosome.length == pytest.approx(sum(e - s for _, s, e, _ in expected()))
    assert chromosome.relative_length == pytest.approx(chromosome.length / L(1))
    names = labels(chromosome)
    assert names[0] == first and names[-1] == last
    for run in runs:
        assert contains_run(names, run), (run, names)
    # Bands tile the new chromosome from 0 to its length.
    assert chromosome.bands[0].start == 0.0
    assert chromosome.bands[-1].end == pytest.approx(chromosome.length)
    assert all(a.end == pytest.approx(b.start) for a, b in zip(chromosome.bands, chromosome.bands[1:]))


def test_deletion_named_band_is_lost():
    chromosome = by_name(kc.karyotype("46,XY,del(5)(p15.2)"), "del(5)(p15.2)")
    assert "5p15.2" not in labels(chromosome)
    assert chromosome.length == L(5) - end(5, "p15.2")
    assert chromosome.centromere == pytest.approx((cen(5, "p11") - end(5, "p15.2")) / chromosome.length)
    assert chromosome.breakpoints == ("5p15.2",) and chromosome.chromosome_class == "5"


def test_translocation_counts_and_breakpoints():
    karyo = kc.karyotype("46,XX,t(9;22)(q34;q11.2)")
    assert dict(classes(karyo)) == {**NORMAL, "X": 2}
    assert [c.name for c in karyo.chromosomes if c.chromosome_class in ("9", "22")] == [
        "9", "der(9)t(9;22)(q34;q11.2)", "22", "der(22)t(9;22)(q34;q11.2)",
    ]  # fmt: skip
    ph = by_name(karyo, "der(22)t(9;22)(q34;q11.2)")
    assert ph.breakpoints == ("9q34", "22q11.2") and ph.chromosome_class == "22"
    assert ph.centromere == pytest.approx(cen(22) / (start(22, "q11.21") + L(9) - start(9, "q34.11")))
    # Material is conserved in a balanced translocation.
    assert sum(c.length for c in abnormal(karyo)) == L(9) + L(22)


def test_philadelphia_alone_keeps_both_9s():
    karyo = kc.karyotype("46,XY,der(22)t(9;22)(q34;q11.2)")
    assert [c.name for c in karyo.chromosomes if c.chromosome_class in ("9", "22")] == [
        "9", "9", "22", "der(22)t(9;22)(q34;q11.2)",
    ]  # fmt: skip
    none_left = kc.karyotype("45,XX,-22,der(22)t(9;22)(q34;q11.2)")
    assert [c.name for c in none_left.chromosomes if c.chromosome_class == "22"] == ["der(22)t(9;22)(q34;q11.2)"]


def test_extra_derivative_emanuel():
    karyo = kc.karyotype("47,XX,+der(22)t(11;22)(q23;q11.2)")
    assert [c.name for c in karyo.chromosomes if c.chromosome_class in ("11", "22")] == [
        "11", "11", "22", "22", "der(22)t(11;22)(q23;q11.2)",
    ]  # fmt: skip
    der22 = by_name(karyo, "der(22)t(11;22)(q23;q11.2)")
    assert segments(der22) == [("22", 0.0, start(22, "q11.21"), False), ("11", start(11, "q23.1"), L(11), False)]


def test_pericentric_inversion_moves_the_centromere():
    karyo = kc.karyotype("46,XX,inv(9)(p12q13)")
    inverted = by_name(karyo, "inv(9)(p12q13)")
    normal = [c for c in karyo.chromosomes if c.name == "9"]
    assert len(normal) == 1
    assert normal[0].centromere == pytest.approx(cen(9) / L(9))  # 0.307
    moved = (start(9, "p12") + (end(9, "q13") - cen(9))) / L(9)  # the centre now sits inside the inverted piece
    assert inverted.centromere == pytest.approx(moved)
    assert 0.46 < inverted.centromere < 0.47
    assert inverted.length == L(9)
    paracentric = by_name(kc.karyotype("46,XX,inv(3)(q21q26.2)"), "inv(3)(q21q26.2)")
    assert paracentric.centromere == pytest.approx(cen(3) / L(3))


def test_whole_arm_translocation_classes():
    karyo = kc.karyotype("46,XX,t(1;2)(p10;q10)")
    assert [(c.name, c.chromosome_class) for c in abnormal(karyo)] == [
        ("der(1)t(1;2)(p10;q10)", "1"), ("der(2)t(1;2)(p10;q10)", "2"),
    ]  # fmt: skip
    der2 = by_name(karyo, "der(2)t(1;2)(p10;q10)")
    assert segments(der2) == [("2", 0.0, cen(2), False), ("1", 0.0, cen(1), True)]
    assert der2.centromere == pytest.approx(cen(2) / (cen(2) + cen(1)))


def test_isochromosomes():
    ix = by_name(kc.karyotype("46,X,i(X)(q10)"), "i(X)(q10)")
    assert ix.centromere == pytest.approx(0.5) and ix.chromosome_class == "X"
    assert ix.length == 2 * (L("X") - cen("X")) and ix.breakpoints == ("Xq10",)
    assert classes(kc.karyotype("46,X,i(X)(q10)"))["X"] == 2
    i12 = kc.karyotype("47,XY,+i(12)(p10)")
    assert [c.name for c in i12.chromosomes if c.chromosome_class == "12"] == ["12", "12", "i(12)(p10)"]
    assert by_name(i12, "i(12)(p10)").length == 2 * cen(12)


def test_pattern_of_a_derivative():
    ph = by_name(kc.karyotype("46,XX,t(9;22)(q34;q11.2)"), "der(22)t(9;22)(q34;q11.2)")
    np.testing.assert_array_equal(ph.pattern(64), kc.ideogram_pattern(ph, 64))
    # pter is 22p13 (gvar, black), qter is 9q34.3 (gneg, white)
    binary = ph.pattern(200)
    assert binary[0] == 0 and binary[-1] == 1
    grey = ph.pattern(200, levels="grey")
    assert grey.dtype == np.float32 and grey[0] == 0.0 and grey[-1] == 1.0
    # Sample at the middle of 22q11.1 (acen, 0.6) and of 9q34.12 (gpos25, 0.75) in der(22) coordinates.
    n = 20000
    fine = ph.pattern(n, levels="grey")
    acen_middle = (start(22, "q11.1") + end(22, "q11.1")) / 2
    q3412_middle = start(22, "q11.21") + (start(9, "q34.12") + end(9, "q34.12")) / 2 - start(9, "q34.11")
    assert fine[int(acen_middle / ph.length * n)] == pytest.approx(0.6)
    assert fine[int(q3412_middle / ph.length * n)] == pytest.approx(0.75)
    deleted = by_name(kc.karyotype("46,XY,del(5)(p15.2)"), "del(5)(p15.2)").pattern(100)
    assert deleted[0] == 1  # p15.1 gneg now at pter (p15.2 gpos50 would be 0)


def test_resolution_changes_bands_not_positions():
    fine = by_name(kc.karyotype("46,XY,del(5)(p15.2)"), "del(5)(p15.2)")
    coarse = by_name(kc.karyotype("46,XY,del(5)(p15.2)", resolution=400), "del(5)(p15.2)")
    assert segments(coarse) == segments(fine)
    # at 400 the first band is what is left of p15 (p15.1 only), clipped at the breakpoint
    first = coarse.bands[0]
    assert (first.name, first.start, first.end) == ("p15", 0.0, end(5, "p15.1") - end(5, "p15.2"))
    assert labels(coarse)[:3] == ["5p15", "5p14", "5p13"]
    with pytest.raises(ValueError, match="resolution must be one of"):
        kc.karyotype("46,XX", resolution=500)


# ------------------------------------------------------------------------------------------------
# Errors: each names the token and says why.


@pytest.mark.parametrize(
    "iscn, message",
    [
        ("46,XX,+21", r"count 46 disagrees .* which make 47 .*\+21 adds one"),
        ("47,XY", r"count 47 disagrees .* which make 46"),
        ("46,XX,del(X)(p21)", r"count 46 .* make 47 .*abnormal sex chromosomes are not in the sex field"),
        ("46,XX,del(9)(q35)", r"^del\(9\)\(q35\): band q35 is not on chromosome 9 \(its q arm ends at q34\.3\)$"),
        ("46,XY,del(5)(p16)", r"^del\(5\)\(p16\): band p16 is not on chromosome 5 \(its p arm ends at p15\.33\)$"),
        ("46,XX,t(9;22)(q34;q13.4)", r"t\(9;22\)\(q34;q13\.4\): band q13\.4 is not on chromosome 22"),
        ("46,XY,der(22)t(9;22)(q35;q11.2)", r"der\(22\)t\(9;22\)\(q35;q11\.2\): band q35 is not on chromosome 9"),
        ("46,XX,foo(5)(p15)", r"^foo\(5\)\(p15\): unsupported operator 'foo'"),
        ("46,XX,add(5)(p15)", r"^add\(5\)\(p15\): unsupported operator 'add'"),
        ("47,XY,+21,+mar", r"^\+mar: unsupported operator 'mar'"),
        ("46,XY,idic(17)(p11.2)", r"unsupported operator 'idic'"),
        ("mos 45,X[10]/46,XX[20]", r"mosaic and chimeric karyotypes .* unsupported"),
        ("45,X/46,XX", r"mosaic"),
        ("46,XX,?del(5)(p15.2)", r"uncertain notation \('\?'\) is unsupported"),
        ("46,XX,inv(9)(p12)", r"inv\(9\)\(p12\)"),
        ("46,XX,i(X)(q12)", r"^i\(X\)\(q12\): i needs p10 or q10"),
        ("46,XY,t(9;22)(q34)", r"^t\(9;22\)\(q34\): t names 2 chromosome\(s\) but 1 breakpoint"),
        ("46,XX,t(9;9)(q34;q22)", r"names the same chromosome twice"),
        ("46,XX,del(25)(p12)", r"^del\(25\)\(p12\): '25' is not a human chromosome"),
        ("46,XX,ins(5;2)(p14;q22)", r"^ins\(5;2\)\(p14;q22\): ins needs"),
        ("46,XX,ins(2)(q21q21q31)", r"insertion site q21 overlaps the inserted segment"),
        ("46,XY,der(22)t(9;21)(q34;q11.2)", r"t\(9;21\)\(q34;q11\.2\) does not involve chromosome 22"),
        ("43,XX,-21,-21,-21", r"^-21: no normal chromosome 21 left to lose"),
        ("46,XX,dup(1)(p13q21)", r"^dup\(1\)\(p13q21\): the result has 2 centromeres \(dicentric\)"),
        ("46,xy", r"46,xy: .*sex"),
        ("46,XX,del(5)(p15.2", r"del\(5\)\(p15\.2"),
        ("", r"empty karyotype string"),
        ("46,XX,der(22)", r"^der\(22\): a derivative needs the rearrangement that made it"),
        ("45,XX,der(13;14)(q10;q10)", r"der with two chromosomes \(whole-arm or Robertsonian\) is unsupported"),
        ("47,XX,+Z", r"^\+Z: 'Z' is not a human chromosome"),
        ("47,XX,+", r"^\+: '\+' names no chromosome or rearrangement"),
        ("46,XX,r(5)(q13q33)", r"^r\(5\)\(q13q33\): r\(5\)\(q13q33\) has no centromere \(acentric\)"),
    ],
)
def test_errors(iscn, message):
    with pytest.raises(kc.ISCNError, match=message):
        kc.karyotype(iscn)


def test_error_types():
    assert issubclass(kc.ISCNError, ValueError)
    with pytest.raises(ValueError, match="end 1.0 must be after start 5.0"):
        kc.Segment("5", 5.0, 1.0, False)
    with pytest.raises(TypeError, match="iscn must be a string"):
        kc.karyotype(46)


def test_cell_count_of_one_cell_line():
    karyo = kc.karyotype("46,XX,t(9;22)(q34;q11.2)[20]")
    assert len(abnormal(karyo)) == 2 and karyo.count == 46
