"""A listener's library: playlists (and the automatic "Liked") and the onboarding tastes.

``playlists`` and ``onboarding`` hold the reads and writes; ``views`` and ``urls`` are the pages
under /library/, ``api`` and ``api_urls`` the endpoints under /api/v1/.
"""
