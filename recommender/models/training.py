"""The model registry: training runs and model versions."""

__all__: list[str] = []
