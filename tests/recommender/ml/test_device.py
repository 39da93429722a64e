"""One ``resolve_device`` for both ml packages (recommender.ml.device)."""

import pytest
import torch

from generator import services as generator_services
from generator.ml import train as generator_train
from recommender.ml import device, seq_recommender
from recommender.ml.device import DeviceUnavailable, resolve_device


def test_both_packages_call_the_one_function():
    assert generator_services.resolve_device is resolve_device
    assert generator_train.resolve_device is resolve_device
    assert seq_recommender.resolve_device is resolve_device


def test_auto_picks_cuda_when_present_else_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device() == torch.device("cpu")
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda") == torch.device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


def test_cuda_without_a_gpu_is_an_error_either_caller_catches(monkeypatch):
    monkeypatch.setattr(device.torch.cuda, "is_available", lambda: False)
    for caught in (ValueError, RuntimeError, DeviceUnavailable):
        with pytest.raises(caught, match="no CUDA device"):
            resolve_device("cuda")


def test_an_unknown_device_is_named():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
