"""The committed openapi.yaml is the API's schema as generated now, and a breaking change to it
(a removed path, operation, response field or enum value, a changed type) comes with a new
API version. `make schema` rewrites the file (and refuses a break that keeps the version)."""

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.drainage import GENERATOR_STATS

from musicsite.schema_diff import breaking_changes, version_changed

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.yaml"
SHOWN = 10  # differences listed in a failure message


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict:
    """The schema as `make schema` writes it (validated, no warnings), parsed."""
    target = tmp_path_factory.mktemp("schema") / "openapi.yaml"
    GENERATOR_STATS.reset()  # warnings other tests' schemas left behind
    call_command("spectacular", validate=True, fail_on_warn=True, file=str(target))
    return yaml.safe_load(target.read_text())


@pytest.fixture(scope="module")
def committed() -> dict:
    assert COMMITTED.exists(), "openapi.yaml is not committed: run `make schema`"
    return yaml.safe_load(COMMITTED.read_text())


def differences(old: object, new: object, at: str = "") -> list[str]:
    """Where two parsed YAML documents differ, as key paths ("paths > /x/ > get")."""
    if isinstance(old, dict) and isinstance(new, dict):
        found = []
        for key in sorted(old.keys() | new.keys(), key=str):
            where = f"{at} > {key}" if at else str(key)
            if key not in new:
                found.append(f"{where} (only in openapi.yaml)")
            elif key not in old:
                found.append(f"{where} (only in the generated schema)")
            else:
                found.extend(differences(old[key], new[key], where))
        return found
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        pairs = enumerate(zip(old, new, strict=True))
        return [d for i, (a, b) in pairs for d in differences(a, b, f"{at} > {i}")]
    return [] if old == new else [at or "(the whole document)"]


def test_the_committed_schema_is_the_generated_one(committed, generated):
    found = differences(committed, generated)
    listed = "\n  ".join(found[:SHOWN])
    if len(found) > SHOWN:
        listed += f"\n  ... and {len(found) - SHOWN} more"
    assert not found, (
        f"openapi.yaml is not the API's schema: run `make schema` and commit it. "
        f"{len(found)} difference(s), first:\n  {listed}"
    )


def test_no_breaking_change_without_a_new_api_version(committed, generated):
    found = breaking_changes(committed, generated)
    if version_changed(committed, generated):
        return
    assert not found, (
        f"{len(found)} breaking change(s) against openapi.yaml with info.version still "
        f"{generated['info']['version']}: keep the old fields/values/paths, or bump "
        'SPECTACULAR_SETTINGS["VERSION"] in musicsite/settings.py and run `make schema`:\n  '
        + "\n  ".join(found)
    )


def test_the_difference_listing_names_the_changed_paths():
    old = {"paths": {"/a/": {"get": {"x": 1}}, "/b/": {}}, "tags": [1, 2]}
    new = {"paths": {"/a/": {"get": {"x": 2}}, "/c/": {}}, "tags": [1, 3]}
    assert differences(old, new) == [
        "paths > /a/ > get > x",
        "paths > /b/ (only in openapi.yaml)",
        "paths > /c/ (only in the generated schema)",
        "tags > 1",
    ]
