"""Loading network configuration lists: libcni's directory rules, version pick, flags and errors."""

from __future__ import annotations

import json

import pytest

from libcni.client import gojson
from libcni.client.conf import (
    NoConfigsFound,
    NotFound,
    conflist_from_bytes,
    list_networks,
    load_network_conf,
)
from libcni.errors import CNIError


def write(path, doc):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def lst(name, *types, version="1.0.0", **extra):
    return {"cniVersion": version, "name": name, **extra, "plugins": [{"type": t} for t in types]}


def test_conflists_first_sorted_by_path_first_match_wins(tmp_path):
    write(tmp_path / "20-b.conflist", lst("net", "second"))
    write(tmp_path / "10-a.conflist", lst("net", "first"))
    write(tmp_path / "00-x.conf", {"cniVersion": "1.0.0", "name": "net", "type": "legacy"})
    write(tmp_path / "sub.conflist" / "ignored", "{}")  # a directory with the extension is skipped
    found = load_network_conf(str(tmp_path), "net")
    assert [p.type for p in found.plugins] == ["first"]
    assert found.source == str(tmp_path / "10-a.conflist")
    assert found.data == (tmp_path / "10-a.conflist").read_bytes()


def test_parse_error_in_earlier_conflist_aborts(tmp_path):
    write(tmp_path / "10-broken.conflist", "{nope")
    write(tmp_path / "20-ok.conflist", lst("net", "x"))
    with pytest.raises(CNIError, match="error parsing"):
        load_network_conf(str(tmp_path), "net")


def test_legacy_conf_upconverted(tmp_path):
    write(tmp_path / "10-other.conflist", lst("other", "x"))
    obj = {"cniVersion": "0.3.1", "name": "old", "type": "bridge", "ipam": {"type": "host-local", "x": "<&>"}}
    write(tmp_path / "50-old.json", obj)
    found = load_network_conf(str(tmp_path), "old")
    assert found.name == "old" and found.cni_version == "0.3.1"
    assert [p.raw for p in found.plugins] == [obj]
    # The cached bytes are Go's re-marshalled list: sorted keys, compact, HTML-escaped.
    assert found.data == (
        b'{"cniVersion":"0.3.1","name":"old","plugins":[{"cniVersion":"0.3.1","ipam":{"type":"host-local",'
        b'"x":"\\u003c\\u0026\\u003e"},"name":"old","type":"bridge"}]}'
    )


def test_not_found_errors(tmp_path):
    with pytest.raises(NoConfigsFound, match="no net configurations found in"):
        load_network_conf(str(tmp_path / "missing"), "x")
    write(tmp_path / "10-a.conflist", lst("a", "x"))
    with pytest.raises(NotFound, match='no net configuration with name "x" in'):
        load_network_conf(str(tmp_path), "x")
    write(tmp_path / "20-b.conf", {"name": "b"})
    with pytest.raises(CNIError, match="missing 'type'"):
        load_network_conf(str(tmp_path), "b")


@pytest.mark.parametrize(
    ("versions", "version", "expected"),
    [
        (["0.4.0", "1.0.0", "1.1.0"], "", "1.1.0"),
        (["0.4.0", "9.9.9"], "", "0.4.0"),  # newer than we implement: skipped
        (["0.4.0"], "1.0.0", "1.0.0"),
        ([], "", ""),
        (None, "9.0.0", "9.0.0"),  # a lone cniVersion is not capped
    ],
)
def test_cni_versions_pick_highest_supported(versions, version, expected):
    doc = {"name": "n", "plugins": [{"type": "x"}], "cniVersion": version}
    if versions is not None:
        doc["cniVersions"] = versions
    assert conflist_from_bytes(json.dumps(doc).encode()).cni_version == expected


def test_flags_and_bad_lists():
    base = {"name": "n", "cniVersion": "1.1.0", "plugins": [{"type": "x"}]}
    parsed = conflist_from_bytes(json.dumps(base | {"disableCheck": "True", "disableGC": True}).encode())
    assert parsed.disable_check and parsed.disable_gc
    for bad, message in [
        (base | {"disableCheck": "yes"}, "invalid disableCheck"),
        (base | {"plugins": []}, "non-empty"),
        ({"cniVersion": "1.1.0", "plugins": [{"type": "x"}]}, "no name"),
        (base | {"plugins": [{"type": "a/b"}]}, "invalid plugin type"),
        (base | {"plugins": [{"type": "x", "capabilities": {"portMappings": "yes"}}]}, "capabilities"),
        (base | {"cniVersions": ["1.x"]}, "invalid cniVersions entry"),
        ({"name": "n", "loadOnlyInlinedPlugins": True}, "no 'plugins' key"),
    ]:
        with pytest.raises(CNIError, match=message):
            conflist_from_bytes(json.dumps(bad).encode())


def test_sibling_folder_plugins(tmp_path):
    write(tmp_path / "10-n.conflist", lst("n", "inline"))
    write(tmp_path / "n" / "20-b.conf", {"type": "sib2"})
    write(tmp_path / "n" / "10-a.conf", {"type": "sib1"})
    write(tmp_path / "n" / "notes.txt", "ignored")
    found = load_network_conf(str(tmp_path), "n")
    assert [p.type for p in found.plugins] == ["inline", "sib1", "sib2"]
    assert json.loads(found.data)["plugins"] == [{"type": "inline"}]  # cached bytes: the file only
    write(tmp_path / "10-n.conflist", lst("n", "inline", loadOnlyInlinedPlugins=True))
    assert [p.type for p in load_network_conf(str(tmp_path), "n").plugins] == ["inline"]
    write(tmp_path / "10-n.conflist", {"cniVersion": "1.1.0", "name": "n"})  # plugins only from the folder
    assert [p.type for p in load_network_conf(str(tmp_path), "n").plugins] == ["sib1", "sib2"]
    write(tmp_path / "n" / "30-bad.conf", {"name": "no type"})
    with pytest.raises(CNIError, match="missing 'type'"):
        load_network_conf(str(tmp_path), "n")


def test_list_networks_reports_each_file(tmp_path):
    write(tmp_path / "10-a.conflist", lst("a", "x", "y"))
    write(tmp_path / "20-bad.conflist", "[]")
    write(tmp_path / "30-c.conf", {"name": "c", "type": "z"})
    rows = list_networks(str(tmp_path))
    assert [r[0].rsplit("/", 1)[1] for r in rows] == ["10-a.conflist", "20-bad.conflist", "30-c.conf"]
    assert rows[0][1].name == "a" and isinstance(rows[1][1], CNIError) and rows[2][1].name == "c"


def test_gojson_matches_go_encoding():
    assert gojson.marshal({"b": 1.0, "a": ["<x>", "é\u2028"]}) == '{"a":["\\u003cx\\u003e","é\\u2028"],"b":1}'.encode()
    assert gojson.marshal({"b": 1, "a": 2}, sort_keys=False) == b'{"b":1,"a":2}'
