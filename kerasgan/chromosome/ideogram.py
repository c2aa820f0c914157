"""Real human ideograms: the G-banded bands of chromosomes 1-22, X and Y at 400, 550 or 850 bands.

    from kerasgan import chromosome as kc
    chr5 = kc.ideogram(5, resolution=550)       # bands pter -> qter with bp positions and Giemsa stains
    chr5.centromere_fraction                     # 0.27 (submetacentric)
    chr5.find("p15.2")                           # (start, end) in bp of p15.2 (any level: "p15" too)
    pattern = kc.ideogram_pattern(5, 256)        # the paper's binary pattern, 0 = black band

The table is the UCSC cytoBand track of T2T-CHM13 (862 bands at the finest level), shipped as package
data (``ideogram_data/cytobands_chm13.bed``, from the MIT-licensed PyPI package pyryotype 0.0.7; see
``ideogram_data/PROVENANCE.md``). It is read here with the standard library rather than through
pyryotype, which would pull pandas for one table.

Band names follow ISCN: arm (p short, q long), region and band digits, then after a dot the sub-band
and sub-sub-band digits: ``p36.33`` is sub-sub-band 3 of sub-band 3 of band 6 of region 3 of the p arm.
Coarser resolutions merge by that hierarchy (dropping trailing digits):

- 850: the table as is (851 bands per haploid set 1-22 + X; 862 with Y).
- 550: sub-sub-bands merge into their sub-band, ``p36.33/p36.32/p36.31 -> p36.3`` (720; 726 with Y).
- 400: sub-bands merge into their band, ``p36.3/p36.2/p36.1 -> p36`` (353; 358 with Y).

The counts were measured on this table. No rule that works from the band names alone gets much closer
to the nominal 550 and 400: dropping only the finest level present in each band gives 442 at 400 (not
closer than 353) and nothing between 720 and 442 at 550, because ISCN's published 400/550 ideograms
split bands unevenly (chr1 p36 keeps p36.3/p36.2/p36.1 at 400 in ISCN, p33 never splits). The plain
hierarchy is used: it is the one ISCN names follow, and every coarse name is a prefix of its parts.

Merging keeps what a cytogeneticist sees: centromeric (``acen``), variable heterochromatin (``gvar``)
and satellite stalk (``stalk``) bands never merge with anything and keep their table name, so a merge
never crosses the centromere. A merged band's stain is the length-weighted mean darkness of its parts
(gneg 0, gpos25 0.25, gpos50 0.5, gpos75 0.75, gpos100 1) rounded to the nearest of those levels
(a tie goes to the lighter level).

Positions are base pairs from pter (the tip of the p arm) on the finest table at every resolution;
resolution only changes which bands are listed.
"""

import dataclasses
import functools
import importlib.resources
import numbers
import re

import numpy as np

CHROMOSOMES = tuple(str(i) for i in range(1, 23)) + ("X", "Y")
RESOLUTIONS = (400, 550, 850)
STAINS = ("gneg", "gpos25", "gpos50", "gpos75", "gpos100", "acen", "gvar", "stalk")

# Brightness of each Giemsa stain as it looks on a G-banded chromosome (1 white, 0 black).
_GREY = {
    "gneg": 1.0,
    "gpos25": 0.75,
    "gpos50": 0.5,
    "gpos75": 0.25,
    "gpos100": 0.0,
    "gvar": 0.0,  # variable heterochromatin stains dark
    "acen": 0.6,  # the constriction is drawn mid-grey
    "stalk": 0.9,  # satellite stalks are pale
}
# The paper's binary band classes: these are the black bands, all others white.
_BLACK = frozenset({"gpos50", "gpos75", "gpos100", "gvar"})
# Stains that merge by darkness, lightest first; the others never merge.
_GRADED = ("gneg", "gpos25", "gpos50", "gpos75", "gpos100")
_BAND_NAME = re.compile(r"([pq])(\d+)(?:\.(\d+))?")
_TABLE_FILE = "ideogram_data/cytobands_chm13.bed"


@dataclasses.dataclass(frozen=True)
class Band:
    """One band of a chromosome (or of a rearranged one), positions in bp from its pter.

    Attributes:
        name: the ISCN band name on its source chromosome, e.g. ``"p36.33"``, ``"q11.2"``, ``"q34"``.
        start, end: the band's extent in bp from pter (floats are fine after a rearrangement).
        stain: the Giemsa stain, one of gneg gpos25 gpos50 gpos75 gpos100 acen gvar stalk.
        chromosome: the source chromosome, e.g. ``"9"``; matters in derivatives.
    """

    name: str
    start: float
    end: float
    stain: str
    chromosome: str = ""

    def __post_init__(self):
        if self.stain not in _GREY:
            raise ValueError(f"Band {self.name!r}: stain {self.stain!r} is not one of {', '.join(STAINS)}")
        if not self.end >= self.start:
            raise ValueError(f"Band {self.name!r}: end {self.end} is before start {self.start}")

    @property
    def arm(self):
        """``"p"`` or ``"q"``: the arm of the source chromosome the band lies on."""
        return self.name[0]

    @property
    def length(self):
        return self.end - self.start

    @property
    def grey(self):
        """Brightness in [0, 1]: gneg 1.0, gpos25 0.75, gpos50 0.5, gpos75 0.25, gpos100 0.0,
        gvar 0.0 (heterochromatin stains dark), acen 0.6, stalk 0.9."""
        return _GREY[self.stain]

    @property
    def black(self):
        """The paper's binary class: gpos50, gpos75, gpos100 and gvar are black; the rest white."""
        return self.stain in _BLACK


def _parse_band_name(name):
    """(arm, region+band digits, sub-band digits) of an ISCN band name, or None if it is not one."""
    match = _BAND_NAME.fullmatch(name) if isinstance(name, str) else None
    return None if match is None else (match.group(1), match.group(2), match.group(3) or "")


def _covers(query, name):
    """Whether band `query` (any level) contains band `name`: q34 covers q34.11, q34.1 covers q34.13."""
    q, n = _parse_band_name(query), _parse_band_name(name)
    return q[0] == n[0] and q[1] == n[1] and n[2].startswith(q[2])


@dataclasses.dataclass(frozen=True)
class Ideogram:
    """The bands of one human chromosome, pter -> qter, at one ISCN resolution."""

    chromosome: str
    resolution: int
    bands: tuple

    @property
    def length(self):
        """Length in bp."""
        return self.bands[-1].end - self.bands[0].start

    @property
    def centromere(self):
        """Position in bp of the p/q boundary (the middle of the two ``acen`` bands)."""
        return max(band.end for band in self.bands if band.arm == "p") - self.bands[0].start

    @property
    def centromere_fraction(self):
        """Centromere position as a fraction of the length from pter (p arm length / length)."""
        return self.centromere / self.length

    @property
    def p_length(self):
        return self.centromere

    @property
    def q_length(self):
        return self.length - self.centromere

    @property
    def relative_length(self):
        """Length / length of chromosome 1 in the same table."""
        return self.length / _table()["1"][-1].end

    def find(self, band_name):
        """(start, end) in bp covered by `band_name` at any level of the hierarchy.

        ``"q34"`` covers q34.11 ... q34.3, ``"q34.1"`` covers q34.11 ... q34.13. Looked up on the
        finest table whatever this ideogram's resolution, so a name from any resolution works.
        Raises ValueError naming the band and the chromosome if no band has that name.
        """
        if _parse_band_name(band_name) is None:
            raise ValueError(
                f"band {band_name!r} is not an ISCN band name (expected an arm p or q, digits and an "
                f"optional .sub-band, e.g. p36.33 or q11)"
            )
        bands = _table().get(self.chromosome, self.bands)
        matches = [band for band in bands if _covers(band_name, band.name)]
        if not matches:
            raise ValueError(_absent_band_message(band_name, self.chromosome, bands))
        return (matches[0].start, matches[-1].end)


def _absent_band_message(band_name, chromosome, bands):
    arm, region, _ = _parse_band_name(band_name)
    family = [band.name for band in bands if _covers(arm + region, band.name)]
    if family:
        why = f"its {arm}{region} has {family[0]} to {family[-1]}" if len(family) > 1 else f"only {family[0]}"
    else:
        arm_bands = [band.name for band in bands if band.arm == arm]
        terminal = arm_bands[0] if arm == "p" else arm_bands[-1]
        why = f"its {arm} arm ends at {terminal}"
    return f"band {band_name} is not on chromosome {chromosome} ({why})"


@functools.lru_cache(maxsize=None)
def _table():
    """The finest band table: {chromosome: (Band, ...)} pter -> qter, read once from the package data."""
    text = importlib.resources.files("kerasgan.chromosome").joinpath(_TABLE_FILE).read_text()
    table = {}
    for line_number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 5:
            raise ValueError(f"{_TABLE_FILE} line {line_number}: expected 5 tab-separated fields")
        chromosome = fields[0].removeprefix("chr")
        table.setdefault(chromosome, []).append(
            Band(fields[3], float(fields[1]), float(fields[2]), fields[4].strip(), chromosome)
        )
    return {chromosome: tuple(sorted(bands, key=lambda b: b.start)) for chromosome, bands in table.items()}


def _chromosome_name(chromosome, argument="chromosome"):
    """``"9"`` for 9, ``"9"``, ``"chr9"``; ``"X"`` for ``"X"``/``"chrX"``. ValueError otherwise."""
    if isinstance(chromosome, numbers.Integral) and not isinstance(chromosome, bool):
        name = str(int(chromosome))
    elif isinstance(chromosome, str):
        name = chromosome.strip()
        name = name[3:] if name.lower().startswith("chr") else name
        name = name.upper()
    else:
        raise ValueError(
            f"{argument} must be a chromosome name or number (1-22, X, Y), got {type(chromosome).__name__}"
        )
    if name not in CHROMOSOMES:
        raise ValueError(f"{argument} {chromosome!r} is not a human chromosome (expected 1-22, X or Y)")
    return name


def _merge_key(name, resolution):
    arm, region, sub = _parse_band_name(name)
    if resolution == 850 or not sub:
        return name
    return arm + region + ("." + sub[0] if resolution == 550 else "")


def _merged_stain(parts):
    darkness = sum(_GRADED.index(part.stain) / 4.0 * part.length for part in parts)
    total = sum(part.length for part in parts)
    mean = darkness / total if total > 0 else _GRADED.index(parts[0].stain) / 4.0
    levels = np.arange(len(_GRADED)) / 4.0
    return _GRADED[int(np.argmin(np.abs(levels - mean)))]  # argmin takes the first (lighter) on a tie


@functools.lru_cache(maxsize=None)
def _ideogram(chromosome, resolution):
    finest = _table()[chromosome]
    merged, group, group_key = [], [], None

    def close_group():
        if group:
            stain = group[0].stain if len(group) == 1 else _merged_stain(group)
            merged.append(Band(group_key, group[0].start, group[-1].end, stain, chromosome))

    for band in finest:
        if band.stain not in _GRADED:  # acen, gvar, stalk: kept as they are
            close_group()
            group, group_key = [], None
            merged.append(band)
            continue
        key = _merge_key(band.name, resolution)
        if key != group_key:
            close_group()
            group, group_key = [], key
        group.append(band)
    close_group()
    return Ideogram(chromosome, resolution, tuple(merged))


def ideogram(chromosome, resolution=850):
    """The ideogram of a human chromosome at ISCN resolution 400, 550 or 850 bands per haploid set.

    Args:
        chromosome: ``"9"``, ``"chr9"``, ``9``, ``"X"``, ``"Y"``.
        resolution: 400, 550 or 850 (see the module docstring for the merging rule and band counts).
    """
    name = _chromosome_name(chromosome)
    if isinstance(resolution, bool) or resolution not in RESOLUTIONS:
        raise ValueError(f"resolution must be one of {RESOLUTIONS}, got {resolution!r}")
    return _ideogram(name, int(resolution))


def ideogram_pattern(source, length, levels="binary"):
    """The banding pattern of a chromosome sampled at `length` equally spaced positions pter -> qter.

    Sample i lies at (i + 0.5) / length of the chromosome from pter.

    Args:
        source: a chromosome name or number (its 850-band ideogram), an `Ideogram`, or anything with
            ``.bands`` (Bands in pter -> qter order) and ``.length`` (bp), e.g. a karyotype chromosome.
        length: number of samples.
        levels: ``"binary"``: uint8, 0 = black band, 1 = white band (the paper's convention, see
            `Band.black`); ``"grey"``: float32 brightness in [0, 1] (`Band.grey`, 1 = gneg, 0 = gpos100).
    """
    if isinstance(source, (str, numbers.Integral)) and not isinstance(source, bool):
        source = ideogram(source)
    elif not (hasattr(source, "bands") and hasattr(source, "length")):
        raise TypeError(
            f"source must be a chromosome name, an Ideogram or an object with .bands and .length, "
            f"got {type(source).__name__}"
        )
    if isinstance(length, bool) or not isinstance(length, numbers.Integral) or length < 1:
        raise ValueError(f"length must be a positive integer number of samples, got {length!r}")
    if levels not in ("binary", "grey"):
        raise ValueError(f"levels must be 'binary' or 'grey', got {levels!r}")
    bands = tuple(source.bands)
    if not bands:
        raise ValueError("source has no bands")
    total = float(source.length)
    if not total > 0:
        raise ValueError(f"source length must be positive, got {total}")
    positions = bands[0].start + (np.arange(length) + 0.5) / length * total
    ends = np.array([band.end for band in bands])
    index = np.minimum(np.searchsorted(ends, positions, side="right"), len(bands) - 1)
    if levels == "binary":
        values = np.array([0 if band.black else 1 for band in bands], dtype=np.uint8)
    else:
        values = np.array([band.grey for band in bands], dtype=np.float32)
    return values[index]
