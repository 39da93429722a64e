from django.apps import AppConfig


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = "Recommender"

    def ready(self) -> None:
        # The feed goes stale on any new feedback (recommender/feed/services.py).
        from recommender.feed.services import register_feed_hooks

        register_feed_hooks()
        # Online MF updates, the retraining trigger and the feed's model providers.
        from recommender.training.serving import register as register_training

        register_training()
