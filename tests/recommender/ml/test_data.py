"""Reading interaction files, confidence, sequences and the leave-one-out split."""

import numpy as np
import pytest

from recommender.ml.data import (
    DataFormatError,
    Interactions,
    confidence_matrix,
    event_weight,
    leave_one_out,
    read_interactions,
)


def test_sasrec_reader_accepts_event_lines_and_sequence_lines(tmp_path):
    path = tmp_path / "seq.txt"
    path.write_text("1 10\n1 11\n2 12 10 13\n1 12\n")
    data = read_interactions(path, "sasrec")
    seqs = data.sequences()
    names = [[data.item_ids[i] for i in s] for s in seqs]
    assert dict(zip(data.user_ids, names, strict=True)) == {
        "1": ["10", "11", "12"],
        "2": ["12", "10", "13"],
    }


def test_csv_reader_orders_by_timestamp_and_keeps_weights(tmp_path):
    path = tmp_path / "ev.csv"
    path.write_text("user,item,timestamp,weight\nu1,b,20,2\nu1,a,10,1\nu2,a,5,-1\n")
    data = read_interactions(path, "csv")
    u1 = data.user_ids.index("u1")
    assert [data.item_ids[i] for i in data.sequences()[u1]] == ["a", "b"]
    assert data.sequences()[data.user_ids.index("u2")].size == 0  # negative evidence only


@pytest.mark.parametrize(
    ("fmt", "text", "message"),
    [
        ("sasrec", "user,item,timestamp\n1,2,3\n", "use --format csv"),
        ("sasrec", "7\n", "expected 'user item"),
        ("csv", "1 2\n", "got 1 column"),
        ("csv", "1,2,yesterday\n", "must be numbers"),
        ("csv", "", "no interactions"),
        ("parquet", "1 2\n", "unknown format"),
    ],
)
def test_wrong_format_is_a_clear_error(tmp_path, fmt, text, message):
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(DataFormatError, match=message):
        read_interactions(path, fmt)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataFormatError, match="not found"):
        read_interactions(tmp_path / "nope.txt", "sasrec")


def test_confidence_rises_with_plays_and_likes_and_negative_pairs_vanish():
    records = [
        ("u", "a", 1, event_weight("play", completion=1.0)),
        ("u", "a", 2, event_weight("play", completion=1.0)),  # a repeat play adds up
        ("u", "b", 3, event_weight("play", completion=0.5)),
        ("u", "c", 4, event_weight("play", completion=1.0)),
        ("u", "c", 5, event_weight("not_interested")),
        ("u", "d", 6, event_weight("like")),
        ("u", "e", 7, event_weight("rating", rating=1)),
    ]
    data = Interactions.from_records(records)
    row = confidence_matrix(data).toarray()[0]
    a, b, c, d, e = (row[data.item_ids.index(x)] for x in "abcde")
    assert d > a > b > 0
    assert c == 0 and e == 0


def test_time_decay_weighs_old_events_less():
    day = 86400.0
    data = Interactions.from_records([("u", "old", 0.0, 1.0), ("u", "new", 100 * day, 1.0)])
    row = confidence_matrix(data, half_life_days=30).toarray()[0]
    assert row[data.item_ids.index("new")] > row[data.item_ids.index("old")]


def test_event_weight_rejects_unknown_kinds_and_bad_ratings():
    with pytest.raises(DataFormatError, match="unknown signal"):
        event_weight("shout")
    with pytest.raises(DataFormatError, match="between 1 and 5"):
        event_weight("rating", rating=9)


def test_leave_one_out_holds_out_last_two_items():
    seqs = [np.array([0, 1, 2, 3]), np.array([4, 5])]
    split = leave_one_out(seqs, 6)
    assert split.train[0].tolist() == [0, 1]
    assert split.valid_target.tolist() == [2, -1]
    assert split.test_target.tolist() == [3, -1]
    assert split.test_history[0].tolist() == [0, 1, 2]
    assert split.train[1].tolist() == [4, 5]  # too short to test: all of it trains


def test_leave_one_out_refuses_tiny_data():
    with pytest.raises(DataFormatError, match="at least 2 distinct items"):
        leave_one_out([np.array([0, 0, 0])], 1)
    with pytest.raises(DataFormatError, match="no user has at least 3"):
        leave_one_out([np.array([0, 1]), np.array([1])], 2)
