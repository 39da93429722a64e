"""Training examples of the sequence models: which items they learn to predict."""

import numpy as np

from recommender.ml.seq_train import _examples


def _targets(examples: list[np.ndarray]) -> list[int]:
    return sorted(int(t) for e in examples for t in e[1:])


def test_by_default_only_the_most_recent_maxlen_items_are_targets():
    examples = _examples([np.arange(10), np.arange(1), np.arange(2)], maxlen=4)
    assert [e.tolist() for e in examples] == [[5, 6, 7, 8, 9], [0, 1]]


def test_windows_make_every_item_after_the_first_a_target_once():
    sequences = [np.arange(10), np.arange(1), np.arange(2), np.arange(100, 109)]
    examples = _examples(sequences, maxlen=4, windows=True)
    assert all(2 <= len(e) <= 5 for e in examples)
    assert _targets(examples) == sorted([*range(1, 10), 1, *range(101, 109)])
    # each window is a contiguous run of its sequence, in time order
    assert all(np.all(np.diff(e) == 1) for e in examples)
