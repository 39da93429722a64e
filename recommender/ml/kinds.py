"""The recommender model kinds and the family of each: the one list (imports nothing).

Popularity (the floor), ALS (Hu et al. 2008) and BPR (Rendle et al. 2009) learn long-term taste
from the listener x item confidence matrix: the ``mf`` family. SASRec (Kang & McAuley 2018)
learns what comes next from time-ordered histories, with each listener's second-to-last item to
stop on: the ``sequence`` family. (GRU4Rec was retired: on a listening log the project had never
seen it scored popularity's NDCG@10 with 0.9 % catalog coverage.) A kind's family says which
data it is fitted on and which feedback counter of the listening hub its training claims.
``recommender.ml.registry`` maps each kind to its class; this module stays free of torch so the
web process can read the list without loading any model code.
"""

from __future__ import annotations

__all__ = [
    "FAMILIES",
    "KINDS",
    "MF",
    "MF_KINDS",
    "POPULARITY",
    "SEQUENCE",
    "SEQUENCE_KINDS",
    "family",
]

MF = "mf"
SEQUENCE = "sequence"
FAMILIES = (MF, SEQUENCE)

POPULARITY = "pop"
MF_KINDS = ("als", "bpr")  # matrix factorisation: new feedback updates a listener's factors
SEQUENCE_KINDS = ("sasrec",)
KINDS = (POPULARITY, *MF_KINDS, *SEQUENCE_KINDS)  # every kind, in the order tables list them


def family(kind: str) -> str:
    """``sequence`` for the sequence models; ``mf`` for the others (popularity included)."""
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {', '.join(KINDS)}")
    return SEQUENCE if kind in SEQUENCE_KINDS else MF
