"""Benchmark: does a new listener's first feed page follow their onboarding picks, and do the
reasons name pieces that are actually alike? (``make bench-feed-picks``, issue 19)

1. A fresh SQLite database (``var/bench-feed-picks/``, or ``--database-url``), migrated, holding
   a catalog that mirrors the demo one: its seven collections, composers and tags, each
   collection's size, tempi, keys, ranges, densities and instruments as ``catalog/ingest``
   makes them from the music21 corpus (``mirror_catalog``; ``--demo`` imports the real demo
   catalog instead, a few minutes), and the demo listeners' histories (``demo_listener_seed``),
   so "Popular" means what it means on a fresh ``make run``.
2. Per seed (``--seeds``), ``--listeners`` simulated listeners sign up and pick at random
   (``quality.sample_picks``: 0-3 collections, 0-2 composers, 0-3 tags, 0-2 tempo bands, among
   ``onboarding_choices()``), through ``onboarding_complete``; the first of them each seed is
   the issue's listener (String Quartets, Mozart, Monteverdi, madrigal, string quartet,
   moderate). Their first page (12 items, as the feed page shows) comes from
   ``feed_page_serve``, the service behind the page and the API.
3. Each then plays ``--plays`` pieces of that page (those of their picks first), reported as
   completed listens through ``listens_record``, and likes the first; the feed rebuilds and its
   first two pages (24 items) are judged: every reason that names a piece ("Because you played
   X") must name one in the same collection, by the same composer, or each other's closest
   content neighbour (``quality.anchor_holds``).

Prints, per seed and over all: the share of listeners with a specific pick whose first page
holds a piece of *each* of their specific picks (goal >= 0.90), the share of the first page
that matches a specific pick, the share of anchored reasons that hold (goal >= 0.90; also
without "same composer", which "Traditional" makes easy), the most reasons one anchor gets in
24 items, and pieces shown twice. Writes ``bench/results/feed_picks.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
import uuid
from collections import Counter
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "feed_picks.json"
WORK = ROOT / "var" / "bench-feed-picks"
FIRST_PAGE = 12  # the feed page's size (recommender.feed.views.PAGE_SIZE)
JUDGED = 24  # items judged after the plays: two pages
GOAL_COVERAGE = GOAL_ANCHORS = 0.90
ISSUE_LISTENER = {
    "collections": ["Classical String Quartets"],
    "composers": ["Wolfgang Amadeus Mozart", "Claudio Monteverdi"],
    "tags": ["madrigal", "string quartet"],
    "tempo_ranges": ["moderate"],
}


def _setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_DEBUG", "true")  # nothing is served; no secret key needed
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["CELERY_BROKER_URL"] = "memory://"
    os.environ["VAR_DIR"] = str(WORK)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "musicsite.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    settings.CELERY_TASK_ALWAYS_EAGER = False


# --- the catalog -------------------------------------------------------------------------------

# Per demo source: its pieces as the import makes them (catalog/ingest/demo_sources.py), with the
# spread of each feature measured on an import of the real corpus: tempo (bpm, mean and sd),
# pitch range (lowest, highest), notes per second, the keys it favours and its instruments.
MIRROR = {
    "oneills": dict(count=274, tempo=(160, 30), low=(63, 3), high=(81, 2), density=(5.2, 1.8),
                    duration=(45, 54), instruments=["Flute"],
                    keys=["G major", "D major", "A major", "G minor", "A minor", "E minor"]),
    "ryans": dict(count=198, tempo=(178, 21), low=(62, 3), high=(82, 2), density=(8.1, 3.0),
                  duration=(29, 12), instruments=["Fiddle"],
                  keys=["D major", "G major", "A major", "Bb major", "F major", "E minor"]),
    "essen": dict(count=440, tempo=(110, 0), low=(63, 3), high=(74, 3), density=(2.1, 1.0),
                  duration=(30, 30), instruments=["Acoustic Grand Piano"],
                  keys=["G major", "F major", "D major", "C major", "E major", "A major"]),
    "bach": dict(count=150, tempo=(82, 14), low=(42, 2), high=(77, 3), density=(6.3, 1.8),
                 duration=(49, 18), instruments=["Church Organ"],
                 keys=["G major", "G minor", "A minor", "C major", "B minor", "D major"]),
    "palestrina": dict(count=40, tempo=(140, 0), low=(47, 3), high=(77, 3), density=(3.3, 0.5),
                       duration=(139, 69), instruments=["Choir Aahs"],
                       keys=["C major", "F major", "D minor", "A minor"]),
    "monteverdi": dict(count=16, tempo=(131, 10), low=(43, 2), high=(79, 2), density=(5.3, 1.1),
                       duration=(160, 44), instruments=["Choir Aahs"],
                       keys=["A minor", "D minor", "C major", "F major"]),
    "quartets": dict(count=10, tempo=(132, 37), low=(39, 3), high=(90, 2), density=(11.1, 4.1),
                     duration=(210, 137), instruments=["Violin", "Viola", "Cello"],
                     keys=["G major", "Bb major", "D major", "F major", "C major"]),
}  # fmt: skip
# The share of a folk source's pieces each dance or song form tags (the rest carry only their
# source's tags), as measured on the real import.
FORMS = {
    "oneills": [("jig", 0.21), ("hornpipe", 0.11), ("reel", 0.08), ("slip jig", 0.07)],
    "ryans": [("reel", 0.37), ("hornpipe", 0.28), ("jig", 0.23), ("strathspey", 0.05),
              ("clog", 0.045), ("slip jig", 0.01)],
    "essen": [("children's song", 0.48), ("ballad", 0.24)],
}  # fmt: skip
FOLK_WORDS = ["Lass", "Rose", "Hill", "Fair", "Green", "Morning", "Boys", "Maid", "Dance",
              "River", "Kinder", "Herr", "Mädchen", "Wald", "Lied", "Garden", "Piper", "Old",
              "Bridge"]  # fmt: skip
MASS = ["Kyrie", "Gloria", "Credo", "Sanctus", "Agnus Dei"]
COPIES = 0.07  # folk titles that repeat an earlier one of their collection (79 in the demo)


def mirror_catalog(rng: random.Random, scale: float = 1.0) -> int:
    """Create a catalog that mirrors the demo one (see ``MIRROR``; ``scale`` times as many
    pieces, at least 3 a collection); the number of pieces."""
    import hashlib

    from catalog.ingest.demo_sources import QUARTETS, SOURCES
    from catalog.models import Artist, Collection, Tag, Track
    from catalog.services import _named

    tracks: list[Track] = []
    tags_of: list[list[str]] = []
    quartet_works = list(QUARTETS.values())
    for key, source in SOURCES.items():
        spec = MIRROR[key]
        collection = _named(Collection, source.collection)
        Collection.objects.filter(pk=collection.pk).update(description=source.description)
        titles: list[str] = []
        for n in range(max(3, round(spec["count"] * scale))):
            artist_name, title = source.artist, ""
            if key == "quartets":
                artist_name, work = quartet_works[n % len(quartet_works)]
                title = f"{work} — {['I', 'II'][n // len(quartet_works)]}"
            elif key == "bach":
                title = f"Chorale BWV {n + 1}.{n % 7 + 1}"
            elif key == "palestrina":
                title = f"Missa {n // 5 + 1} — {MASS[n % 5]}"
            elif key == "monteverdi":
                title = f"Madrigal {3 + n // 6}.{n % 6 + 1}"
            elif titles and rng.random() < COPIES:
                title = rng.choice(titles)  # another setting of a tune already there
            else:
                title = " ".join(rng.sample(FOLK_WORDS, 2)) + f" {n}"
            if key in FORMS:
                titles.append(title)
            tags = list(source.tags)
            roll = rng.random()
            for form, share in FORMS.get(key, []):
                if roll < share:
                    tags.append(form)
                    break
                roll -= share
            tempo = max(40.0, rng.gauss(*spec["tempo"]))
            duration = max(10.0, rng.gauss(*spec["duration"]))
            low = int(rng.gauss(*spec["low"]))
            high = max(low + 7, int(rng.gauss(*spec["high"])))
            digest = hashlib.sha256(f"mirror:{key}:{n}".encode()).hexdigest()
            tracks.append(
                Track(
                    title=title,
                    artist=_named(Artist, artist_name) if artist_name else None,
                    collection=collection,
                    midi_file=f"midi/mirror/{key}-{n}.mid",
                    content_hash=digest,
                    source=f"mirror:{key}#{n}",
                    duration_seconds=duration,
                    tempo_bpm=round(tempo, 1),
                    key=rng.choice(spec["keys"]),
                    time_signature="4/4",
                    instruments=list(spec["instruments"]),
                    note_count=int(duration * max(0.5, rng.gauss(*spec["density"]))),
                    pitch_min=low,
                    pitch_max=high,
                    render_status=Track.RenderStatus.READY,
                )
            )
            tags_of.append(tags)
    Track.objects.bulk_create(tracks, batch_size=500)
    stored = list(Track.objects.order_by("id"))
    through = Track.tags.through
    tag_ids = {name: _named(Tag, name).pk for name in {t for tags in tags_of for t in tags}}
    through.objects.bulk_create(
        [
            through(track_id=track.pk, tag_id=tag_ids[name])
            for track, tags in zip(stored, tags_of, strict=True)
            for name in tags
        ],
        batch_size=1000,
    )
    return len(stored)


def prepare(args) -> str:
    """A migrated database holding the catalog and the demo listeners; its URL."""
    if args.database_url:
        url = args.database_url
    else:
        shutil.rmtree(WORK, ignore_errors=True)
        WORK.mkdir(parents=True)
        if args.catalog_from:  # a copy: the listeners it adds never reach the original
            shutil.copyfile(args.catalog_from, WORK / "db.sqlite3")
        url = f"sqlite:///{WORK / 'db.sqlite3'}"
    _setup_django(url)
    from django.core.management import call_command

    from catalog.models import Track

    call_command("migrate", verbosity=0)
    t0 = time.perf_counter()
    if args.demo:
        from catalog.services_demo import demo_catalog_import

        demo_catalog_import(processes=os.cpu_count() or 2)
    elif not Track.objects.exists():
        mirror_catalog(random.Random(f"mirror:{args.catalog_seed}"))
    seed_demo_listeners()
    print(
        f"catalog: {Track.objects.count()} pieces "
        f"({'the demo mirror' if not (args.demo or args.catalog_from) else 'the demo'}), "
        f"demo listeners seeded in {time.perf_counter() - t0:.1f} s"
    )
    return url


def seed_demo_listeners() -> None:
    """The demo listeners and their histories, as ``make run``'s ``setup_demo`` adds them."""
    from recommender.listening.demo_listeners import TASTES, demo_listener_seed

    for taste in TASTES:
        demo_listener_seed(taste, seed=0)


# --- the listeners -----------------------------------------------------------------------------


def onboarding_offer():
    from accounts.library.onboarding import onboarding_choices

    offered = onboarding_choices()
    return {
        "collections": [c.slug for c in offered.collections],
        "composers": [a.slug for a in offered.composers],
        "tags": [t.slug for t in offered.tags],
        "tempo_ranges": [value for value, _ in offered.tempo_ranges],
    }


def issue_picks() -> dict[str, list[str]]:
    from catalog.models import Artist, Collection, Tag

    return {
        "collections": list(
            Collection.objects.filter(name__in=ISSUE_LISTENER["collections"]).values_list(
                "slug", flat=True
            )
        ),
        "composers": list(
            Artist.objects.filter(name__in=ISSUE_LISTENER["composers"]).values_list(
                "slug", flat=True
            )
        ),
        "tags": list(
            Tag.objects.filter(name__in=ISSUE_LISTENER["tags"]).values_list("slug", flat=True)
        ),
        "tempo_ranges": list(ISSUE_LISTENER["tempo_ranges"]),
    }


def _play(user, track_ids: list[int]) -> None:
    """Report ``track_ids`` as listened to the end, a few minutes apart, oldest first."""
    from django.utils import timezone

    from catalog.models import Track
    from recommender.listening.reports import ListenReport
    from recommender.listening.services import listens_record

    durations = dict(Track.objects.filter(pk__in=track_ids).values_list("pk", "duration_seconds"))
    now = timezone.now()
    reports = []
    for i, tid in enumerate(track_ids):
        played = int(durations[tid] * 1000)
        reports.append(
            ListenReport(
                index=i,
                client_event_id=uuid.uuid4(),
                track_id=tid,
                type="complete",
                started_at=now - timedelta(minutes=5 * (len(track_ids) - i) + 5),
                position_ms=played,
                played_ms=played,
                context="feed",
            )
        )
    listens_record(user=user, reports=reports)


def simulate(name: str, picks: dict[str, list[str]], *, plays: int) -> dict:
    """Sign up one listener with ``picks``, judge their first page, play, judge again."""
    from django.contrib.auth import get_user_model

    from accounts.library.onboarding import onboarding_complete
    from catalog.models import Track
    from recommender.feed.content import catalog_index
    from recommender.feed.context import picks_for
    from recommender.feed.quality import judge_page, pick_matches, specific_picks
    from recommender.feed.services import feed_invalidate, feed_page_serve
    from recommender.listening.services import rating_set

    user = get_user_model().objects.create(username=name)
    onboarding_complete(user=user, **picks)
    t0 = time.perf_counter()
    first = feed_page_serve(user=user, cursor=None, size=FIRST_PAGE)
    build_ms = (time.perf_counter() - t0) * 1000
    index = catalog_index()
    chosen = picks_for(user.pk)
    items = [(i.track_id, i.reason_code, i.reason_text) for i in first.items]
    cold = judge_page(index, chosen, items, history={})

    # They play what they came for first: pieces of their picks, then the rest, in page order.
    specific = specific_picks(chosen, index)
    ids = [i.track_id for i in first.items]
    liked = [t for t in ids if any(pick_matches(index, t, p) for p in specific)]
    played = (liked + [t for t in ids if t not in liked])[:plays]
    _play(user, played)
    if played:
        rating_set(user=user, track=Track.objects.get(pk=played[0]), liked=True)
    feed_invalidate(user_id=user.pk)  # what the feedback hook does once the writes commit
    page = feed_page_serve(user=user, cursor=None, size=FIRST_PAGE)
    after = list(page.items)
    if page.next_cursor is not None:
        after += feed_page_serve(user=user, cursor=page.next_cursor, size=JUDGED - FIRST_PAGE).items
    history: dict[str, list[int]] = {}
    for tid in played:
        info = index.info(tid)
        if info is not None:
            history.setdefault(info.title, []).append(tid)
    warm = judge_page(
        index, chosen, [(i.track_id, i.reason_code, i.reason_text) for i in after], history
    )
    return {
        "name": name,
        "picks": picks,
        "build_ms": build_ms,
        "first_page": [[t, c, r] for t, c, r in items],
        "cold": asdict(cold),
        "warm": asdict(warm),
        "reasons_cold": Counter(r for _, _, r in items).most_common(3),
    }


def _plug_popular_model() -> None:
    """Serve the model-backed sources with the most played pieces, whatever was played."""
    from recommender.feed import sources
    from recommender.feed.context import popularity_ranked

    def provider(user_id: int, recent: list[int], k: int) -> list[tuple[int, float]]:
        ranked = popularity_ranked()[: k + len(recent)]
        return [(tid, score) for tid, score in ranked if tid not in recent][:k]

    sources.register_provider("next", provider)
    sources.register_provider("taste", provider)


def summarise(runs: list[dict]) -> dict:
    with_specific = [r for r in runs if r["cold"]["picks"]]
    anchored = sum(r["warm"]["anchored"] for r in runs)
    return {
        "listeners": len(runs),
        "with_specific_pick": len(with_specific),
        "coverage_share": (
            sum(r["cold"]["covered"] == r["cold"]["picks"] for r in with_specific)
            / max(1, len(with_specific))
        ),
        "picks_covered_share": (
            sum(r["cold"]["covered"] for r in with_specific)
            / max(1, sum(r["cold"]["picks"] for r in with_specific))
        ),
        "first_page_matching_share": (
            sum(r["cold"]["matching_items"] for r in with_specific)
            / max(1, sum(r["cold"]["items"] for r in with_specific))
        ),
        "anchored_reasons": anchored,
        "anchor_holds_share": sum(r["warm"]["holding"] for r in runs) / max(1, anchored),
        "anchor_holds_strict_share": (
            sum(r["warm"]["holding_strict"] for r in runs) / max(1, anchored)
        ),
        "same_title_anchors": sum(r["warm"]["same_title"] for r in runs),
        "top_anchor_max": max((r["warm"]["top_anchor"] for r in runs), default=0),
        "top_anchor_mean": statistics.mean([r["warm"]["top_anchor"] for r in runs] or [0]),
        "pages_with_duplicates": sum(
            1 for r in runs if r["cold"]["duplicates"] or r["warm"]["duplicates"]
        ),
        "first_page_build_p50_ms": statistics.median([r["build_ms"] for r in runs] or [0]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=int(os.environ.get("BENCH_SEEDS", 4)))
    parser.add_argument(
        "--listeners", type=int, default=int(os.environ.get("BENCH_LISTENERS", 50)),
        help="per seed",
    )  # fmt: skip
    parser.add_argument("--plays", type=int, default=5, help="pieces each plays before judging")
    parser.add_argument("--catalog-seed", type=int, default=0)
    parser.add_argument("--demo", action="store_true", help="import the real demo catalog")
    parser.add_argument(
        "--catalog-from", default="", help="a SQLite database to copy the catalog from "
        "(e.g. var/db.sqlite3 after make run), instead of the mirror"
    )  # fmt: skip
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", ""))
    parser.add_argument(
        "--model", choices=("none", "popular"), default="none",
        help="popular: a trained model that learned little (it proposes the most played "
        "pieces) serves the feed's next and taste sources, as on a young site",
    )  # fmt: skip
    parser.add_argument("--verbose", action="store_true", help="print every failing reason")
    args = parser.parse_args()
    prepare(args)
    if args.model == "popular":
        _plug_popular_model()
    from tqdm import tqdm

    choices = onboarding_offer()
    per_seed, runs = [], []
    for seed in range(args.seeds):
        rng = random.Random(f"feed-picks:{seed}")
        seed_runs = []
        for n in tqdm(range(args.listeners), desc=f"seed {seed}", unit="listener", leave=False):
            picks = issue_picks() if n == 0 else sample_picks(rng, choices)
            seed_runs.append(simulate(f"sim-{seed}-{n}", picks, plays=args.plays))
        runs.extend(seed_runs)
        per_seed.append(summarise(seed_runs))
        s = per_seed[-1]
        print(
            f"seed {seed}: every specific pick on page 1 {s['coverage_share']:.2f}, "
            f"anchors hold {s['anchor_holds_share']:.2f} of {s['anchored_reasons']}, "
            f"page 1 matching a pick {s['first_page_matching_share']:.2f}"
        )
    overall = summarise(runs)
    issue = [r for r in runs if r["name"].endswith("-0")]
    print()
    print(
        f"listeners {overall['listeners']} ({args.seeds} seeds), "
        f"{overall['with_specific_pick']} with a specific pick"
    )
    print(
        f"every specific pick on the first page  {overall['coverage_share']:.2f}   "
        f"goal >= {GOAL_COVERAGE:.2f}  (picks covered {overall['picks_covered_share']:.2f}, "
        f"page 1 matching a pick {overall['first_page_matching_share']:.2f})"
    )
    print(
        f"reasons whose anchor holds             {overall['anchor_holds_share']:.2f}   "
        f"goal >= {GOAL_ANCHORS:.2f}  ({overall['anchored_reasons']} anchored reasons; "
        f"without 'same composer' {overall['anchor_holds_strict_share']:.2f})"
    )
    print(
        f"one anchor's reasons in 24 items: max {overall['top_anchor_max']}, "
        f"mean {overall['top_anchor_mean']:.1f}; anchors with the item's own title "
        f"{overall['same_title_anchors']}; pages with a piece twice "
        f"{overall['pages_with_duplicates']}"
    )
    first = issue[0]
    print(
        f"the issue's listener: {first['cold']['covered']}/{first['cold']['picks']} picks on "
        f"page 1 ({', '.join(first['cold']['uncovered']) or 'none missing'}); "
        f"top reasons {first['reasons_cold']}"
    )
    print(f"first page build p50 {overall['first_page_build_p50_ms']:.1f} ms (cold listener)")
    if args.verbose:
        for r in runs:
            for failure in r["warm"]["failures"]:
                print(f"  {r['name']}: {failure}")
            if r["cold"]["uncovered"]:
                print(f"  {r['name']}: page 1 lacks {', '.join(r['cold']['uncovered'])}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps(
            {
                "overall": overall,
                "per_seed": per_seed,
                "goals": {"coverage_share": GOAL_COVERAGE, "anchor_holds_share": GOAL_ANCHORS},
                "settings": {**vars(args), "first_page": FIRST_PAGE, "judged": JUDGED},
                "catalog": "mirror" if not (args.demo or args.catalog_from) else "demo",
                "issue_listener": issue,
                "failures": [
                    {"listener": r["name"], "uncovered": r["cold"]["uncovered"],
                     "reasons": r["warm"]["failures"]}
                    for r in runs if r["cold"]["uncovered"] or r["warm"]["failures"]
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
    )  # fmt: skip
    print(f"wrote {RESULTS.relative_to(ROOT)}")


def sample_picks(rng: random.Random, choices: dict[str, list[str]]) -> dict[str, list[str]]:
    from recommender.feed.quality import sample_picks as sample

    return sample(
        rng,
        collections=choices["collections"],
        composers=choices["composers"],
        tags=choices["tags"],
        tempo_ranges=choices["tempo_ranges"],
    )


if __name__ == "__main__":
    main()
