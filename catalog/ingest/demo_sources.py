"""What the demo catalog takes from the music21 corpus: sources, counts, tags and tempi.

The counts keep the first import near 1,100 pieces in about two minutes on two cores: ABC tune
books (fast to parse) carry most of it, scores (chorales, masses, madrigals, quartets) the rest.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoSource:
    key: str
    collection: str
    description: str
    artist: str
    tags: tuple[str, ...]
    program: int | None  # GM program for every part; None keeps the score's instruments
    default_qpm: float  # when the score has no metronome mark
    take: int  # at most this many pieces from the source


SOURCES: dict[str, DemoSource] = {
    s.key: s
    for s in [
        DemoSource(
            "oneills",
            "O'Neill's Music of Ireland (1850)",
            "Francis O'Neill's collection of Irish dance tunes and airs.",
            "Traditional",
            ("folk", "irish"),
            73,
            160.0,
            280,
        ),
        DemoSource(
            "ryans",
            "Ryan's Mammoth Collection (1883)",
            "William Bradbury Ryan's fiddle tunes: reels, jigs, hornpipes, clogs.",
            "Traditional",
            ("folk", "fiddle tune"),
            110,
            160.0,
            200,
        ),
        DemoSource(
            "essen",
            "Essen Folksong Collection",
            "German folk songs and children's songs collected by Helmut Schaffrath.",
            "Traditional",
            ("folk", "song", "german"),
            0,
            110.0,
            440,
        ),
        DemoSource(
            "bach",
            "Bach Chorales",
            "Four-part chorale harmonisations by Johann Sebastian Bach.",
            "Johann Sebastian Bach",
            ("chorale", "baroque", "sacred"),
            19,
            76.0,
            150,
        ),
        DemoSource(
            "palestrina",
            "Palestrina Masses",
            "Movements from the masses of Giovanni Pierluigi da Palestrina.",
            "Giovanni Pierluigi da Palestrina",
            ("renaissance", "sacred", "mass"),
            52,
            140.0,
            40,
        ),
        DemoSource(
            "monteverdi",
            "Monteverdi Madrigals",
            "Madrigals from Claudio Monteverdi's third, fourth and fifth books.",
            "Claudio Monteverdi",
            ("madrigal", "renaissance", "vocal"),
            52,
            140.0,
            16,
        ),
        DemoSource(
            "quartets",
            "Classical String Quartets",
            "String quartet movements by Haydn, Mozart and Beethoven.",
            "",
            ("string quartet", "classical", "chamber"),
            None,
            120.0,
            10,
        ),
    ]
}
ESSEN_FILES = ["kinder0.abc", "ballad10.abc", "altdeu10.abc", "ballad20.abc"]
EXPAND_REPEATS = {"oneills", "ryans", "essen", "bach"}  # cheap there; slow on long scores
QUARTETS = {  # corpus folder → (composer, title)
    "haydn/opus74no1": ("Joseph Haydn", "String Quartet Op. 74 No. 1"),
    "haydn/opus1no1": ("Joseph Haydn", "String Quartet Op. 1 No. 1"),
    "mozart/k80": ("Wolfgang Amadeus Mozart", "String Quartet No. 1, K. 80"),
    "mozart/k155": ("Wolfgang Amadeus Mozart", "String Quartet No. 2, K. 155"),
    "mozart/k156": ("Wolfgang Amadeus Mozart", "String Quartet No. 3, K. 156"),
    "mozart/k458": ("Wolfgang Amadeus Mozart", "String Quartet No. 17, K. 458 “The Hunt”"),
    "beethoven/opus18no1": ("Ludwig van Beethoven", "String Quartet Op. 18 No. 1"),
}
RHYTHM_TAGS = {  # words in ABC R: fields or titles → tag, typical quarter-note tempo
    "slip jig": ("slip jig", 170.0),
    "slipjig": ("slip jig", 170.0),
    "double jig": ("jig", 180.0),
    "jig": ("jig", 180.0),
    "reel": ("reel", 200.0),
    "hornpipe": ("hornpipe", 160.0),
    "strathspey": ("strathspey", 130.0),
    "clog": ("clog", 160.0),
    "fling": ("highland fling", 150.0),
    "polka": ("polka", 200.0),
    "waltz": ("waltz", 160.0),
    "march": ("march", 150.0),
    "air": ("air", 90.0),
    "set dance": ("set dance", 150.0),
    "long dance": ("set dance", 150.0),
    "lied": ("song", 110.0),
    "ballade": ("ballad", 100.0),
}
ROMAN = ["I", "II", "III", "IV", "V", "VI", "VII", "VIII"]
