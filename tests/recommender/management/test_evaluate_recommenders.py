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
