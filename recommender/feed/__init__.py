"""The personalized feed, discovery and radio (issue 5).

``context`` reads a listener's signals, ``sources`` proposes candidates with reasons, ``blend``
mixes them with variety, ``builder`` assembles the feed, ``services`` stores it as a snapshot and
logs impressions, ``selectors`` pages through it; ``content`` is the content-similarity index and
``radio`` the endless queue from any piece.
"""
