"""musicsite.schema_diff on tiny schemas: what breaks a client written against the old one."""

import copy

from musicsite.schema_diff import breaking_changes, main, version_changed


def _schema() -> dict:
    """One GET whose 200 is a Track: an id, a status enum, tags and a recursive parent."""
    track = {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "status": {"$ref": "#/components/schemas/StatusEnum"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "parent": {"allOf": [{"$ref": "#/components/schemas/Track"}], "nullable": True},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1.0.0"},
        "paths": {
            "/tracks/": {
                "get": {
                    "parameters": [
                        {"name": "order", "in": "query", "schema": {"enum": ["new", "top"]}}
                    ],
                    "responses": {
                        "200": {
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Track"}
                                }
                            }
                        },
                        "400": {"description": "bad"},
                    },
                }
            }
        },
        "components": {
            "schemas": {
                "Track": track,
                "StatusEnum": {"type": "string", "enum": ["queued", "done"]},
            }
        },
    }


def test_the_same_schema_breaks_nothing():
    assert breaking_changes(_schema(), _schema()) == []


def test_an_added_field_path_or_enum_value_breaks_nothing():
    new = _schema()
    new["components"]["schemas"]["Track"]["properties"]["title"] = {"type": "string"}
    new["components"]["schemas"]["StatusEnum"]["enum"].append("failed")
    new["paths"]["/playlists/"] = copy.deepcopy(new["paths"]["/tracks/"])
    new["paths"]["/tracks/"]["post"] = {"responses": {"201": {"description": "made"}}}
    assert breaking_changes(_schema(), new) == []


def test_a_removed_enum_value_breaks():
    new = _schema()
    new["components"]["schemas"]["StatusEnum"]["enum"] = ["queued"]
    assert breaking_changes(_schema(), new) == [
        "removed enum value GET /tracks/ 200 application/json status: 'done'"
    ]


def test_a_removed_query_parameter_value_breaks():
    new = _schema()
    new["paths"]["/tracks/"]["get"]["parameters"][0]["schema"]["enum"] = ["new"]
    assert breaking_changes(_schema(), new) == [
        "removed enum value GET /tracks/ parameter query:order: 'top'"
    ]


def test_a_changed_type_breaks_even_deep_in_an_array():
    new = _schema()
    new["components"]["schemas"]["Track"]["properties"]["id"] = {"type": "string"}
    new["components"]["schemas"]["Track"]["properties"]["tags"]["items"] = {"type": "integer"}
    assert breaking_changes(_schema(), new) == [
        "changed type GET /tracks/ 200 application/json id: integer -> string",
        "changed type GET /tracks/ 200 application/json tags[]: string -> integer",
    ]


def test_a_removed_response_field_breaks_but_a_removed_error_response_does_not():
    new = _schema()
    del new["components"]["schemas"]["Track"]["properties"]["tags"]
    del new["paths"]["/tracks/"]["get"]["responses"]["400"]
    assert breaking_changes(_schema(), new) == [
        "removed property GET /tracks/ 200 application/json tags",
        "removed property GET /tracks/ 200 application/json parent.tags",  # then stops: recursive
    ]


def test_removed_paths_operations_and_responses_break():
    old = _schema()
    old["paths"]["/tracks/"]["delete"] = {"responses": {"204": {"description": "gone"}}}
    old["paths"]["/old/"] = {"get": {"responses": {}}}
    new = _schema()
    del new["paths"]["/tracks/"]["get"]["responses"]["200"]
    assert breaking_changes(old, new) == [
        "removed response GET /tracks/ 200",
        "removed operation DELETE /tracks/",
        "removed path /old/",
    ]


def test_the_command_refuses_a_break_unless_the_version_changes(tmp_path, capsys):
    import yaml

    new = _schema()
    del new["paths"]["/tracks/"]
    paths = {name: tmp_path / f"{name}.yaml" for name in ("old", "same", "bumped")}
    paths["old"].write_text(yaml.safe_dump(_schema()))
    paths["same"].write_text(yaml.safe_dump(new))
    new["info"]["version"] = "2.0.0"
    paths["bumped"].write_text(yaml.safe_dump(new))

    assert main([str(paths["old"]), str(paths["same"])]) == 1
    assert "bump the" in capsys.readouterr().out
    assert main([str(paths["old"]), str(paths["bumped"])]) == 0
    assert version_changed(_schema(), new)
