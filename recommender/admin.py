"""Admin of the recommender, found by Django's autodiscovery: each sub-package's own admin."""

from recommender.feed import admin as feed_admin  # noqa: F401  (the feed's source weights)
from recommender.listening import admin as listening_admin  # noqa: F401  (the listening log)
from recommender.training import admin as training_admin  # noqa: F401  (the model registry)
