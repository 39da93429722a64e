"""Interaction data: external files and event logs → confidence matrices and sequences.

Implicit-feedback confidence follows Hu, Koren & Volinsky (2008), "Collaborative Filtering for
Implicit Feedback Datasets": a preference matrix whose entries grow with the evidence (plays,
completion, likes, good ratings) and shrink with negative evidence (skips, low ratings,
"not interested"), scaled as ``1 + alpha * log(1 + x / eps)``. Sequences and the leave-one-out
split follow Kang & McAuley (2018), "Self-Attentive Sequential Recommendation" (SASRec): per user,
the last item is the test target and the second-to-last the validation target.

Items and users are mapped to contiguous indices ``0..n-1``; the original ids are kept in
``Interactions.user_ids`` / ``item_ids`` so artifacts can map back.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

__all__ = [
    "DataFormatError",
    "Interactions",
    "LeaveOneOut",
    "confidence_matrix",
    "event_weight",
    "leave_one_out",
    "read_csv",
    "read_interactions",
    "read_sasrec",
]

SIGNAL_WEIGHTS: dict[str, float] = {
    "play": 1.0,  # multiplied by the completion fraction (0..1) when known
    "complete": 1.0,  # a play heard to the end, on top of its play weight
    "like": 4.0,
    "skip": -1.0,
    "not_interested": -8.0,
}


class DataFormatError(ValueError):
    """A data file (or event list) is not in the expected format; the message says where."""


@dataclass
class Interactions:
    """Time-ordered events as parallel arrays of contiguous user/item indices."""

    users: np.ndarray  # int64 user index per event
    items: np.ndarray  # int64 item index per event
    weights: np.ndarray  # float32 signed evidence per event
    timestamps: np.ndarray  # float64 seconds (or the line order when the file has no time)
    user_ids: list[str] = field(default_factory=list)  # index → original id
    item_ids: list[str] = field(default_factory=list)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return int(self.users.shape[0])

    @classmethod
    def from_records(cls, records: Iterable[tuple[object, object, float, float]]) -> Interactions:
        """Build from ``(user_id, item_id, timestamp, weight)`` tuples in any order."""
        user_index: dict[str, int] = {}
        item_index: dict[str, int] = {}
        users, items, times, weights = [], [], [], []
        for user, item, ts, weight in records:
            users.append(user_index.setdefault(str(user), len(user_index)))
            items.append(item_index.setdefault(str(item), len(item_index)))
            times.append(float(ts))
            weights.append(float(weight))
        users_a = np.asarray(users, dtype=np.int64)
        times_a = np.asarray(times, dtype=np.float64)
        order = np.lexsort((times_a, users_a)) if len(users) else np.zeros(0, dtype=np.int64)
        return cls(
            users=users_a[order],
            items=np.asarray(items, dtype=np.int64)[order],
            weights=np.asarray(weights, dtype=np.float32)[order],
            timestamps=times_a[order],
            user_ids=list(user_index),
            item_ids=list(item_index),
        )

    def sequences(self, *, positive_only: bool = True) -> list[np.ndarray]:
        """Per user, the item indices in time order (events with weight ≤ 0 left out)."""
        keep = self.weights > 0 if positive_only else np.ones(len(self), dtype=bool)
        users, items = self.users[keep], self.items[keep]
        order = np.argsort(users, kind="stable")  # events are already time-ordered per user
        users, items = users[order], items[order]
        bounds = np.searchsorted(users, np.arange(self.n_users + 1))
        return [items[bounds[u] : bounds[u + 1]] for u in range(self.n_users)]


def event_weight(
    kind: str, *, completion: float | None = None, rating: float | None = None
) -> float:
    """Signed evidence of one listening signal.

    ``kind`` is one of play / complete / like / skip / not_interested / rating. A play counts by
    how much of the piece was heard; a rating of 1-5 maps to -2..+2 around the neutral 3 (doubled:
    a rating is a deliberate act). Unknown kinds raise :class:`DataFormatError`.
    """
    if kind == "rating":
        if rating is None or not 1 <= rating <= 5:
            raise DataFormatError(f"a rating event needs a rating between 1 and 5, got {rating!r}")
        return 2.0 * (float(rating) - 3.0)
    if kind not in SIGNAL_WEIGHTS:
        raise DataFormatError(
            f"unknown signal kind {kind!r}; expected one of {sorted(SIGNAL_WEIGHTS)}"
        )
    weight = SIGNAL_WEIGHTS[kind]
    if kind == "play" and completion is not None:
        weight *= max(0.0, min(1.0, float(completion)))
    return weight


def confidence_matrix(
    data: Interactions,
    *,
    alpha: float = 1.0,
    eps: float = 1.0,
    half_life_days: float | None = None,
    now: float | None = None,
) -> sp.csr_matrix:
    """Userxitem confidence: summed evidence, optionally decayed, log-scaled, negatives dropped.

    Pairs whose net evidence is ≤ 0 (skipped more than played, disliked) get no entry, so the
    model treats them like unobserved items; callers filter disliked items separately.
    """
    weights = data.weights.astype(np.float64)
    if half_life_days is not None and len(data):
        reference = float(data.timestamps.max()) if now is None else now
        age_days = np.maximum(reference - data.timestamps, 0.0) / 86400.0
        weights = weights * np.power(0.5, age_days / half_life_days)
    matrix = sp.coo_matrix(
        (weights, (data.users, data.items)), shape=(data.n_users, data.n_items)
    ).tocsr()  # duplicates are summed: repeat plays add up
    matrix.sum_duplicates()
    matrix.data = np.where(
        matrix.data > 0, 1.0 + alpha * np.log1p(np.clip(matrix.data, 0, None) / eps), 0.0
    )
    matrix.eliminate_zeros()
    return matrix.astype(np.float32)


def read_sasrec(path: str | Path) -> Interactions:
    """Read SASRec's whitespace-separated ``user item [item ...]`` lines (time order).

    A two-column line is one event (``ml-1m.txt``); a longer line is one user's whole sequence
    (S3-Rec's ``LastFM.txt``). Either way, items are appended to that user in file order.
    """
    records = []
    order = 0
    with open(path, encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            parts = line.split()
            if not parts:
                continue
            if any(not p.lstrip("-").isdigit() for p in parts):
                raise DataFormatError(
                    f"{path}:{line_no}: SASRec lines hold integer ids separated by spaces, got "
                    f"{line.strip()[:80]!r} (is this a CSV file? use --format csv)"
                )
            if len(parts) < 2:
                raise DataFormatError(
                    f"{path}:{line_no}: expected 'user item [item ...]', got {line.strip()!r}"
                )
            user = parts[0]
            for item in parts[1:]:
                records.append((user, item, float(order), 1.0))
                order += 1
    if not records:
        raise DataFormatError(f"{path}: no interactions found")
    return Interactions.from_records(records)


def read_csv(path: str | Path) -> Interactions:
    """Read CSV ``user,item,timestamp[,weight]`` (an optional header line is skipped)."""
    records = []
    with open(path, encoding="utf-8", newline="") as handle:
        for line_no, row in enumerate(csv.reader(handle), start=1):
            if not row or not any(cell.strip() for cell in row):
                continue
            if line_no == 1 and row[0].strip().lower() in {"user", "user_id", "userid"}:
                continue
            if len(row) not in (3, 4):
                raise DataFormatError(
                    f"{path}:{line_no}: expected 'user,item,timestamp[,weight]', "
                    f"got {len(row)} column(s): {','.join(row)[:80]!r}"
                )
            try:
                ts = float(row[2])
                weight = float(row[3]) if len(row) == 4 else 1.0
            except ValueError as exc:
                raise DataFormatError(
                    f"{path}:{line_no}: timestamp and weight must be numbers ({exc})"
                ) from None
            if not math.isfinite(ts) or not math.isfinite(weight):
                raise DataFormatError(f"{path}:{line_no}: timestamp and weight must be finite")
            records.append((row[0].strip(), row[1].strip(), ts, weight))
    if not records:
        raise DataFormatError(f"{path}: no interactions found")
    return Interactions.from_records(records)


def read_interactions(path: str | Path, fmt: str) -> Interactions:
    """Read ``path`` in ``fmt`` ('sasrec' or 'csv'), with a clear error for anything else."""
    if not Path(path).is_file():
        raise DataFormatError(f"data file not found: {path}")
    readers = {"sasrec": read_sasrec, "csv": read_csv}
    if fmt not in readers:
        raise DataFormatError(f"unknown format {fmt!r}; expected one of {sorted(readers)}")
    return readers[fmt](path)


@dataclass
class LeaveOneOut:
    """Per-user splits: ``train`` sequences, ``valid``/``test`` targets (-1 = none)."""

    train: list[np.ndarray]  # items before the validation target
    valid_target: np.ndarray  # int64, second-to-last item
    test_history: list[np.ndarray]  # train + validation item (what the model sees at test time)
    test_target: np.ndarray  # int64, last item
    n_items: int

    def train_matrix(self, *, test: bool = False) -> sp.csr_matrix:
        """Binary userxitem matrix of the history the model may learn from."""
        seqs = self.test_history if test else self.train
        rows = np.repeat(np.arange(len(seqs)), [len(s) for s in seqs])
        cols = np.concatenate(seqs) if seqs else np.zeros(0, dtype=np.int64)
        matrix = sp.csr_matrix(
            (np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(len(seqs), self.n_items)
        )
        matrix.data[:] = 1.0  # repeated items count once
        return matrix


def leave_one_out(sequences: list[np.ndarray], n_items: int, *, min_length: int = 3) -> LeaveOneOut:
    """Split each user's sequence: last item test, second-to-last validation, rest training.

    Users with fewer than ``min_length`` items keep their whole sequence for training and get no
    targets (-1); a data set where no user qualifies raises :class:`DataFormatError`.
    """
    if n_items < 2:
        raise DataFormatError(f"need at least 2 distinct items to rank, found {n_items}")
    train, test_history = [], []
    valid = np.full(len(sequences), -1, dtype=np.int64)
    test = np.full(len(sequences), -1, dtype=np.int64)
    for u, seq in enumerate(sequences):
        if len(seq) >= min_length:
            train.append(seq[:-2])
            test_history.append(seq[:-1])
            valid[u], test[u] = seq[-2], seq[-1]
        else:
            train.append(seq)
            test_history.append(seq)
    if (test < 0).all():
        raise DataFormatError(
            f"no user has at least {min_length} interactions; cannot hold out validation and test"
        )
    return LeaveOneOut(train, valid, test_history, test, n_items)
