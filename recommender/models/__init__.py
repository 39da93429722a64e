"""Models of the recommender app: the listening log (``listening``) and the model registry
(``training``). Each module owns its models; this package re-exports them for Django."""

from recommender.models.feed import *  # noqa: F403
from recommender.models.listening import *  # noqa: F403
from recommender.models.training import *  # noqa: F403
