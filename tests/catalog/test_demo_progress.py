"""The first start: the site answers while the demo catalog imports in the background; the
front page shows the import's progress, and the console ends with the URL and the logins."""

import time
from unittest import mock

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.management.commands import setup_demo
from catalog import demo_progress, services_demo
from catalog.models import Track
from tests.factories import TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _own_var_dir(settings, tmp_path):
    settings.VAR_DIR = str(tmp_path / "var")


def test_the_front_page_shows_the_import_progress_while_it_runs(client, settings):
    settings.DEMO_MODE = True
    TrackFactory(render_status="ready")
    TrackFactory()
    demo_progress.progress_write(stage=demo_progress.IMPORTING, planned=40, processed=10)
    page = client.get("/")
    html = page.content.decode()
    assert page.status_code == 200 and "Setting up the demo catalog" in html
    assert "10 of 40 pieces read (25 %)" in html
    assert "<strong>2</strong> in the catalog" in html and "<strong>1</strong> playable" in html
    assert reverse("catalog:demo_progress") in html and 'hx-trigger="every 3s"' in html
    assert "demo</code> / <code>listen-to-bach" in html  # the logins, in demo mode
    assert client.get(reverse("catalog:browse")).status_code == 200  # the rest works as usual


def test_without_a_running_import_the_front_page_is_the_usual_one(client, settings):
    assert "Setting up the demo catalog" not in client.get("/").content.decode()
    demo_progress.progress_write(stage=demo_progress.IMPORTING, planned=40, processed=10)
    state = demo_progress.state_path()
    stale = time.time() - demo_progress.STALE_SECONDS - 1
    state.write_text(state.read_text().replace('"written_at": ', f'"written_at": {stale}, "x": '))
    assert demo_progress.progress_read() is None  # its process died: ignored
    assert "Setting up the demo catalog" not in client.get("/").content.decode()


def test_the_panel_sends_the_page_on_once_the_import_ends(client):
    demo_progress.progress_write(stage=demo_progress.IMPORTING, planned=5, processed=1)
    url = reverse("catalog:demo_progress")
    polled = client.get(url, headers={"HX-Request": "true"})
    assert "1 of 5 pieces read" in polled.content.decode() and "HX-Location" not in polled
    demo_progress.progress_clear()
    done = client.get(url, headers={"HX-Request": "true"})
    assert '"path": "/"' in done["HX-Location"]
    assert "The demo catalog is imported" in done.content.decode()


def _fake_import(**kwargs):
    assert kwargs["defer_mp3"] is True  # the MP3s wait until every piece plays
    bar = kwargs["progress"](3)
    for n in range(3):
        TrackFactory(title=f"Tune {n}", render_status="ready")
        bar.update(1)
    bar.close()
    return services_demo.DemoImportResult(
        created=3,
        duplicates=1,
        duplicate_of=["music21:book.abc#9: duplicate of #1 “Tune 0” (the same notes)"],
    )


def test_setup_demo_follow_prints_the_url_and_logins_last(settings, capsys):
    settings.DEMO_MODE = True
    states = []
    real_write = demo_progress.progress_write

    def spy(**state):
        states.append(state["stage"])
        real_write(**state)

    with (
        mock.patch.object(setup_demo.Command, "_wait_for_web"),
        mock.patch.object(setup_demo.Command, "_idle") as idle,
        mock.patch.object(services_demo, "demo_catalog_pending", return_value=3),
        mock.patch.object(services_demo, "demo_catalog_import", side_effect=_fake_import),
        mock.patch.object(demo_progress, "progress_write", side_effect=spy),
        mock.patch("catalog.services.tracks_queue_missing_mp3", return_value=3) as mp3s,
        mock.patch.object(
            setup_demo.Command,
            "_seed_listeners",
            side_effect=lambda: UserFactory(username="demo-chorales"),
        ),
    ):
        call_command("setup_demo", "--follow")
    assert idle.called and mp3s.called
    out = capsys.readouterr().out.splitlines()
    assert states[0] == "importing" and "seeding" in states
    assert demo_progress.progress_read() is None  # the front page is the usual one again
    blocks = [i for i, line in enumerate(out) if line.startswith("  Open http://127.0.0.1:8000/")]
    assert len(blocks) == 3  # when the site answers, when the import ends, when all plays
    first = "\n".join(out[: blocks[0] + 3])
    assert "is importing in the background" in first
    assert "Demo listeners with a history come once the import ends." in first
    second = "\n".join(out[blocks[0] : blocks[1]])
    assert "The demo catalog is imported: 3 pieces" in second
    assert "left out, a duplicate: music21:book.abc#9: duplicate of #1 “Tune 0”" in second
    assert "Every demo piece plays: 3 of 3 ready" in "\n".join(out[blocks[1] : blocks[2]])
    last = out[blocks[2] :]
    assert last[1].startswith("  Log in as demo / listen-to-bach")
    assert last[2] == "  Demo listeners with a history: demo-chorales / listen-as-demo-chorales"
    assert len(last) == 4 and set(last[-1]) == {"-"}  # nothing after the logins


def test_setup_demo_follow_on_a_later_start_says_so_at_once(settings, capsys):
    settings.DEMO_MODE = True
    TrackFactory(render_status="ready")
    with (
        mock.patch.object(setup_demo.Command, "_wait_for_web"),
        mock.patch.object(setup_demo.Command, "_idle"),
        mock.patch.object(services_demo, "demo_catalog_pending", return_value=0),
        mock.patch.object(services_demo, "demo_catalog_import") as importer,
    ):
        call_command("setup_demo", "--follow")
    assert not importer.called
    out = capsys.readouterr().out
    assert "all 1 pieces play" in out and out.rstrip().endswith("-" * 66)


def test_a_failing_demo_setup_keeps_the_site_running(settings, capsys):
    settings.DEMO_MODE = True
    with (
        mock.patch.object(setup_demo.Command, "_wait_for_web"),
        mock.patch.object(setup_demo.Command, "_idle") as idle,
        mock.patch.object(services_demo, "demo_catalog_pending", return_value=5),
        mock.patch.object(services_demo, "demo_catalog_import", side_effect=OSError("disk full")),
    ):
        call_command("setup_demo", "--follow")
    assert idle.called  # never exits: honcho would stop the site with it
    assert "The demo setup stopped (OSError: disk full); the site runs on." in (
        capsys.readouterr().out
    )
    assert demo_progress.progress_read() is None


def test_the_demo_import_queues_renders_without_mp3s_when_asked(django_capture_on_commit_callbacks):
    from catalog.ingest import demo
    from tests.catalog.midi_samples import midi_bytes

    piece = demo.DemoPiece(
        source="music21:t.abc#1", title="T", artist="Trad", collection="C", midi=midi_bytes()
    )
    with (
        mock.patch("catalog.tasks.render_track.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        services_demo._ingest_job(
            [piece], Track.Status.PUBLISHED, services_demo.DemoImportResult(), defer_mp3=True
        )
    track = Track.objects.get()
    delay.assert_called_once_with(track.pk, skip_ready=True, mp3=False)
