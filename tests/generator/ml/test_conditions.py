"""Style and key control tokens, augmentation, header-keeping windows, resumable training, the
ensemble split and ``compose``: what a listener hears is the style's instruments, in its key."""

import random
from pathlib import Path

import pretty_midi
import pytest
import symusic
import torch

from generator.ml.checkpoint import load_checkpoint
from generator.ml.compose import TIME_SIGNATURES, SongSpec, compose, parse_key, spec_from_file
from generator.ml.config import ModelConfig, TrainConfig
from generator.ml.data import Augmenter, WindowSampler, split_by_identity, tokenize_pieces
from generator.ml.ensemble import split_voices
from generator.ml.tokenizer import (
    build_tokenizer,
    control_tokens,
    decode_ids,
    encode_piece,
    find_midi_files,
    read_score,
    score_key,
)
from generator.ml.train import STATE_FILE, Piece, continue_from, fit, train_on_pieces

SHIPPED = Path(__file__).resolve().parents[3] / "generator" / "checkpoints" / "demo"


@pytest.fixture(scope="module")
def tok():
    return build_tokenizer()


def _names(tok, ids):
    return [tok[i] for i in ids]


def test_a_piece_opens_with_its_style_and_key(tok, midi_dir):
    score = read_score(find_midi_files([midi_dir])[0])
    ids = encode_piece(tok, score, style="chorale")
    assert _names(tok, ids[:3]) == ["BOS_None", "Style_chorale", "Key_Cmajor"]
    assert _names(tok, ids[-1:]) == ["EOS_None"]
    back = decode_ids(tok, ids)  # control tokens are not notes
    assert back.note_num() == score.note_num()


def test_key_comes_from_the_signature_else_from_the_notes():
    score = symusic.Score(480)
    score.key_signatures.append(symusic.KeySignature(0, key=-2, tonality=1))  # G minor
    assert score_key(score) == (7, "minor")
    plain = symusic.Score(480)
    track = symusic.Track(program=0)
    for i, p in enumerate([62, 66, 69, 62, 66, 69, 74, 62]):  # D major arpeggios
        track.notes.append(symusic.Note(i * 480, 480, p, 80))
    plain.tracks.append(track)
    assert score_key(plain) == (2, "major")
    assert score_key(symusic.Score(480)) is None


def test_transposition_moves_pitches_and_key_together(tok, midi_dir):
    ids = encode_piece(tok, read_score(find_midi_files([midi_dir])[0]), style="irish")
    aug = Augmenter(tok)
    rng = random.Random(3)
    shifted = aug(torch.tensor(ids), rng).tolist()
    names, moved = _names(tok, ids), _names(tok, shifted)
    pitches = [int(n[6:]) for n in names if n.startswith("Pitch_")]
    new = [int(n[6:]) for n in moved if n.startswith("Pitch_")]
    k = new[0] - pitches[0]
    assert all(b - a == k for a, b in zip(pitches, new, strict=True))
    tonic = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"][k % 12]
    assert moved[2] == f"Key_{tonic}major"


def test_every_training_window_says_what_it_is(tok, midi_dir):
    pieces = [(p, "fiddle") for p in find_midi_files([midi_dir])]
    seqs = tokenize_pieces(tok, pieces)
    header = {tok.vocab[t] for t in control_tokens()}
    sampler = WindowSampler(seqs, 64, seed=0, header=header)
    for _ in range(20):
        row = sampler.window()
        assert _names(tok, row[:3].tolist())[:2] == ["BOS_None", "Style_fiddle"]


def test_split_by_identity_does_not_depend_on_the_rest_of_the_corpus():
    names = [f"music21:tune#{i}" for i in range(400)]
    full = split_by_identity(names, val_fraction=0.1, test_fraction=0.1)
    part = split_by_identity(names[:150], val_fraction=0.1, test_fraction=0.1)
    for split in ("train", "val", "test"):
        assert {names[i] for i in part[split]} <= {names[i] for i in full[split]}
    assert 20 < len(full["val"]) < 60


def test_training_resumes_where_it_stopped(tok, midi_dir, tmp_path):
    seqs = tokenize_pieces(tok, [(p, "fiddle") for p in find_midi_files([midi_dir])])
    config = TrainConfig.tiny()
    config.eval_every, config.patience = 5, 100
    config.max_epochs = 1  # stops by its step count, not the clock: the same on a busy machine
    kwargs = dict(tokenizer=tok, train_seqs=seqs[2:], val_seqs=seqs[:2], out_dir=tmp_path)
    fit(model_config=ModelConfig.tiny(), train_config=config, progress=False, **kwargs)
    first = torch.load(tmp_path / STATE_FILE, weights_only=False)["step"]
    config.max_epochs = 2
    fit(model_config=ModelConfig.tiny(), train_config=config, progress=False, resume=True, **kwargs)
    second = torch.load(tmp_path / STATE_FILE, weights_only=False)["step"]
    assert second == 2 * first >= 2


def test_a_finished_checkpoint_trains_on_from_its_weights_and_step(tok, midi_dir, tmp_path):
    seqs = tokenize_pieces(tok, [(p, "fiddle") for p in find_midi_files([midi_dir])])
    config = TrainConfig.tiny()
    config.eval_every, config.patience, config.max_epochs = 5, 100, 1
    kwargs = dict(tokenizer=tok, train_seqs=seqs[2:], val_seqs=seqs[:2], progress=False)
    fit(model_config=ModelConfig.tiny(), train_config=config, out_dir=tmp_path / "a", **kwargs)
    done = torch.load(tmp_path / "a" / "model.pt", weights_only=True)
    shape = dict(model_config=ModelConfig.tiny(), train_config=config)
    with pytest.raises(ValueError, match="not the"):  # another size: said, nothing written
        continue_from(
            tmp_path / "a", tmp_path / "b", model_config=ModelConfig(), train_config=config
        )
    assert not (tmp_path / "b" / STATE_FILE).exists()
    step = continue_from(tmp_path / "a", tmp_path / "b", **shape)
    assert step == done["step"] > 0
    state = torch.load(tmp_path / "b" / STATE_FILE, weights_only=False)
    assert state["step"] == step
    assert torch.equal(state["model"]["head.weight"], done["model"]["head.weight"])
    with pytest.raises(ValueError, match="exists"):
        continue_from(tmp_path / "a", tmp_path / "b", **shape)  # never over a run in progress
    config.max_epochs = 3
    fit(
        model_config=ModelConfig.tiny(),
        train_config=config,
        out_dir=tmp_path / "b",
        resume=True,
        **kwargs,
    )
    assert torch.load(tmp_path / "b" / STATE_FILE, weights_only=False)["step"] > step


def test_a_chorale_is_dealt_to_four_voices_and_a_reel_to_one_fiddle():
    merged = symusic.Score(480)
    track = symusic.Track(program=0)
    for beat, chord in enumerate([(72, 67, 64, 48), (74, 67, 65, 47), (72, 64, 55, 48)]):
        for p in chord:
            track.notes.append(symusic.Note(beat * 480, 480, p, 80))
    merged.tracks.append(track)
    satb = split_voices(merged, "chorale")
    assert [t.name for t in satb.tracks] == ["Soprano", "Alto", "Tenor", "Bass"]
    assert {t.program for t in satb.tracks} == {52}
    assert [n.pitch for n in satb.tracks[0].notes] == [72, 74, 72]
    assert [n.pitch for n in satb.tracks[3].notes] == [48, 47, 48]
    reel = split_voices(merged, "fiddle")
    assert len(reel.tracks) == 1 and reel.tracks[0].program == 110
    assert reel.note_num() == merged.note_num()


def _sounding_at(score, tick):
    return sorted(n.pitch for t in score.tracks for n in t.notes if n.time <= tick < n.end)


def test_a_held_bass_keeps_its_voice_and_every_voice_sings_one_legato_line():
    merged = symusic.Score(480)
    track = symusic.Track(program=0)
    notes = [(0, 960, 48), (0, 480, 64), (0, 480, 67), (0, 400, 72)]  # bass holds two beats
    notes += [(480, 480, 65), (480, 480, 69), (480, 480, 74)]  # three voices move over it
    notes += [(960, 480, 47), (960, 480, 62), (960, 480, 67), (960, 480, 74)]
    for time, duration, pitch in notes:
        track.notes.append(symusic.Note(time, duration, pitch, 80))
    merged.tracks.append(track)
    satb = split_voices(merged, "chorale")
    assert [n.pitch for n in satb.tracks[3].notes] == [48, 47]  # the moving notes sing above it
    assert [n.pitch for n in satb.tracks[0].notes] == [72, 74, 74]
    assert satb.tracks[0].notes[0].end == 480  # a short gap before the next note is sung through
    assert _sounding_at(satb, 480) == [48, 65, 69, 74]  # four voices, as the piece has
    for voice in satb.tracks:  # each voice sings one note at a time
        assert all(a.end <= b.time for a, b in zip(voice.notes, voice.notes[1:], strict=False))


def test_a_voice_sings_through_a_beat_of_rest_but_rests_for_two():
    merged = symusic.Score(480)
    track = symusic.Track(program=0)
    full, thin = [48, 55, 64, 72], [48, 55, 72]  # a thin chord leaves the alto out
    for beat, pitches in enumerate([full, thin, full, thin, thin, full]):
        for pitch in pitches:
            track.notes.append(symusic.Note(beat * 480, 480, pitch, 80))
    merged.tracks.append(track)
    satb = split_voices(merged, "chorale")
    alto = [(n.time, n.end) for n in satb.tracks[1].notes]
    assert alto == [(0, 960), (960, 1440), (2400, 2880)]  # a beat's rest is sung through...
    assert _sounding_at(satb, 480) == [48, 55, 64, 72]
    assert _sounding_at(satb, 1920) == [48, 55, 72]  # ...a rest of two beats is kept


def test_a_song_says_the_metre_its_midi_has(tok, tmp_path):
    assert {f"TimeSig_{ts}" for ts in TIME_SIGNATURES} <= set(tok.vocab)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(9, 8, 0))
    inst = pretty_midi.Instrument(program=110)
    inst.notes += [pretty_midi.Note(80, 62 + i % 5, i * 0.25, i * 0.25 + 0.25) for i in range(36)]
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "slip.mid"))
    spec = spec_from_file(tok, tmp_path / "slip.mid", seconds=4, seed=0, temperature=1.0)
    assert spec.time_signature == "4/4"  # the tokenizer has no 9/8: the stated fallback
    model, _, shipped_tok, _ = load_checkpoint(SHIPPED)
    song = compose(model, shipped_tok, spec).score
    assert [(t.numerator, t.denominator) for t in song.time_signatures] == [(4, 4)]


def _corpus_tune(pattern: str, tmp_path: Path, program: int = 0) -> Path:
    """The first tune of a music21 ABC book as a one-line MIDI file on ``program``."""
    from music21 import converter

    from catalog.ingest.score_midi import score_to_midi
    from generator.corpus import corpus_root, split_abc

    book = sorted(corpus_root().glob(pattern))[0]
    tune = split_abc(book.read_text(errors="replace"))[0]
    path = tmp_path / f"{book.stem}-{program}.mid"
    score = converter.parseData(tune, format="abc")
    path.write_bytes(score_to_midi(score, program=program, default_qpm=120))
    return path


def test_a_piano_tune_is_written_in_the_style_the_model_hears_in_it(tmp_path):
    model, _, shipped_tok, _ = load_checkpoint(SHIPPED)
    reel, song = _corpus_tune("oneills1850/*.abc", tmp_path), _corpus_tune("essen*/*.abc", tmp_path)
    for path, heard in ((reel, {"irish", "fiddle", "scottish"}), (song, {"folksong"})):
        spec = spec_from_file(shipped_tok, path, seconds=8, seed=0, temperature=1.0, model=model)
        assert spec.style in heard
    plain = spec_from_file(shipped_tok, reel, seconds=8, seed=0, temperature=1.0)
    assert plain.style == "folksong"  # no model to ask: the stated fallback
    fiddle = _corpus_tune("essen*/*.abc", tmp_path, program=110)
    named = spec_from_file(shipped_tok, fiddle, seconds=8, seed=0, temperature=1.0, model=model)
    assert named.style == "fiddle"  # an instrument that names a style keeps it


def test_a_primer_without_a_tempo_is_read_at_midis_default(tok, tmp_path):
    score = symusic.Score(480)  # no tempo event: a MIDI player plays it at 120 BPM
    track = symusic.Track(program=0)
    track.notes.extend(symusic.Note(i * 480, 480, 60 + i % 5, 80) for i in range(16))
    score.tracks.append(track)
    score.dump_midi(str(tmp_path / "untimed.mid"))
    spec = spec_from_file(tok, tmp_path / "untimed.mid", seconds=8, seed=0, temperature=1.0)
    assert spec.tempo_bpm == 120.0
    assert symusic.Score(str(tmp_path / "untimed.mid")).to("second").end() == 8.0  # 16 beats


def test_compose_writes_the_style_in_its_key_for_its_ensemble(tmp_path, midi_dir):
    pieces = [Piece(p, "chorale", p.name) for p in find_midi_files([midi_dir])]
    torch.manual_seed(0)
    train_on_pieces(
        pieces=pieces,
        out_dir=tmp_path,
        model_config=ModelConfig.tiny(),
        train_config=TrainConfig.tiny(),
        progress=False,
    )
    model, _, tok, _ = load_checkpoint(tmp_path)
    spec = SongSpec(style="chorale", key="G major", tempo_bpm=90, seconds=16, seed=1)
    song = compose(model, tok, spec).score
    assert len(song.tracks) >= 2 and {t.program for t in song.tracks} == {52}
    notes = sorted((n.time, n.pitch) for t in song.tracks for n in t.notes)
    last = notes[-1][0]
    assert {p % 12 for t, p in notes if t == last} <= {7, 11, 2}  # ends on G B D

    seconds = song.to("second")
    end = max(n.time + n.duration for t in seconds.tracks for n in t.notes)
    assert 12 <= end <= 17


@pytest.mark.parametrize("style", ["chorale", "irish"])
def test_the_shipped_model_writes_in_the_key_it_is_given(style):
    """The key is not a mask (a chorale has chromatic passing notes): the shipped model,
    conditioned on its Key token, keeps to it."""
    model, _, tok, _ = load_checkpoint(SHIPPED)
    g_major = {7, 9, 11, 0, 2, 4, 6}
    shares = []
    for seed in range(3):
        spec = SongSpec(style=style, key="G major", tempo_bpm=90, seconds=16, seed=seed)
        notes = [n.pitch for t in compose(model, tok, spec).score.tracks for n in t.notes]
        shares.append(sum(p % 12 in g_major for p in notes) / len(notes))
    assert min(shares) >= 0.9


@pytest.mark.parametrize("bad", ["H major", "C", "D dorian", ""])
def test_a_key_the_site_cannot_tell_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="key"):
        parse_key(bad)


def test_every_style_the_corpus_and_catalog_name_has_a_token(tok):
    from generator.corpus import SOURCES
    from generator.ml.styles import COLLECTION_STYLES, STYLES

    named = {s.style for s in SOURCES} | set(COLLECTION_STYLES.values())
    assert named <= set(STYLES)
    assert all(f"Style_{s}" in tok.vocab for s in named)
