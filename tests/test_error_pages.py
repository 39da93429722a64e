"""The site's own 404 and 500 pages (shown when DEBUG is off)."""

import pytest
from django.template.loader import get_template


@pytest.mark.django_db
def test_missing_piece_shows_the_site_404_page(client, settings):
    settings.DEBUG = False
    response = client.get("/tracks/999999/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "We could not find that page" in html
    assert 'href="/tracks/"' in html  # a way back into the catalog


def test_500_page_renders_without_a_request():
    html = get_template("500.html").render({})
    assert "Something went wrong" in html and "site.css" in html
