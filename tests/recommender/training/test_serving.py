"""recommendations_for: online reaction to feedback, fallbacks, the feed's providers."""

import logging
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.utils import timezone

from catalog.models import Track
from recommender.feed import sources
from recommender.listening.services import rating_set
from recommender.models import ListenEvent
from recommender.training import services, serving
from tests.factories import UserFactory
from tests.recommender.training.conftest import listen


def _train(kind, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        run = services.training_request(kind=kind)
    run = services.training_execute(run_id=run.pk)
    assert run.version.is_active, run.error
    return run.version


def _ids(recs):
    return [r.track_id for r in recs]


def test_one_rating_changes_recommendations_without_a_retrain(
    event_log, django_capture_on_commit_callbacks
):
    version = _train("als", django_capture_on_commit_callbacks)
    tracks = event_log["tracks"]
    even_listener = event_log["users"][0]
    before = serving.recommendations_for(user=even_listener, k=10, kinds=("als",))
    assert all(r.source == "als" for r in before)
    assert np.mean([r.track_id in {t.pk for t in tracks[0::2]} for r in before[:5]]) >= 0.6
    loaded = serving.load_version(version)
    slot = loaded.user_index[str(even_listener.pk)]
    factors_before = loaded.model.user_factors[slot].copy()

    with django_capture_on_commit_callbacks(execute=True):  # the hook runs after commit
        rating_set(user=even_listener, track=tracks[39], stars=5)
    # the hook already refolded this listener's factors: no retraining happened
    assert not np.allclose(loaded.model.user_factors[slot], factors_before)
    after = serving.recommendations_for(user=even_listener, k=10, kinds=("als",))
    assert _ids(after) != _ids(before)
    assert tracks[39].pk not in _ids(after)  # what they rated is not offered again
    assert services.ModelVersion.objects.count() == 1


def test_not_interested_hides_a_piece_at_once(event_log, django_capture_on_commit_callbacks):
    _train("als", django_capture_on_commit_callbacks)
    listener = event_log["users"][0]
    first = serving.recommendations_for(user=listener, k=5, kinds=("als",))[0].track_id
    with django_capture_on_commit_callbacks(execute=True):
        rating_set(user=listener, track=Track.objects.get(pk=first), not_interested=True)
    assert first not in _ids(serving.recommendations_for(user=listener, k=20, kinds=("als",)))


def test_sequence_model_follows_the_latest_play(event_log, django_capture_on_commit_callbacks):
    _train("sasrec", django_capture_on_commit_callbacks)
    tracks = event_log["tracks"]
    newcomer = UserFactory(username="newcomer")
    now = timezone.now()
    ListenEvent.objects.bulk_create(
        [listen(newcomer, tracks[i], now - timedelta(minutes=10 - i)) for i in (0, 2, 4)]
    )
    first = serving.recommendations_for(user=newcomer, k=5, kinds=("sasrec",))
    assert first[0].track_id == tracks[6].pk  # the walk continues
    ListenEvent.objects.create(
        **{
            f.name: getattr(listen(newcomer, tracks[21], now), f.name)
            for f in ListenEvent._meta.concrete_fields
            if f.name != "id"
        }
    )
    second = serving.recommendations_for(user=newcomer, k=5, kinds=("sasrec",))
    # reacts to the newest play, no retrain: the odd walk it belongs to leads, 23 among the first
    odd = {t.pk for t in tracks[1::2]}
    assert second[0].track_id in odd and tracks[23].pk in [r.track_id for r in second[:3]]


def test_no_model_falls_back_to_popularity_with_a_warning(event_log, caplog):
    listener = UserFactory(username="fresh")
    with caplog.at_level(logging.WARNING, logger="recommender.training.serving"):
        recs = serving.recommendations_for(user=listener, k=5)
    assert len(recs) == 5 and {r.source for r in recs} == {"popular"}
    assert "falling back to popularity" in caplog.text


@pytest.mark.parametrize("damage", ["corrupt", "missing"])
def test_broken_model_file_falls_back_with_a_warning(
    event_log, damage, caplog, django_capture_on_commit_callbacks
):
    version = _train("als", django_capture_on_commit_callbacks)
    folder = Path(settings.MODEL_ROOT) / version.artifact_path
    if damage == "corrupt":
        (folder / "weights.npz").write_bytes(b"\x00garbage")
    else:
        for path in folder.iterdir():
            path.unlink()
    serving._cache.clear()
    with caplog.at_level(logging.WARNING, logger="recommender.training.serving"):
        recs = serving.recommendations_for(user=event_log["users"][0], k=5)
    assert recs and {r.source for r in recs} == {"popular"}
    assert "unusable" in caplog.text and "falling back to popularity" in caplog.text


def test_feed_providers_answer_from_the_active_models(
    event_log, django_capture_on_commit_callbacks
):
    listener = event_log["users"][1]
    assert sources._providers["taste"](listener.pk, [], 5) == []  # nothing trained yet
    _train("als", django_capture_on_commit_callbacks)
    answer = sources._providers["taste"](listener.pk, [], 5)
    assert len(answer) == 5 and all(isinstance(t, int) for t, _ in answer)
