import pytest
import torch

from generator.ml.config import ModelConfig
from generator.ml.model import build_model


@pytest.mark.parametrize("arch", ["transformer", "lstm"])
def test_cached_steps_match_the_full_forward_pass(arch):
    torch.manual_seed(0)
    config = ModelConfig.tiny(arch)
    config.vocab_size = 50
    model = build_model(config).eval()
    idx = torch.randint(0, 50, (1, 20))
    full, _ = model(idx)
    logits, state = model.init_state(idx[:, :5])
    assert torch.allclose(logits, full[:, 4], atol=1e-5)
    for t in range(5, 20):
        logits, state = model.step(idx[:, t], state)
        assert torch.allclose(logits, full[:, t], atol=1e-4)
    assert torch.allclose(model.logits_last(idx), full[:, -1], atol=1e-5)


@pytest.mark.parametrize("arch", ["transformer", "lstm"])
def test_forward_returns_next_token_cross_entropy(arch):
    config = ModelConfig.tiny(arch)
    config.vocab_size = 30
    model = build_model(config)
    idx = torch.randint(0, 30, (2, 16))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, 16, 30)
    assert abs(loss.item() - torch.log(torch.tensor(30.0)).item()) < 0.5  # untrained: ~uniform


def test_vocab_size_must_be_set():
    with pytest.raises(ValueError, match="vocab_size"):
        build_model(ModelConfig.tiny())


def test_context_longer_than_max_len_is_refused():
    config = ModelConfig.tiny()
    config.vocab_size = 10
    model = build_model(config)
    with pytest.raises(ValueError, match="max_len"):
        model(torch.zeros(1, config.max_len + 1, dtype=torch.long))
