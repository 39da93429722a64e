import numpy as np
import pytest
import scipy.io
import torch

from generator.ml.pianoroll import RNNNADE, PianoRollConfig, load_mat, train_and_evaluate


def _rolls(n, t, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        roll = np.zeros((t, 88), dtype=np.uint8)
        for i in range(t):  # a C-major triad walking up and down: very predictable
            root = 39 + 2 * (i % 4)
            roll[i, [root, root + 4, root + 7]] = 1
            if rng.random() < 0.1:
                roll[i, rng.integers(0, 88)] = 1
        out.append(roll)
    return out


def _write_mat(path, seed=0):
    def cell(items):
        arr = np.empty((1, len(items)), dtype=object)
        for i, x in enumerate(items):
            arr[0, i] = x
        return arr

    scipy.io.savemat(
        path,
        {
            "traindata": cell(_rolls(12, 40, seed)),
            "validdata": cell(_rolls(3, 40, seed + 1)),
            "testdata": cell(_rolls(3, 40, seed + 2)),
        },
    )
    return path


def test_nade_gives_a_normalised_distribution_over_a_frame():
    # With only the first 3 pitches free, the 8 configurations must sum to probability 1.
    torch.manual_seed(0)
    model = RNNNADE(PianoRollConfig.tiny()).eval()
    probs = 0.0
    for bits in range(8):
        frame = torch.zeros(1, 1, 88)
        for j in range(3):
            frame[0, 0, j] = (bits >> j) & 1
        nll_all = model.frame_nll(frame)[0, 0]
        probs += torch.exp(-nll_all).item()
    # the remaining 85 pitches are fixed to 0 in every term, so the sum is P(rest = 0) <= 1
    assert 0 < probs <= 1.0 + 1e-5


@pytest.mark.parametrize("time_model", ["lstm", "transformer"])
def test_training_learns_the_pattern(tmp_path, time_model):
    data = load_mat(_write_mat(tmp_path / "toy.mat"))
    config = PianoRollConfig(
        time_model=time_model,
        hidden=32,
        layers=1,
        nade_hidden=16,
        max_epochs=60,
        time_budget_s=None,
        batch_pieces=4,
        lr=5e-3,
        dropout=0.0,
    )
    result = train_and_evaluate(data, config, progress=False)
    assert result["test_nll"] < 0.5 * 88 * np.log(2)  # far below a coin flip per pitch
    assert result["test_nll"] < 6.0


def test_missing_or_wrong_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        load_mat(tmp_path / "nope.mat")
    scipy.io.savemat(tmp_path / "other.mat", {"x": np.zeros(3)})
    with pytest.raises(ValueError, match="traindata"):
        load_mat(tmp_path / "other.mat")
