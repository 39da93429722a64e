"""One contract every recommender honours (like implicit's RecommenderBase test mixin)."""

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp

from recommender.ml.base import ArtifactError, FitData, Recommender
from recommender.ml.kinds import MF_KINDS, SEQUENCE_KINDS
from recommender.ml.registry import KINDS, MODEL_CLASSES, load_model, make_model, tiny_config

N_USERS, N_ITEMS = 40, 30


def _toy() -> FitData:
    """Two taste groups: even users walk even items upward, odd users walk odd items upward."""
    rng = np.random.default_rng(0)
    seqs = []
    for u in range(N_USERS):
        start = rng.integers(0, 5) * 2 + (u % 2)
        seqs.append(np.arange(start, min(start + 16, N_ITEMS), 2, dtype=np.int64))
    rows = np.repeat(np.arange(N_USERS), [len(s) for s in seqs])
    matrix = sp.csr_matrix(
        (np.ones(len(rows), dtype=np.float32), (rows, np.concatenate(seqs))),
        shape=(N_USERS, N_ITEMS),
    )
    valid = np.array([s[-1] for s in seqs])
    return FitData(matrix, seqs, valid_history=[s[:-1] for s in seqs], valid_target=valid)


@pytest.fixture(scope="module")
def toy() -> FitData:
    return _toy()


_fitted: dict[str, Recommender] = {}


ENSEMBLE = "sasrec+2"  # a sequence model of two networks (SeqConfig.members)


def _fit(name: str, toy: FitData) -> Recommender:
    """Each kind is fitted once per test session, whichever fixture asks first."""
    if name not in _fitted:
        kind, _, members = name.partition("+")
        config = tiny_config(kind)
        if kind in SEQUENCE_KINDS:
            config = dataclasses.replace(
                config, epochs=60, patience=60, lr=1e-2, members=int(members or 1)
            )
        _fitted[name] = make_model(kind, config).fit(toy)
    return _fitted[name]


@pytest.fixture(scope="module", params=[*sorted(KINDS), ENSEMBLE])
def fitted(request, toy) -> Recommender:
    return _fit(request.param, toy)


@pytest.fixture(scope="module", params=[*sorted(set(KINDS) - {"pop"}), ENSEMBLE])
def personalised(request, toy) -> Recommender:
    """The models that learn each listener's taste (popularity, by design, does not)."""
    return _fit(request.param, toy)


def test_recommend_returns_k_unseen_items_best_first(fitted):
    history = np.array([0, 2, 4], dtype=np.int64)
    items, scores = fitted.recommend(0, history, k=5)
    assert len(items) == 5
    assert not set(items.tolist()) & {0, 2, 4}
    assert all(0 <= i < N_ITEMS for i in items)
    assert np.all(np.diff(scores) <= 0)


def test_recommend_can_keep_seen_and_exclude_others(fitted):
    items, _ = fitted.recommend(
        1, np.array([1, 3]), k=N_ITEMS, filter_seen=False, exclude=np.array([5])
    )
    assert 5 not in items
    assert len(items) == N_ITEMS - 1


def test_k_larger_than_catalog_returns_what_is_left(fitted):
    items, _ = fitted.recommend(0, np.arange(N_ITEMS - 3), k=100)
    assert sorted(items.tolist()) == [N_ITEMS - 3, N_ITEMS - 2, N_ITEMS - 1]


def test_popularity_gives_everyone_the_most_played_unseen_items(toy):
    model = _fit("pop", toy)
    even, _ = model.recommend(0, np.array([0, 2, 4, 6]), k=5)
    odd, _ = model.recommend(1, np.array([1, 3, 5, 7]), k=5)
    counts = np.asarray(toy.matrix.sum(axis=0)).ravel()
    assert counts[even[0]] == counts[np.setdiff1d(np.arange(N_ITEMS), [0, 2, 4, 6])].max()
    assert counts[odd[0]] == counts[np.setdiff1d(np.arange(N_ITEMS), [1, 3, 5, 7])].max()


def test_personalised_models_learn_the_taste_groups(personalised):
    fitted = personalised
    even, _ = fitted.recommend(0, np.array([0, 2, 4, 6]), k=5)
    odd, _ = fitted.recommend(1, np.array([1, 3, 5, 7]), k=5)
    assert even[0] % 2 == 0 and odd[0] % 2 == 1
    if fitted.kind in MF_KINDS:  # long-term taste: the whole list follows the group
        assert (even % 2 == 0).mean() >= 0.6 and (odd % 2 == 1).mean() >= 0.6


def test_similar_items_leaves_out_the_item_itself(fitted):
    items, _ = fitted.similar_items(4, k=5)
    assert len(items) == 5 and 4 not in items
    with pytest.raises(IndexError):
        fitted.similar_items(N_ITEMS + 10)


def test_scores_shape(fitted):
    scores = fitted.scores(np.array([0, 1, 2]), [np.array([0]), np.array([1]), np.array([])])
    assert scores.shape == (3, N_ITEMS)
    assert scores.dtype == np.float32


def test_save_load_roundtrip_gives_identical_recommendations(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    for load in (type(fitted).load, load_model):
        loaded = load(tmp_path / "m")
        assert loaded.kind == fitted.kind
        a, sa = fitted.recommend(3, np.array([1, 3, 5]), k=7)
        b, sb = loaded.recommend(3, np.array([1, 3, 5]), k=7)
        assert a.tolist() == b.tolist()
        np.testing.assert_allclose(sa, sb, rtol=1e-5, atol=1e-6)


def test_load_of_missing_or_corrupt_artifact_is_a_clear_error(fitted, tmp_path):
    with pytest.raises(ArtifactError):
        type(fitted).load(tmp_path / "nothing-here")
    with pytest.raises(ArtifactError):
        load_model(tmp_path / "nothing-here")
    fitted.save(tmp_path / "m")
    (tmp_path / "m" / "weights.npz").write_bytes(b"not a zip")
    with pytest.raises(ArtifactError):
        type(fitted).load(tmp_path / "m")


def test_update_user_takes_new_feedback_into_account(personalised):
    """After new feedback the listener's list reflects it (MF: refit row; sequences: history)."""
    fitted = personalised
    history = np.array([1, 3, 5, 7], dtype=np.int64)  # an even user turns to odd items
    fitted.update_user(0, history)
    items, _ = fitted.recommend(0, history, k=5)
    assert items[0] % 2 == 1
    if fitted.kind in MF_KINDS:
        assert (items % 2 == 1).mean() >= 0.6


def test_the_interface_loads_no_kind_itself(fitted, tmp_path):
    """``base`` knows no model class (no import loop): the registry loads a folder of any kind."""
    fitted.save(tmp_path / "m")
    with pytest.raises(TypeError, match="load_model"):
        Recommender.load(tmp_path / "m")
    other = "pop" if fitted.kind != "pop" else "als"
    with pytest.raises(ArtifactError, match=f"holds a {fitted.kind!r} model"):
        MODEL_CLASSES[other].load(tmp_path / "m")
