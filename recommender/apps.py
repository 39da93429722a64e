"""The recommender app, and the one place where the path of a listen is wired."""

from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommender"

    def ready(self) -> None:
        """Subscribe the feed and the models to the listening hub; give the feed its models.

        A committed write with feedback makes its listeners' feeds stale, refreshes their
        factors in the loaded MF models and may queue a retraining; new onboarding picks make
        the feed stale. The feed's "next" source asks the sequence models, "taste" the MF ones.
        """
        from recommender.feed import services as feed
        from recommender.feed import sources
        from recommender.listening import hub
        from recommender.ml import kinds
        from recommender.training import services as training
        from recommender.training import serving

        hub.subscribe(feed.on_feedback)
        hub.subscribe(serving.online_feedback_update)
        hub.subscribe(training.training_trigger_on_feedback)
        hub.subscribe_tastes(feed.on_tastes_changed)
        sources.register_provider("next", serving.provider(kinds.SEQUENCE_KINDS))
        sources.register_provider("taste", serving.provider(kinds.MF_KINDS))
