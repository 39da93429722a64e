"""The evaluation command on a small synthetic file."""

import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command


def _write_walks(path, users=40, items=60):
    """Each user walks the catalog upward from a random start: highly predictable sequences."""
    rng = np.random.default_rng(0)
    lines = []
    for u in range(1, users + 1):
        start = int(rng.integers(1, items - 12))
        lines += [f"{u} {i}" for i in range(start, min(start + 10, items + 1))]
    path.write_text("\n".join(lines) + "\n")


def test_command_prints_table_and_writes_json(tmp_path):
    data, out = tmp_path / "walks.txt", tmp_path / "res" / "results.json"
    _write_walks(data)
    tiny = {
        "sasrec": {"hidden": 16, "layers": 1, "maxlen": 20, "epochs": 15, "lr": 0.01},
        "als": {"factors": 8},
    }
    call_command(
        "evaluate_recommenders",
        "--data",
        str(data),
        "--format",
        "sasrec",
        "--models",
        "pop,als,sasrec",
        "--out",
        str(out),
        "--device",
        "cpu",
        "--time-budget",
        "30",
        "--trials",
        "2",
        "--config",
        json.dumps(tiny),
        "--anchors",
        "ml-1m",
    )
    results = json.loads(out.read_text())
    assert set(results) == {"pop", "als", "sasrec"}
    for row in results.values():
        assert {"HR@10", "NDCG@10", "train_seconds"} <= set(row)
        assert 0.0 <= row["NDCG@10"] <= row["HR@10"] <= 1.0
    # the walks are deterministic, so the sequence model must beat popularity clearly
    assert results["sasrec"]["NDCG@10"] > results["pop"]["NDCG@10"] + 0.2
    searched = results["sasrec"]["search"]  # what was tried and chosen, on validation
    assert len([t for t in searched["trials"] if t["state"] in {"complete", "pruned"}]) == 2
    assert results["sasrec"]["valid_NDCG@10"] == searched["valid_ndcg10"]
    assert results["sasrec"]["config"]["hidden"] == 16  # given settings stay as given
    assert results["sasrec"]["config"]["dropout"] == searched["chosen"]["dropout"]
    assert isinstance(results["sasrec"]["promoted"], bool)  # against ALS on validation


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--models", "pop,magic"], "unknown model"),
        (["--format", "csv"], "expected 'user,item,timestamp"),
        (["--config", "[1]"], "JSON object"),
        (["--config", '{"sasrec": {"colour": 1}}', "--models", "sasrec"], "unknown sasrec"),
    ],
)
def test_command_rejects_bad_input_clearly(tmp_path, args, message):
    data = tmp_path / "walks.txt"
    _write_walks(data)
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_recommenders", "--data", str(data), *args)


@pytest.mark.parametrize(
    ("text", "fmt", "message"),
    [
        ("1 5\n2 5\n3 5\n", "sasrec", "at least 2 distinct items"),
        ("1 5\nu2 6\n", "sasrec", r"walks.txt:2: SASRec lines hold integer ids"),
        ("1 5\n1 6\n", "sasrec", "no user has at least 3 interactions"),
    ],
)
def test_command_names_data_it_cannot_evaluate(tmp_path, text, fmt, message):
    data = tmp_path / "walks.txt"
    data.write_text(text)
    with pytest.raises(CommandError, match=message):
        call_command("evaluate_recommenders", "--data", str(data), "--format", fmt)


def test_command_refuses_a_budget_too_small_for_one_trial(tmp_path):
    data = tmp_path / "walks.txt"
    _write_walks(data)
    with pytest.raises(CommandError, match="time budget of 1 s is too small for one trial"):
        call_command("evaluate_recommenders", "--data", str(data), "--time-budget", "1")


def test_one_listener_unsorted_rows_and_equal_timestamps_are_evaluated(tmp_path):
    """One listener's plays in a CSV, out of order, two at the same second: their time order
    (the file's order where times are equal) gives the sequence."""
    data, out = tmp_path / "one.csv", tmp_path / "results.json"
    rows = ["user,item,timestamp", "u1,c,30", "u1,a,10", "u1,b,20", "u1,d,30", "u1,e,50"]
    data.write_text("\n".join(rows) + "\n")
    call_command(
        "evaluate_recommenders",
        *("--data", str(data), "--format", "csv", "--models", "pop,als,sasrec"),
        *("--time-budget", "6", "--trials", "1", "--device", "cpu", "--out", str(out)),
    )
    results = json.loads(out.read_text())
    assert set(results) == {"pop", "als", "sasrec"}
    assert all(row["users"] == 1 for row in results.values())


def test_command_rejects_missing_file(tmp_path):
    with pytest.raises(CommandError, match="not found"):
        call_command("evaluate_recommenders", "--data", str(tmp_path / "missing.txt"))


def test_seeds_give_means_intervals_and_each_seeds_figures(tmp_path):
    data, out = tmp_path / "walks.txt", tmp_path / "results.json"
    _write_walks(data)
    call_command(
        "evaluate_recommenders",
        "--data",
        str(data),
        "--models",
        "pop,als",
        "--config",
        json.dumps({"als": {"factors": 8}}),
        "--seeds",
        "3",
        "--out",
        str(out),
    )
    results = json.loads(out.read_text())
    als = results["als"]
    per_seed = [row["NDCG@10"] for row in als["seeds"]]
    assert len(per_seed) == 3 and len(set(per_seed)) > 1  # the seeds differ
    assert als["NDCG@10"] == pytest.approx(sum(per_seed) / 3)
    lo, hi = als["NDCG@10_ci95"]
    assert lo < min(per_seed) <= max(per_seed) < hi
    assert als["config"]["factors"] == 8 and "seed" not in als["config"]
    pop = results["pop"]  # no seed to vary: the same figures, an interval of width 0
    assert pop["NDCG@10_ci95"] == [pop["NDCG@10"], pop["NDCG@10"]]


def test_seeds_below_one_are_refused(tmp_path):
    data = tmp_path / "walks.txt"
    _write_walks(data)
    with pytest.raises(CommandError, match="--seeds must be at least 1"):
        call_command("evaluate_recommenders", "--data", str(data), "--seeds", "0")
