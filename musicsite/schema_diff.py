"""Breaking changes between two OpenAPI 3 schemas (plain dicts, as parsed from YAML).

A change breaks a client written against the old schema when it removes a path, an operation,
a 2xx response or its media type, a property of a 2xx response body or an enum value, or when
it changes a type (or a format both sides name). Additions never break. Request bodies and
parameters are checked for type changes and removed enum values only (dropping a field a client
may send is not a break). Pure: no Django, no I/O; `python -m musicsite.schema_diff OLD NEW`
prints the breaks and exits 1 when there are some and `info.version` is the same.
"""

import sys
from collections.abc import Iterator, Mapping
from typing import Any

Schema = Mapping[str, Any]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_BRANCHES = ("allOf", "oneOf", "anyOf")


def breaking_changes(old: Schema, new: Schema) -> list[str]:
    """What `new` breaks of `old`, one line each ("removed path /x/", "GET /x/ 200 ...")."""
    found: list[str] = []
    new_paths = new.get("paths") or {}
    for url, old_item in (old.get("paths") or {}).items():
        if url not in new_paths:
            found.append(f"removed path {url}")
            continue
        for method in HTTP_METHODS:
            if method not in old_item:
                continue
            name = f"{method.upper()} {url}"
            if method not in new_paths[url]:
                found.append(f"removed operation {name}")
                continue
            walk = _Walk(old, new, found)
            walk.operation(name, old_item[method], new_paths[url][method])
    return found


def version_changed(old: Schema, new: Schema) -> bool:
    """Whether `info.version` differs between the two schemas."""
    return (old.get("info") or {}).get("version") != (new.get("info") or {}).get("version")


class _Walk:
    """Compares the schemas under one operation, resolving `$ref`s on each side."""

    def __init__(self, old: Schema, new: Schema, found: list[str]) -> None:
        self.old_root, self.new_root, self.found = old, new, found
        self.seen: set[tuple[tuple[int, ...], tuple[int, ...], bool]] = set()

    def operation(self, name: str, old: Schema, new: Schema) -> None:
        """Responses (2xx) fully; request bodies and parameters for types and enums."""
        new_responses = new.get("responses") or {}
        for status, old_response in (old.get("responses") or {}).items():
            if not str(status).startswith("2"):
                continue
            if status not in new_responses:
                self.found.append(f"removed response {name} {status}")
                continue
            self.content(f"{name} {status}", old_response, new_responses[status], True)
        if "requestBody" in old and "requestBody" in new:
            self.content(f"{name} request", old["requestBody"], new["requestBody"], False)
        new_parameters = {_key(p, self.new_root): p for p in new.get("parameters") or []}
        for parameter in old.get("parameters") or []:
            key = _key(parameter, self.old_root)
            if key in new_parameters:
                old_p = _resolve(parameter, self.old_root)
                new_p = _resolve(new_parameters[key], self.new_root)
                where = f"{name} parameter {key[1]}:{key[0]}"
                self.node(where, "", old_p.get("schema") or {}, new_p.get("schema") or {}, False)

    def content(self, where: str, old: Schema, new: Schema, response: bool) -> None:
        """Each media type of a response or request body; a removed one breaks a response."""
        old, new = _resolve(old, self.old_root), _resolve(new, self.new_root)
        new_content = new.get("content") or {}
        for media_type, old_media in (old.get("content") or {}).items():
            if media_type not in new_content:
                if response:
                    self.found.append(f"removed media type {where} {media_type}")
                continue
            old_schema = old_media.get("schema") or {}
            new_schema = new_content[media_type].get("schema") or {}
            self.node(f"{where} {media_type}", "", old_schema, new_schema, response)

    def node(self, where: str, field: str, old: Schema, new: Schema, response: bool) -> None:
        """Types, enum values and (in responses) properties of the node at `field` (a dotted
        path such as "results[].title" under `where`), then the nodes below it."""
        old_parts = list(_parts(old, self.old_root))
        new_parts = list(_parts(new, self.new_root))
        visit = (tuple(map(id, old_parts)), tuple(map(id, new_parts)), response)
        if visit in self.seen:  # this pair compared already (a component used twice, or recursive)
            return
        self.seen.add(visit)
        at = f"{where} {field}".rstrip()
        self._types(at, old_parts, new_parts)
        self._enums(at, old_parts, new_parts)
        old_props, new_props = _merged(old_parts, "properties"), _merged(new_parts, "properties")
        for prop, old_prop in old_props.items():
            below = f"{field}.{prop}" if field else prop
            if prop in new_props:
                self.node(where, below, old_prop, new_props[prop], response)
            elif response:
                self.found.append(f"removed property {where} {below}")
        for key, suffix in (("items", "[]"), ("additionalProperties", "{}")):
            old_sub, new_sub = _first(old_parts, key), _first(new_parts, key)
            if old_sub is not None and new_sub is not None:
                self.node(where, f"{field}{suffix}", old_sub, new_sub, response)

    def _types(self, where: str, old_parts: list[Schema], new_parts: list[Schema]) -> None:
        old_types, new_types = _values(old_parts, "type"), _values(new_parts, "type")
        if old_types and new_types and not old_types <= new_types:
            self.found.append(f"changed type {where}: {_show(old_types)} -> {_show(new_types)}")
            return
        old_formats, new_formats = _values(old_parts, "format"), _values(new_parts, "format")
        if old_formats and new_formats and old_formats != new_formats:
            self.found.append(
                f"changed format {where}: {_show(old_formats)} -> {_show(new_formats)}"
            )

    def _enums(self, where: str, old_parts: list[Schema], new_parts: list[Schema]) -> None:
        old_values = [v for part in old_parts for v in part.get("enum") or []]
        new_values = [v for part in new_parts for v in part.get("enum") or []]
        if not new_values:  # no enum any more: every value is still accepted
            return
        for value in old_values:
            if value not in new_values:
                self.found.append(f"removed enum value {where}: {value!r}")


def _resolve(node: Schema, root: Schema) -> Schema:
    """`node` itself, or what its local `$ref` ("#/components/...") points to."""
    seen: set[str] = set()
    while isinstance(node, Mapping) and "$ref" in node and node["$ref"] not in seen:
        seen.add(node["$ref"])
        target: Any = root
        for step in str(node["$ref"]).removeprefix("#/").split("/"):
            target = target.get(step, {}) if isinstance(target, Mapping) else {}
        node = target
    return node if isinstance(node, Mapping) else {}


def _parts(node: Schema, root: Schema) -> Iterator[Schema]:
    """A node and every allOf/oneOf/anyOf branch below it, each resolved."""
    node = _resolve(node, root)
    yield node
    for branch in _BRANCHES:
        for sub in node.get(branch) or []:
            yield from _parts(sub, root)


def _values(parts: list[Schema], key: str) -> set[str]:
    return {str(part[key]) for part in parts if key in part}


def _merged(parts: list[Schema], key: str) -> dict[str, Schema]:
    merged: dict[str, Schema] = {}
    for part in parts:
        merged.update(part.get(key) or {})
    return merged


def _first(parts: list[Schema], key: str) -> Schema | None:
    return next((part[key] for part in parts if isinstance(part.get(key), Mapping)), None)


def _key(parameter: Schema, root: Schema) -> tuple[str, str]:
    resolved = _resolve(parameter, root)
    return str(resolved.get("name")), str(resolved.get("in"))


def _show(values: set[str]) -> str:
    return "|".join(sorted(values))


def main(argv: list[str]) -> int:
    """Print the breaks from OLD to NEW; 1 when there are some and the version is the same."""
    import yaml

    old_path, new_path = argv
    with open(old_path) as old_file, open(new_path) as new_file:
        old, new = yaml.safe_load(old_file), yaml.safe_load(new_file)
    found = breaking_changes(old, new)
    for line in found:
        print(line)
    if found and not version_changed(old, new):
        version = (new.get("info") or {}).get("version")
        print(f"{len(found)} breaking change(s) and info.version is still {version}: bump the")
        print('API version (SPECTACULAR_SETTINGS["VERSION"] in musicsite/settings.py).')
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
