"""The styles the generator knows, and the ensemble that plays each one.

A style is a control token at the head of every training piece (``Style_<key>``), so the model
knows what it is writing. The ensemble is not learned: each style has one, named here (a chorale
is sung by four voices, a reel played on a fiddle, a quartet by strings), and the sampler's
merged note stream is shared out among its parts by pitch (``ensemble.split_voices``).
"""

from __future__ import annotations

from dataclasses import dataclass

CHOIR, VOICE, FLUTE, FIDDLE, VIOLIN, VIOLA, CELLO, RECORDER = 52, 53, 73, 110, 40, 41, 42, 74


@dataclass(frozen=True)
class Style:
    key: str  # the control token's value
    label: str  # in words, for the song's page: "Bach chorales"
    ensemble: str  # in words: "four voices"
    parts: tuple[tuple[str, int], ...]  # (part name, GM program), highest part first

    @property
    def heading(self) -> str:
        """The label capitalised, for a menu: "Fiddle tunes"."""
        return self.label[:1].upper() + self.label[1:]

    @property
    def one(self) -> str:
        """The label for one piece: "Bach chorale", "Renaissance mass"."""
        return self.label[:-2] if self.label.endswith("sses") else self.label[:-1]


STYLES: dict[str, Style] = {
    s.key: s
    for s in [
        Style("irish", "Irish dance tunes", "flute", (("Flute", FLUTE),)),
        Style("fiddle", "fiddle tunes", "fiddle", (("Fiddle", FIDDLE),)),
        Style("scottish", "Scottish airs", "fiddle", (("Fiddle", FIDDLE),)),
        Style("folksong", "German folk songs", "a singer", (("Voice", VOICE),)),
        Style(
            "chorale",
            "Bach chorales",
            "four voices",
            (("Soprano", CHOIR), ("Alto", CHOIR), ("Tenor", CHOIR), ("Bass", CHOIR)),
        ),
        Style(
            "renaissance",
            "Renaissance masses",
            "four voices",
            (("Cantus", CHOIR), ("Altus", CHOIR), ("Tenor", CHOIR), ("Bassus", CHOIR)),
        ),
        Style(
            "madrigal",
            "madrigals",
            "five voices",
            tuple((name, VOICE) for name in ("Canto", "Quinto", "Alto", "Tenore", "Basso")),
        ),
        Style(
            "trecento",
            "Trecento songs",
            "three voices",
            (("Cantus", VOICE), ("Tenor", RECORDER), ("Contratenor", VIOLA)),
        ),
        Style(
            "quartet",
            "string quartets",
            "a string quartet",
            (("Violin I", VIOLIN), ("Violin II", VIOLIN), ("Viola", VIOLA), ("Cello", CELLO)),
        ),
    ]
}
DEFAULT_STYLE = "folksong"

# The demo catalog's collections (catalog.ingest.demo_sources) and the style each one is.
COLLECTION_STYLES = {
    "O'Neill's Music of Ireland (1850)": "irish",
    "Ryan's Mammoth Collection (1883)": "fiddle",
    "Essen Folksong Collection": "folksong",
    "Bach Chorales": "chorale",
    "Palestrina Masses": "renaissance",
    "Monteverdi Madrigals": "madrigal",
    "Classical String Quartets": "quartet",
}


def style_token(style: str) -> str:
    return f"Style_{style}"


# The styles a single line (a tune) is written in: the candidates when nothing names one.
ONE_LINE_STYLES = tuple(key for key, style in STYLES.items() if len(style.parts) == 1)


def style_for(collection: str | None, *, programs: set[int] | None = None, parts: int = 1) -> str:
    """The style of a piece: its collection's, else a guess from its instruments and parts."""
    if collection in COLLECTION_STYLES:
        return COLLECTION_STYLES[collection]
    return instrument_style(programs or set(), parts) or DEFAULT_STYLE


def instrument_style(programs: set[int], parts: int) -> str | None:
    """The style a piece's instruments and parts name (strings, voices, three or more parts,
    a fiddle, a flute), else None (one or two lines on a piano, say)."""
    if parts >= 3 and programs and programs <= set(range(40, 48)):
        return "quartet"
    if parts >= 3:  # voices (52-54) or any other instruments: a chorale's four parts
        return "chorale"
    if programs & set(range(40, 48)) or FIDDLE in programs:
        return "fiddle"
    if programs & set(range(72, 80)):
        return "irish"
    return None
