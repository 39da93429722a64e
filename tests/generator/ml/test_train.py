import json

import pytest
import torch

from generator.ml.checkpoint import load_checkpoint, read_meta
from generator.ml.config import ModelConfig, TrainConfig
from generator.ml.data import evaluate_nll, split_by_piece
from generator.ml.tokenizer import control_ids, find_midi_files, header_ids
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


def test_a_new_model_reads_no_more_than_its_training_window(tiny_checkpoint):
    """Positions past the window would never be trained: the model has none."""
    model, config, _, _ = load_checkpoint(tiny_checkpoint)
    assert config.max_len == TrainConfig.tiny().seq_len < ModelConfig.tiny().max_len
    assert model.pos_emb.num_embeddings == config.max_len


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


def test_a_long_piece_is_scored_once_per_token_each_chunk_after_its_header(tiny_checkpoint):
    model, config, tok, _ = load_checkpoint(tiny_checkpoint)
    header = control_ids(tok)
    head = header_ids(tok, style="chorale", key=(7, "major"))
    body = [tok["Bar_None"], tok["Position_0"], tok["Pitch_60"], tok["Duration_1.0.4"]] * 40
    piece = head + body
    reads = []
    forward = model.forward
    model.forward = lambda x, *a: reads.append(x[0].tolist()) or forward(x, *a)
    nll, count = evaluate_nll(model, [piece], max_len=config.max_len, device="cpu", header=header)
    assert count == len(piece) - 1
    assert len(reads) > 2
    assert all(r[: len(head)] == head and len(r) <= config.max_len for r in reads)
    assert 0 < nll < 20
