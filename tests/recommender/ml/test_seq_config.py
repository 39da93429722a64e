"""The sequence models' config: a model part, a training part, and the two flat (SeqConfig)."""

import dataclasses
import json

import numpy as np

from recommender.ml.registry import load_model
from recommender.ml.seq_config import SeqConfig, SeqModelConfig, SeqTrainConfig
from recommender.ml.seq_model import SASRec
from recommender.ml.seq_recommender import SASRecRecommender
from tests.recommender.ml.test_contract import _toy

# The defaults, field by field (the kind's first trial in a search).
DEFAULTS = {
    "arch": "sasrec",
    "hidden": 64,
    "layers": 2,
    "heads": 1,
    "dropout": 0.3,
    "maxlen": 100,
    "train_windows": True,
    "item_init": "als",
    "members": 1,
    "epochs": 200,
    "batch_size": 64,
    "lr": 3e-3,
    "lr_schedule": "cosine",
    "warmup": 0.02,
    "weight_decay": 0.01,
    "precision": "fp32",
    "loss": "ce",
    "negatives": 256,
    "patience": 5,
    "time_budget": None,
    "seed": 0,
    "device": "auto",
    "threads": 0,
}
MODEL_FIELDS = {"arch", "hidden", "layers", "heads", "dropout", "maxlen", "members"}


def _names(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_the_defaults_are_as_documented():
    assert SeqConfig().to_dict() == DEFAULTS
    tiny = {"hidden": 16, "layers": 1, "maxlen": 20, "epochs": 3, "batch_size": 32, "patience": 2}
    assert SeqConfig.tiny().to_dict() == {**DEFAULTS, **tiny}


def test_the_model_and_the_training_parts_split_the_fields():
    assert _names(SeqModelConfig) == MODEL_FIELDS
    assert _names(SeqTrainConfig) == set(DEFAULTS) - MODEL_FIELDS
    c = dataclasses.replace(SeqConfig.tiny(), hidden=32, lr=3e-3, members=2)
    assert c.model == SeqModelConfig(hidden=32, layers=1, maxlen=20, members=2)
    assert c.train == SeqTrainConfig(epochs=3, batch_size=32, patience=2, lr=3e-3)
    assert SeqConfig.of(c.model, c.train) == c


def test_a_setting_names_any_field_flat():
    c = dataclasses.replace(SeqConfig(), maxlen=50, time_budget=60.0, threads=1)
    assert (c.model.maxlen, c.train.time_budget, c.train.threads) == (50, 60.0, 1)


def test_the_network_is_built_from_the_model_part_alone():
    model = SASRecRecommender(SeqConfig.tiny()).fit(_toy())
    assert isinstance(model.module, SASRec)
    assert type(model.module.config) is SeqModelConfig


def test_a_saved_model_holds_both_parts_and_one_saved_before_the_split_loads(tmp_path):
    config = dataclasses.replace(SeqConfig.tiny(), epochs=2, hidden=8)
    model = SASRecRecommender(config).fit(_toy())
    model.save(tmp_path / "new")
    header = json.loads((tmp_path / "new" / "config.json").read_text())
    saved = header["config"]
    assert saved == {
        "model": config.model.to_dict(),
        "train": config.train.to_dict(),
        "n_items": 30,
    }
    # the shape written before the split: one flat dict under "seq"
    header["config"] = {"seq": config.to_dict(), "n_items": saved["n_items"]}
    (tmp_path / "new" / "config.json").write_text(json.dumps(header))
    old = load_model(tmp_path / "new")
    assert old.config == config
    history = np.array([1, 3, 5])
    expected = model.recommend(0, history, k=5)[0].tolist()
    assert old.recommend(0, history, k=5)[0].tolist() == expected
    assert SeqConfig.from_saved({"seq": config.to_dict()}) == SeqConfig.from_saved(saved)
