"""ISCN karyotype strings -> the chromosomes of that karyotype, with real bands.

    from kerasgan import chromosome as kc
    karyo = kc.karyotype("46,XX,t(9;22)(q34;q11.2)")
    [c.name for c in karyo.chromosomes if c.abnormal]   # ['der(9)t(9;22)(q34;q11.2)', 'der(22)t(9;22)(q34;q11.2)']
    ph = karyo.chromosomes[-3]                           # der(22): its segments, bands, centromere, pattern
    ph.pattern(256)                                      # binary banding pattern, 0 = black band

Supported: numerical gains and losses (``+21``, ``-15``) and sex chromosome constitutions (``45,X``,
``47,XXY``, ``48,XXYY``); ``del`` (terminal, interstitial), ``dup`` (tandem, direct), ``inv`` (para- and
pericentric), ``ins`` (between two chromosomes and within one), ``t`` (reciprocal, two- or three-way),
``i`` (``p10``/``q10``), ``r`` (ring with two breakpoints), ``der(c)`` followed by one or more of these,
``+`` before any structural token (an extra abnormal chromosome), inheritance suffixes (mat, pat, dn,
ignored) and a single trailing cell count ``[20]``. Anything else (``add``, ``mar``, ``dic``, ``idic``,
uncertain ``?``, mosaics and chimeras with several cell lines) raises `ISCNError` naming the token.

Breakpoint conventions. A break "in band B" falls at an edge of B chosen so that **the named band goes
with the segment named as moved or lost**:

- terminal ``del(5)(p15.2)`` removes p15.2 and everything distal of it (5pter -> 5p15.2); the derivative
  starts at p15.1. A break in a q band removes that band to qter.
- an interstitial segment between two named bands (``del``, ``dup``, ``inv``, ``ins``, the retained part of
  ``r``) includes both named bands entirely.
- in a translocation the named band and everything distal of it move: ``t(9;22)(q34;q11.2)`` gives
  der(22) = 22pter -> 22q11.1 :: 9q34 -> 9qter and der(9) = 9pter -> 9q33.3 :: 22q11.2 -> 22qter. A moved
  piece joins with its break end at the break; in a three-way ``t(a;b;c)`` a's piece goes to b, b's to c,
  c's to a (ISCN).
- ``p10``/``q10`` is the centromere itself: ``i(X)(q10)`` = Xqter -> Xcen -> Xqter.
- an insertion lands at the receiving band's proximal edge (the named band stays distal of the insert),
  and the first-written band of the inserted segment is placed proximal (nearer the receiving centromere):
  ``ins(5;2)(p14;q22q32)`` gives der(5) = 5pter -> 5p14 :: 2q32 -> 2q22 :: 5p13 -> 5qter (a direct
  insertion: q22 stays nearer the centromere) and der(2) with 2q22 -> 2q32 deleted.
- ``dup(1)(q21q32)`` is tandem and direct: 1pter -> 1q32 :: 1q21 -> 1qter.

Positions come from the finest (850-band) table whatever the resolution; ``resolution`` only changes the
bands listed on the output chromosomes (a coarse band cut by a breakpoint keeps its name and stain).

Which chromosome a structural abnormality replaces: an autosomal abnormality replaces one normal homolog
of each chromosome involved (``46,XX,del(5)(p15.2)`` has one normal 5; ``der(22)t(9;22)`` alone replaces a
22 and leaves both 9s normal). The sex chromosome field lists the *normal* sex chromosomes only, so an
abnormal X or Y is an extra chromosome (``46,X,i(X)(q10)``: one normal X and the isochromosome). A token
with a leading ``+`` adds the abnormal chromosome without replacing anything. The stated count must equal
the resulting number of chromosomes.

The ``iscn-authenticator`` package (MIT) parses the count, the sex chromosomes and splits the
abnormalities with their types; its breakpoints are used for simple tokens. It does not break down
``der(...)`` or ``+`` before a structural token, accepts bands that do not exist (``del(9)(q35)``) and
does not check the number of breakpoints an operator needs, so those parts are written here.
"""

import dataclasses
import functools
import re

from kerasgan.chromosome.ideogram import CHROMOSOMES, Band, _chromosome_name, _table, ideogram, ideogram_pattern


class ISCNError(ValueError):
    """An ISCN string that is invalid or unsupported; the message names the token and says why."""


@dataclasses.dataclass(frozen=True)
class Segment:
    """A piece of a source chromosome, ``start < end`` in bp from its pter, read reversed or not."""

    chromosome: str
    start: float
    end: float
    reversed: bool = False

    def __post_init__(self):
        if not self.end > self.start:
            raise ValueError(f"Segment of chromosome {self.chromosome}: end {self.end} must be after start {self.start}")

    @property
    def length(self):
        return self.end - self.start


@dataclasses.dataclass(frozen=True)
class KaryotypeChromosome:
    """One chromosome of a karyotype, normal or rearranged, pter -> qter in its own coordinates.

    Attributes:
        chromosome_class: ``"1"`` ... ``"22"``, ``"X"``, ``"Y"``: its place in a karyogram, the class of
            its centromere (der(22)t(9;22) -> ``"22"``).
        name: ``"9"``, ``"del(5)(p15.2)"``, ``"der(22)t(9;22)(q34;q11.2)"``, ``"i(X)(q10)"``.
        segments: the source pieces, pter -> qter of this chromosome.
        bands: its bands from its own pter (Band.chromosome = source chromosome), clipped at breakpoints.
        centromere: centromere position as a fraction of the length from pter (an acentric result is
            refused with ISCNError, so it is always set).
        length: bp. relative_length: length / length of normal chromosome 1.
        breakpoints: e.g. ``("9q34", "22q11.2")``; ``()`` for a normal chromosome.
        abnormal: False for a normal chromosome.
    """

    chromosome_class: str
    name: str
    segments: tuple
    bands: tuple
    centromere: float
    length: float
    relative_length: float
    breakpoints: tuple
    abnormal: bool

    def pattern(self, length, levels="binary"):
        """The banding pattern along this chromosome; see `ideogram_pattern`."""
        return ideogram_pattern(self, length, levels)


@dataclasses.dataclass(frozen=True)
class Karyotype:
    """A parsed karyotype. `chromosomes` is in karyogram order: classes 1-22, X, Y; within a class the
    normal homologs first, then the abnormal ones in the order the string names them."""

    iscn: str
    count: int
    sex: str
    chromosomes: tuple


# ----------------------------------------------------------------------------------------------------
# Segment lists: a chromosome is a list of Segments; positions below are in its own coordinates.


def _total(segments):
    return sum(segment.length for segment in segments)


def _sub(segments, a, b):
    """The part of a chromosome between its own positions a < b, as segments."""
    out, offset = [], 0.0
    for seg in segments:
        lo, hi = max(a, offset), min(b, offset + seg.length)
        if hi > lo:
            if seg.reversed:
                out.append(Segment(seg.chromosome, seg.end - (hi - offset), seg.end - (lo - offset), True))
            else:
                out.append(Segment(seg.chromosome, seg.start + (lo - offset), seg.start + (hi - offset), False))
        offset += seg.length
    return out


def _flip(segments):
    return [Segment(s.chromosome, s.start, s.end, not s.reversed) for s in reversed(segments)]


def _place(segments, chromosome, position):
    """Own positions of a source point (chromosome, bp), one per segment holding it."""
    places, offset = [], 0.0
    for seg in segments:
        if seg.chromosome == chromosome and seg.start <= position <= seg.end:
            places.append(offset + (seg.end - position if seg.reversed else position - seg.start))
        offset += seg.length
    return places


def _normal(chromosome):
    return [Segment(chromosome, 0.0, _table()[chromosome][-1].end, False)]


def _source_centromere(chromosome):
    return max(band.end for band in _table()[chromosome] if band.arm == "p")


# ----------------------------------------------------------------------------------------------------
# Tokens: op(chromosomes)(bands), der(c)op(...)(...)..., and their breakpoints.

_OPERATORS = ("del", "dup", "inv", "ins", "t", "i", "r")
_PART = re.compile(r"([a-z]+)\(([^()]*)\)(?:\(([^()]*)\))?")
_BAND = re.compile(r"[pq]\d+(?:\.\d+)?")
_INHERITANCE = re.compile(r"(mat|pat|dn|inh)$")


@dataclasses.dataclass(frozen=True)
class _Operation:
    op: str
    chromosomes: tuple  # ("9", "22")
    bands: tuple  # one tuple of band names per chromosome: (("q34",), ("q11.2",))
    text: str  # "t(9;22)(q34;q11.2)"


def _parse_operations(token, text):
    """Hand parser for ``op(c;c)(bands;bands)`` repeated (a der's tail); ISCNError on anything else."""
    operations, position = [], 0
    while position < len(text):
        match = _PART.match(text, position)
        if match is None:
            raise ISCNError(f"{token}: cannot read {text[position:]!r} (expected op(chromosomes)(bands))")
        op, chromosomes, bands = match.group(1), match.group(2), match.group(3)
        if op not in _OPERATORS:
            raise ISCNError(f"{token}: unsupported operator {op!r} (supported: {', '.join(_OPERATORS)}, der)")
        names = tuple(_chromosome_token(token, c) for c in chromosomes.split(";"))
        if bands is None:
            raise ISCNError(f"{token}: {op}({chromosomes}) needs its breakpoints in a second bracket")
        groups = bands.split(";")
        parsed = []
        for group in groups:
            found = _BAND.findall(group)
            if not found or "".join(found) != group.strip():
                raise ISCNError(f"{token}: cannot read breakpoints {group!r} (expected bands such as q34 or p15.2)")
            parsed.append(tuple(found))
        operations.append(_check_operation(token, _Operation(op, names, tuple(parsed), match.group(0))))
        position = match.end()
    if not operations:
        raise ISCNError(f"{token}: no rearrangement after the chromosome")
    return operations


def _chromosome_token(token, text):
    try:
        return _chromosome_name(text.strip())
    except ValueError:
        raise ISCNError(f"{token}: {text!r} is not a human chromosome (expected 1-22, X or Y)") from None


def _check_operation(token, operation):
    """The number of chromosomes and breakpoints each operator needs."""
    op, chromosomes, bands = operation.op, operation.chromosomes, operation.bands
    counts = [len(group) for group in bands]
    if len(bands) != len(chromosomes):
        raise ISCNError(
            f"{token}: {op} names {len(chromosomes)} chromosome(s) but {len(bands)} breakpoint group(s)"
        )
    needs = {
        "del": counts in ([1], [2]),
        "dup": counts in ([1], [2]),
        "inv": counts == [2],
        "r": counts == [2],
        "i": counts == [1] and bands[0][0] in ("p10", "q10"),
        "ins": counts in ([3], [1, 2]),
        "t": len(chromosomes) in (2, 3) and all(c == 1 for c in counts),
    }
    if not needs[op]:
        why = {
            "del": "one band (terminal) or two (interstitial)",
            "dup": "one band or two",
            "inv": "two bands",
            "r": "two bands (one per arm)",
            "i": "p10 or q10 (the centromere)",
            "ins": "ins(a;b)(band;band band) or ins(a)(band band band)",
            "t": "two or three chromosomes with one band each",
        }[op]
        raise ISCNError(f"{token}: {op} needs {why}")
    return operation


def _library_operation(token, abnormality):
    """An _Operation from iscn-authenticator's parse of a simple token (its breakpoints)."""
    names = tuple(_chromosome_token(token, c) for c in abnormality.chromosome.split(";"))
    bands = []
    for breakpoint in abnormality.breakpoints:
        if breakpoint.uncertain:
            raise ISCNError(f"{token}: uncertain breakpoints ('?') are unsupported")
        sub = f".{breakpoint.subband}" if breakpoint.subband else ""
        bands.append(f"{breakpoint.arm}{breakpoint.region}{breakpoint.band}{sub}")
    if len(names) == 1:
        grouped = (tuple(bands),)
    elif abnormality.type == "ins" and len(names) == 2 and len(bands) == 3:
        grouped = ((bands[0],), (bands[1], bands[2]))
    else:
        grouped = tuple((band,) for band in bands)
    text = _INHERITANCE.sub("", abnormality.raw.strip())
    return _check_operation(token, _Operation(abnormality.type, names, grouped, text))


# ----------------------------------------------------------------------------------------------------
# Rearrangements on segment lists.


def _span(token, segments, chromosome, band):
    """(a, b): own positions covered by a source band (p10/q10: the centromere, a == b)."""
    if band in ("p10", "q10"):
        start = end = _source_centromere(chromosome)
    else:
        try:
            start, end = ideogram(chromosome).find(band)
        except ValueError as error:
            raise ISCNError(f"{token}: {error}") from None
    places = _place(segments, chromosome, start) + _place(segments, chromosome, end)
    if not places:
        raise ISCNError(f"{token}: band {band} of chromosome {chromosome} is no longer on this derivative")
    return min(places), max(places)


def _interval(token, segments, chromosome, bands):
    spans = [_span(token, segments, chromosome, band) for band in bands]
    return min(s[0] for s in spans), max(s[1] for s in spans)


def _proximal_edge(token, segments, chromosome, band):
    """The break in `band` that leaves the band on the distal side (with what moves or is lost)."""
    a, b = _span(token, segments, chromosome, band)
    return b if band[0] == "p" else a


def _single(token, operation, segments):
    """del, dup, inv, r, i and within-chromosome ins on one chromosome's segments."""
    op, chromosome, bands = operation.op, operation.chromosomes[0], operation.bands[0]
    length = _total(segments)
    if op == "del" and len(bands) == 1:
        a, b = _span(token, segments, chromosome, bands[0])
        return _sub(segments, b, length) if bands[0][0] == "p" else _sub(segments, 0, a)
    if op == "i":
        centre = _span(token, segments, chromosome, bands[0])[0]
        if bands[0] == "q10":
            return _flip(_sub(segments, centre, length)) + _sub(segments, centre, length)
        return _sub(segments, 0, centre) + _flip(_sub(segments, 0, centre))
    if op == "ins":
        return _insert(token, segments, chromosome, bands[0], segments, chromosome, bands[1:], remove=True)
    a, b = _interval(token, segments, chromosome, bands)
    if op == "del":
        return _sub(segments, 0, a) + _sub(segments, b, length)
    if op == "dup":
        return _sub(segments, 0, b) + _sub(segments, a, length)
    if op == "inv":
        return _sub(segments, 0, a) + _flip(_sub(segments, a, b)) + _sub(segments, b, length)
    if op == "r":
        return _sub(segments, a, b)
    raise AssertionError(op)


def _insert(token, recipient, recipient_chromosome, site, donor, donor_chromosome, bands, remove):
    """`recipient` with donor's segment between `bands` inserted at the proximal edge of `site`."""
    a, b = _interval(token, donor, donor_chromosome, bands)
    piece = _sub(donor, a, b)
    first, last = (_span(token, donor, donor_chromosome, band)[0] for band in bands)
    if first > last:  # written distal band first: the segment is read the other way
        piece = _flip(piece)
    if site[0] == "p":  # the first-written band lies proximal, i.e. towards qter on a p arm
        piece = _flip(piece)
    at = _proximal_edge(token, recipient, recipient_chromosome, site)
    if not remove:
        return _sub(recipient, 0, at) + piece + _sub(recipient, at, _total(recipient))
    site_start, site_end = _span(token, recipient, recipient_chromosome, site)
    if site_start < b and site_end > a:
        raise ISCNError(f"{token}: the insertion site {site} overlaps the inserted segment")
    rest = _sub(recipient, 0, a) + _sub(recipient, b, _total(recipient))
    at = at if at <= a else at - (b - a)
    return _sub(rest, 0, at) + piece + _sub(rest, at, _total(rest))


def _derivatives(token, operation, current):
    """{chromosome: segments} for each chromosome an operation changes. `current` maps a chromosome
    to its segments so far (a der's subject); the others are normal."""
    chromosomes, bands = operation.chromosomes, operation.bands
    if len(set(chromosomes)) != len(chromosomes):
        raise ISCNError(f"{token}: {operation.op} names the same chromosome twice")
    segments = {c: current.get(c) or _normal(c) for c in chromosomes}
    if operation.op == "ins" and len(chromosomes) == 2:
        recipient, donor = chromosomes
        a, b = _interval(token, segments[donor], donor, bands[1])
        donor_left = _sub(segments[donor], 0, a) + _sub(segments[donor], b, _total(segments[donor]))
        return {
            recipient: _insert(
                token, segments[recipient], recipient, bands[0][0], segments[donor], donor, bands[1], remove=False
            ),
            donor: donor_left,
        }
    if operation.op == "t":
        retained, moved = {}, {}
        for chromosome, (band,) in zip(chromosomes, bands):
            segs = segments[chromosome]
            cut = _proximal_edge(token, segs, chromosome, band)
            if band[0] == "q":
                retained[chromosome], moved[chromosome] = _sub(segs, 0, cut), _sub(segs, cut, _total(segs))
            else:  # the moved p piece is kept break end first
                retained[chromosome] = _sub(segs, cut, _total(segs))
                moved[chromosome] = _flip(_sub(segs, 0, cut))
        out = {}
        for k, chromosome in enumerate(chromosomes):
            incoming = moved[chromosomes[k - 1]]  # a's piece goes to b, b's to c, c's to a
            if bands[k][0][0] == "q":
                out[chromosome] = retained[chromosome] + incoming
            else:
                out[chromosome] = _flip(incoming) + retained[chromosome]
        return out
    chromosome = chromosomes[0]
    return {chromosome: _single(token, operation, segments[chromosome])}


# ----------------------------------------------------------------------------------------------------
# Building the chromosomes.


def _centromere(token, segments, prefer=None):
    """(class, own position) of the single centromere, or (None, None) if acentric. Where two
    centromeres meet at one point (a whole-arm exchange at p10/q10) the class `prefer` wins."""
    inner, edge, offset = [], [], 0.0
    for seg in segments:
        centre = _source_centromere(seg.chromosome)
        if seg.start <= centre <= seg.end:
            place = offset + (seg.end - centre if seg.reversed else centre - seg.start)
            (inner if seg.start < centre < seg.end else edge).append((seg.chromosome, place))
        offset += seg.length
    found = inner or edge
    if not found:
        return None, None
    positions = sorted({round(place, 3) for _, place in found})
    if len(positions) > 1:
        raise ISCNError(f"{token}: the result has {len(positions)} centromeres (dicentric), unsupported")
    return next((item for item in found if item[0] == prefer), found[0])


def _bands(segments, resolution):
    out, offset = [], 0.0
    for seg in segments:
        pieces = []
        for band in ideogram(seg.chromosome, resolution).bands:
            lo, hi = max(band.start, seg.start), min(band.end, seg.end)
            if hi > lo:
                if seg.reversed:
                    start, end = offset + seg.end - hi, offset + seg.end - lo
                else:
                    start, end = offset + lo - seg.start, offset + hi - seg.start
                pieces.append(Band(band.name, start, end, band.stain, seg.chromosome))
        out.extend(sorted(pieces, key=lambda b: b.start))
        offset += seg.length
    return tuple(out)


def _chromosome(token, name, segments, resolution, breakpoints, abnormal, expected_class=None):
    segments = [s for s in segments if s.length > 0]
    if not segments:
        raise ISCNError(f"{token}: nothing is left of chromosome {name}")
    chromosome_class, centre = _centromere(token, segments, prefer=expected_class)
    if chromosome_class is None:
        raise ISCNError(f"{token}: {name} has no centromere (acentric), unsupported")
    if expected_class is not None and chromosome_class != expected_class:
        raise ISCNError(
            f"{token}: der({expected_class}) must keep the centromere of {expected_class}, "
            f"but its centromere comes from chromosome {chromosome_class}"
        )
    length = _total(segments)
    return KaryotypeChromosome(
        chromosome_class=chromosome_class,
        name=name,
        segments=tuple(segments),
        bands=_bands(segments, resolution),
        centromere=centre / length,
        length=length,
        relative_length=length / _table()["1"][-1].end,
        breakpoints=tuple(breakpoints),
        abnormal=abnormal,
    )


@functools.lru_cache(maxsize=None)
def _normal_chromosome(chromosome, resolution):
    """A normal chromosome (frozen, so shared between karyotypes)."""
    return _chromosome(chromosome, chromosome, _normal(chromosome), resolution, (), False)


def _breakpoints(operations):
    return [f"{c}{band}" for op in operations for c, group in zip(op.chromosomes, op.bands) for band in group]


def _structural(token, text, resolution, library_abnormality=None):
    """[(replaced chromosome or None, KaryotypeChromosome)] for one structural token (no leading +)."""
    der = re.fullmatch(r"der\(([^()]+)\)(.*)", text)
    if der:
        if ";" in der.group(1):
            raise ISCNError(f"{token}: der with two chromosomes (whole-arm or Robertsonian) is unsupported")
        subject = _chromosome_token(token, der.group(1))
        if not der.group(2):
            raise ISCNError(
                f"{token}: a derivative needs the rearrangement that made it, e.g. der(22)t(9;22)(q34;q11.2)"
            )
        operations = _parse_operations(token, der.group(2))
        current = {subject: _normal(subject)}
        for operation in operations:
            if subject not in operation.chromosomes:
                raise ISCNError(f"{token}: {operation.text} does not involve chromosome {subject}")
            current[subject] = _derivatives(token, operation, current)[subject]
        made = _chromosome(
            token, text, current[subject], resolution, _breakpoints(operations), True, expected_class=subject
        )
        return [(subject, made)]
    if library_abnormality is not None:
        operation = _library_operation(token, library_abnormality)
    else:
        operations = _parse_operations(token, text)
        if len(operations) > 1:
            raise ISCNError(f"{token}: several rearrangements on one chromosome need der(...)")
        operation = operations[0]
    derivatives = _derivatives(token, operation, {})
    breakpoints = _breakpoints([operation])
    if len(derivatives) == 1:
        ((chromosome, segments),) = derivatives.items()
        return [(chromosome, _chromosome(token, operation.text, segments, resolution, breakpoints, True))]
    return [
        (c, _chromosome(token, f"der({c}){operation.text}", segs, resolution, breakpoints, True, expected_class=c))
        for c, segs in derivatives.items()
    ]


def _class_order(chromosome):
    return CHROMOSOMES.index(chromosome.chromosome_class)


def karyotype(iscn, resolution=850):
    """Parse an ISCN karyotype string into its chromosomes with real bands.

    Args:
        iscn: e.g. ``"46,XY,del(5)(p15.2)"``, ``"47,XX,+21"``, ``"46,XX,t(9;22)(q34;q11.2)"``.
        resolution: 400, 550 or 850: the band level of the output chromosomes (positions always
            come from the finest table).

    Raises:
        ISCNError: the string is invalid or unsupported; the message names the token and says why.
    """
    from iscn_authenticator import KaryotypeParser, ParseError

    if not isinstance(iscn, str):
        raise TypeError(f"iscn must be a string, got {type(iscn).__name__}")
    ideogram(1, resolution)  # validates resolution
    text = iscn.strip()
    if not text:
        raise ISCNError("'': empty karyotype string")
    if "/" in text or text.lower().startswith(("mos", "chi")):
        raise ISCNError(f"{text}: mosaic and chimeric karyotypes (several cell lines, 'mos'/'chi'/'/') are unsupported")
    text = re.sub(r"\[\d+\]$", "", text)  # a single cell line's cell count
    if "?" in text:
        raise ISCNError(f"{text}: uncertain notation ('?') is unsupported")
    try:
        ast = KaryotypeParser().parse(text)
    except ParseError as error:
        raise ISCNError(f"{text}: {error}") from None
    sex = ast.sex_chromosomes
    if not sex or set(sex) - {"X", "Y"}:
        raise ISCNError(f"{text}: sex chromosomes {sex!r} unsupported (only X and Y)")

    # Normal homologs per class, then abnormal chromosomes in the order named.
    normal = {c: (2 if c not in ("X", "Y") else sex.count(c)) for c in CHROMOSOMES}
    abnormal, accounting = [], [f"{44 + len(sex)} for 44 autosomes and {sex}"]
    for abnormality in ast.abnormalities:
        raw = abnormality.raw.strip()
        token = _INHERITANCE.sub("", raw)
        if abnormality.uncertain or "?" in raw:
            raise ISCNError(f"{raw}: uncertain notation ('?') is unsupported")
        if re.fullmatch(r"[+-](\d+|[A-Z]+)", token):  # +21, -15, +X (lowercase: +mar, an operator)
            chromosome = _chromosome_token(raw, token[1:])
            if token[0] == "+":
                normal[chromosome] += 1
                accounting.append(f"{token} adds one")
            else:
                if normal[chromosome] == 0:
                    raise ISCNError(f"{raw}: no normal chromosome {chromosome} left to lose")
                normal[chromosome] -= 1
                accounting.append(f"{token} removes one")
            continue
        gained = token.startswith("+")
        body = token[1:] if gained else token
        if not body or body.startswith(("+", "-")):
            raise ISCNError(f"{raw}: {token!r} names no chromosome or rearrangement")
        operator = re.match(r"[a-z]*", body).group(0)
        if operator != "der" and operator not in _OPERATORS:
            shown = operator or body
            raise ISCNError(f"{raw}: unsupported operator {shown!r} (supported: +, -, {', '.join(_OPERATORS)}, der)")
        library = abnormality if (not gained and abnormality.type in _OPERATORS) else None
        made = _structural(raw, body, resolution, library)
        for replaced, chromosome in made:
            if gained:
                continue
            if replaced in ("X", "Y"):
                accounting.append(f"{chromosome.name} adds one (abnormal sex chromosomes are not in the sex field)")
                continue
            if normal[replaced] == 0:
                raise ISCNError(f"{raw}: no normal chromosome {replaced} left to carry the rearrangement")
            normal[replaced] -= 1
        if gained:
            accounting.append(f"{token} adds {len(made)}")
        abnormal.extend(chromosome for _, chromosome in made)

    expected = sum(normal.values()) + len(abnormal)
    if expected != ast.chromosome_count:
        raise ISCNError(
            f"{text}: count {ast.chromosome_count} disagrees with the chromosomes listed, which make "
            f"{expected} ({'; '.join(accounting)})"
        )
    normals = [_normal_chromosome(c, resolution) for c in CHROMOSOMES for _ in range(normal[c])]
    # Stable sort: normals (listed first) before abnormal ones within a class, the string's order kept.
    ordered = sorted(normals + abnormal, key=_class_order)
    return Karyotype(iscn=iscn.strip(), count=ast.chromosome_count, sex=sex, chromosomes=tuple(ordered))
