import symusic

from generator.ml.tokenizer import (
    build_tokenizer,
    decode_ids,
    encode_file,
    find_midi_files,
    load_tokenizer,
    opening_ids,
)


def test_round_trip_keeps_every_note_and_pitch(midi_dir):
    tok = build_tokenizer()
    path = next(iter(find_midi_files([midi_dir])))
    original = symusic.Score(str(path))
    ids = encode_file(tok, path)
    decoded = decode_ids(tok, ids)
    pitches = sorted(n.pitch for t in original.tracks for n in t.notes)
    assert sorted(n.pitch for t in decoded.tracks for n in t.notes) == pitches


def test_saved_tokenizer_reloads_with_the_same_vocabulary(tmp_path):
    tok = build_tokenizer()
    tok.save(tmp_path / "tokenizer.json")
    again = load_tokenizer(tmp_path)
    assert again.vocab == tok.vocab
    assert any(name.startswith("Tempo_") for name in again.vocab)
    assert any(name.startswith("TimeSig_") for name in again.vocab)


def test_broken_file_is_refused_with_its_name(tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"not midi at all")
    try:
        encode_file(build_tokenizer(), bad)
    except ValueError as exc:
        assert "broken.mid" in str(exc)
    else:
        raise AssertionError("a broken file must be refused")


def test_opening_keeps_the_first_bars(midi_dir):
    tok = build_tokenizer()
    ids = encode_file(tok, next(iter(find_midi_files([midi_dir]))))
    head = opening_ids(tok, ids, 2)
    assert head == ids[: len(head)]
    assert head.count(tok["Bar_None"]) == 2


def test_an_opening_starts_at_the_first_bar_with_a_note():
    tok = build_tokenizer()
    late = [tok["Bar_None"], tok["TimeSig_4/4"]] * 3  # three silent bars, then two with notes
    for pitch in (60, 62):
        late += [tok["Bar_None"], tok["TimeSig_4/4"], tok["Position_0"], tok[f"Pitch_{pitch}"]]
        late.append(tok["Duration_1.0.4"])
    head = opening_ids(tok, late, 2)
    assert head == late[6:]  # the two bars with notes, not the count-in
    assert opening_ids(tok, late[:6], 2) == late[:4]  # no note at all: the first two bars
