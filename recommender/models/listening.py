"""The listening log: plays, skips, ratings and likes (see issue: listening signals)."""

__all__: list[str] = []
