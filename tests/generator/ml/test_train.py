import json

import pytest
import torch

from generator.ml.checkpoint import load_checkpoint, read_meta
from generator.ml.config import ModelConfig, TrainConfig
from generator.ml.data import split_by_piece
from generator.ml.tokenizer import find_midi_files
from generator.ml.train import train_on_files


def test_checkpoint_describes_itself(tiny_checkpoint):
    assert (tiny_checkpoint / "tokenizer.json").is_file()
    meta = read_meta(tiny_checkpoint)
    assert meta["config"]["arch"] == "transformer"
    assert meta["step"] > 0
    assert meta["val_loss"] == pytest.approx(meta["metrics"]["val_nll"])
    assert meta["metrics"]["pieces"] == {"val": 1, "test": 1, "train": 10}
    model, config, tokenizer, _ = load_checkpoint(tiny_checkpoint)
    assert config.vocab_size == len(tokenizer)
    assert not model.training


def test_training_beats_the_uniform_baseline(tiny_checkpoint):
    meta = read_meta(tiny_checkpoint)
    vocab = meta["config"]["vocab_size"]
    assert meta["metrics"]["test_nll"] < 0.6 * torch.log(torch.tensor(float(vocab))).item()


def test_split_is_by_piece_and_disjoint():
    split = split_by_piece(list(range(20)), val_fraction=0.1, test_fraction=0.1, seed=3)
    assert sorted(split["train"] + split["val"] + split["test"]) == list(range(20))
    assert len(split["val"]) == 2 and len(split["test"]) == 2


def test_too_few_pieces_is_a_clear_error(tmp_path, midi_dir):
    files = find_midi_files([midi_dir])[:2]
    with pytest.raises(ValueError, match="at least 3 pieces"):
        train_on_files(
            paths=files,
            out_dir=tmp_path / "x",
            model_config=ModelConfig.tiny(),
            train_config=TrainConfig.tiny(),
            progress=False,
        )
    assert not (tmp_path / "x").exists()


def test_lstm_trains_too(tmp_path, midi_dir):
    result = train_on_files(
        paths=find_midi_files([midi_dir]),
        out_dir=tmp_path / "lstm",
        model_config=ModelConfig.tiny("lstm"),
        train_config=TrainConfig.tiny(),
        progress=False,
    )
    assert json.dumps(result.metrics)  # serialisable
    assert read_meta(tmp_path / "lstm")["config"]["arch"] == "lstm"
