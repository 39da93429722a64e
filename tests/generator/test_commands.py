import json

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests.generator.ml.test_pianoroll import _write_mat


def test_train_then_evaluate_generator(tmp_path, midi_dir, capsys):
    out = tmp_path / "ckpt"
    call_command(
        "train_generator",
        "--midi",
        str(midi_dir),
        "--out",
        str(out),
        "--config",
        "tiny",
        "--time-budget",
        "20",
        "--device",
        "cpu",
    )
    assert (out / "model.pt").is_file() and (out / "tokenizer.json").is_file()
    assert "validation NLL" in capsys.readouterr().out
    result_file = tmp_path / "eval.json"
    call_command(
        "evaluate_generator",
        "--checkpoint",
        str(out),
        "--midi",
        str(midi_dir),
        "--out",
        str(result_file),
    )
    printed = capsys.readouterr().out
    result = json.loads(result_file.read_text())
    assert result["perplexity"] == pytest.approx(np.exp(result["test_nll"]))
    assert f"{result['test_nll']:.4f}" in printed


def test_train_generator_refuses_a_missing_folder(tmp_path):
    with pytest.raises(CommandError, match="not found"):
        call_command(
            "train_generator",
            "--midi",
            str(tmp_path / "nope"),
            "--out",
            str(tmp_path / "o"),
            "--config",
            "tiny",
        )
    assert not (tmp_path / "o").exists()


def test_evaluate_generator_refuses_a_missing_checkpoint(tmp_path, midi_dir):
    with pytest.raises(CommandError, match="no checkpoint"):
        call_command("evaluate_generator", "--checkpoint", str(tmp_path), "--midi", str(midi_dir))


def test_evaluate_pianoroll_writes_the_frame_nll(tmp_path, capsys):
    mat = _write_mat(tmp_path / "JSB_Chorales.mat")
    out = tmp_path / "pr.json"
    call_command(
        "evaluate_pianoroll",
        "--data",
        str(mat),
        "--model",
        "lstm",
        "--time-budget",
        "3",
        "--device",
        "cpu",
        "--out",
        str(out),
    )
    result = json.loads(out.read_text())
    assert result["test_nll"] > 0
    assert "TCN 8.1" in capsys.readouterr().out
