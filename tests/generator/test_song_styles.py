"""A song follows the listener's taste in style, ensemble and key, and says so truthfully."""

from dataclasses import replace
from pathlib import Path

import pretty_midi
import pytest

from accounts.models import Profile
from catalog.models import Collection, Track
from catalog.services import track_ingest
from generator.ml.checkpoint import load_checkpoint
from generator.ml.compose import compose
from generator.ml.styles import STYLES
from generator.ml.tokenizer import decode_ids
from generator.personalization import conditioning_for
from generator.services import modelled_spec
from tests.factories import CollectionFactory, RatingFactory, UserFactory
from tests.generator.ml.test_accompaniment import _tune_over_chords

pytestmark = pytest.mark.django_db
SHIPPED = Path(__file__).resolve().parents[2] / "generator" / "checkpoints" / "demo"


def test_a_loved_chorale_makes_a_chorale_for_four_voices(catalog_track):
    user = UserFactory()
    chorales, _ = Collection.objects.get_or_create(name="Bach Chorales")
    loved = catalog_track(seed=3)
    Track.objects.filter(pk=loved.pk).update(collection=chorales, key="G major", tempo_bpm=80.0)
    RatingFactory(user=user, track=loved, stars=5)
    cond = conditioning_for(user, seed=4)
    assert cond.style == "chorale"
    assert cond.max_polyphony == len(STYLES["chorale"].parts) == 4
    assert cond.reason.startswith("In the style of the Bach chorales you loved")
    assert "for four voices, in G major." in cond.reason
    assert cond.tempo_bpm == pytest.approx(80.0)


def test_a_new_listener_gets_the_style_they_picked_when_they_joined():
    user = UserFactory()
    profile = Profile.objects.create(user=user)
    profile.collections.set([CollectionFactory(name="Ryan's Mammoth Collection (1883)")])
    cond = conditioning_for(user, seed=0)
    assert cond.style == "fiddle" and cond.primer_track_id is None
    assert cond.key and cond.key in cond.reason
    assert "fiddle tunes you picked when you joined" in cond.reason


def test_a_listener_without_tastes_gets_a_folk_song_in_a_named_key():
    cond = conditioning_for(UserFactory(), seed=1)
    assert cond.style == "folksong" and cond.key
    assert "rate some music" in cond.reason


def _repeating_piece(path) -> bytes:
    """A 4/4 tune of 16 bars: an 8-bar strain (A B A C A B A D, in quarters) played twice."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120.0)
    fiddle = pretty_midi.Instrument(program=40, name="fiddle")
    shapes = {"A": [62, 66, 69, 66], "B": [67, 66, 64, 62], "C": [69, 71, 69, 67], "D": [62] * 4}
    for bar, letter in enumerate("ABACABAD" * 2):
        for beat, pitch in enumerate(shapes[letter]):
            start = (bar * 4 + beat) * 0.5
            fiddle.notes.append(pretty_midi.Note(90, pitch, start, start + 0.5))
    pm.instruments.append(fiddle)
    pm.write(str(path))
    return path.read_bytes()


def test_a_song_repeats_bars_where_the_loved_piece_does_and_says_so(tmp_path, catalog_track):
    user = UserFactory()
    tune = track_ingest(filename="reel.mid", data=_repeating_piece(tmp_path / "reel.mid"))
    RatingFactory(user=user, track=tune, stars=5)
    cond = conditioning_for(user, seed=1, seconds=30)
    assert cond.primer_track_id == tune.pk
    assert cond.form_source == "ABACABAD" * 2
    assert cond.reason.endswith(f"It repeats bars where “{tune.title}” does.")
    other = UserFactory()
    RatingFactory(user=other, track=catalog_track(seed=3), stars=5)  # a walk: no bar repeats
    cond = conditioning_for(other, seed=1, seconds=30)
    assert "repeats" not in cond.reason


def test_the_model_reads_the_loved_pieces_first_bars_and_the_song_does_not_play_them(tmp_path):
    user = UserFactory()
    tune = track_ingest(filename="reel.mid", data=_repeating_piece(tmp_path / "reel.mid"))
    RatingFactory(user=user, track=tune, stars=5)
    cond = conditioning_for(user, seed=1, seconds=8).to_dict() | {"seed": 5}
    assert f"The model read the first 2 bars of “{tune.title}” before it began." in cond["reason"]
    model, _, tok, _ = load_checkpoint(SHIPPED)
    spec = modelled_spec(cond, tune, tok)
    assert decode_ids(tok, spec.prompt).note_num() == 8  # the tune's first two bars, A and B
    read = compose(model, tok, spec)
    unread = compose(model, tok, replace(spec, prompt=None))
    assert read.ids != unread.ids  # what it read changes what it writes
    assert read.score.end() == unread.score.end()  # and is not played: the same length
    assert modelled_spec(cond, Track(title="no MIDI"), tok).prompt is None


def test_a_loved_tune_over_chords_makes_a_song_with_chords_and_says_so(tmp_path):
    user = UserFactory()
    score = _tune_over_chords()
    score.dump_midi(str(tmp_path / "song.mid"))
    tune = track_ingest(filename="song.mid", data=(tmp_path / "song.mid").read_bytes())
    RatingFactory(user=user, track=tune, stars=5)
    cond = conditioning_for(user, seed=2, seconds=8)
    assert cond.accompaniment is not None
    assert f"Acoustic Grand Piano chords accompany its tune, as in “{tune.title}”." in cond.reason
    model, _, tok, _ = load_checkpoint(SHIPPED)
    spec = modelled_spec(cond.to_dict() | {"seed": 3}, tune, tok)
    assert decode_ids(tok, spec.prompt).note_num() == 8  # the tune's two bars, not its chords
    song = compose(model, tok, spec).score
    assert any(t.program == 0 for t in song.tracks)  # the chords, on the piece's piano
