"""Training, registry and serving of the recommenders (the bridge between the site and ``ml/``).

``dataset`` reads the event log, ``services`` runs trainings and (de)activates versions,
``serving`` loads active models and answers ``recommendations_for``; ``admin`` and ``chart``
show the registry to staff.
"""
