"""The listening log: listen reports, ratings, history, and the hub that tells the rest.

The path of a listen report, top to bottom: ``api`` (HTTP) parses it with ``reports`` and
calls ``services.listens_record``, which reads through ``selectors``, merges and writes with
``upsert``, and tells ``hub``; after the commit the hub calls its subscribers (wired in
``RecommenderConfig.ready``): the feed's invalidation (``recommender.feed.services``) and the
online model update (``recommender.training.serving``).
"""
