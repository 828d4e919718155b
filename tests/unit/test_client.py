"""libcni.client run against fake plugins that record argv, env and stdin (see test_client_fakes.py):
ordering, prevResult, capability filtering, the cache layout, DEL/CHECK/GC/STATUS rules, error wrapping."""

from __future__ import annotations

import base64
import json
import os
import stat

import pytest

from libcni.client import cache
from libcni.client.api import CNIConfig, MultiError, PluginError, RuntimeConf
from libcni.client.conf import conflist_from_bytes
from libcni.errors import CNIError
from tests.unit.test_client_fakes import clear_calls, make_plugins, read_calls

RT = RuntimeConf(container_id="ctr1", netns="/run/netns/x", ifname="eth0")


@pytest.fixture
def env(tmp_path):
    log = make_plugins(tmp_path / "bin", "a", "b", "c")
    client = CNIConfig(
        [str(tmp_path / "empty"), str(tmp_path / "bin")],
        cache_dir=str(tmp_path / "cache"),
        environ={"PATH": "/usr/bin:/bin", "FAKE_MARK": "parent", "CNI_COMMAND": "stale"},
    )
    return client, log


def conflist(plugins, version="1.1.0", **extra):
    doc = {"cniVersion": version, "name": "net1", **extra, "plugins": plugins}
    return conflist_from_bytes(json.dumps(doc, indent=2).encode() + b"\n")


def chain(version="1.1.0", **extra):
    return conflist(
        [
            {"type": "a"},
            {"type": "b", "capabilities": {"portMappings": True, "mac": False}},
            {"type": "c", "name": "third"},
        ],
        version,
        **extra,
    )


def test_add_runs_in_order_with_prev_result_and_env(env):
    client, log = env
    rt = RuntimeConf("ctr1", "/run/netns/x", "eth0", (("K8S_POD_NAME", "p"), ("IgnoreUnknown", "1")))
    result = client.add_network_list(chain(), rt)
    calls = read_calls(log)
    assert [c["plugin"] for c in calls] == ["a", "b", "c"]
    assert [i.name for i in result.interfaces] == ["a", "b", "c"]
    assert "prevResult" not in calls[0]["stdin"]
    assert [i["name"] for i in calls[1]["stdin"]["prevResult"]["interfaces"]] == ["a"]
    assert [i["name"] for i in calls[2]["stdin"]["prevResult"]["interfaces"]] == ["a", "b"]
    for call in calls:
        assert call["stdin"]["name"] == "net1" and call["stdin"]["cniVersion"] == "1.1.0"
        assert call["env"] == {
            "CNI_COMMAND": "ADD",
            "CNI_CONTAINERID": "ctr1",
            "CNI_NETNS": "/run/netns/x",
            "CNI_IFNAME": "eth0",
            "CNI_ARGS": "K8S_POD_NAME=p;IgnoreUnknown=1",
            "CNI_PATH": client.path[0] + ":" + client.path[1],
            "FAKE_MARK": "parent",
        }
    # A plugin's own name in a list is overridden by the list's name.
    assert calls[2]["stdin"]["name"] == "net1"


def test_capabilities_filtered_into_runtime_config(env):
    client, log = env
    rt = RuntimeConf(
        "ctr1",
        "/run/netns/x",
        "eth0",
        capability_args={
            "portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}],
            "mac": "c2:11:22:33:44:55",
            "bandwidth": {"ingressRate": 1},
        },
    )
    client.add_network_list(chain(), rt)
    a, b, c = (call["stdin"] for call in read_calls(log))
    assert "runtimeConfig" not in a and "runtimeConfig" not in c  # no declared capability: no key at all
    assert b["runtimeConfig"] == {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}
    assert b["capabilities"] == {"portMappings": True, "mac": False}  # passed through unchanged (D4)


def test_add_failure_wraps_error_keeps_code_and_stops(env):
    client, log = env
    bad = {"type": "b", "fake": {"fail": {"ADD": {"code": 7, "msg": "bad config", "details": "key x"}}}}
    with pytest.raises(PluginError) as exc:
        client.add_network_list(conflist([{"type": "a"}, bad, {"type": "c"}]), RT)
    assert exc.value.code == 7 and exc.value.plugin.type == "b" and exc.value.verb == "add"
    assert str(exc.value) == 'plugin type="b" failed (add): bad config; key x'
    assert [c["plugin"] for c in read_calls(log)] == ["a", "b"]  # no DEL, no third plugin
    assert not os.path.exists(cache.cache_path(client.cache_dir, "net1", "ctr1", "eth0"))


def test_add_validates_runtime_before_exec(env):
    client, log = env
    for rt, code in (
        (RuntimeConf("", "/x", "eth0"), 3),
        (RuntimeConf("bad/id", "/x", "eth0"), 4),
        (RuntimeConf("c", "/x", "a-very-long-ifname"), 4),
    ):
        with pytest.raises(PluginError) as exc:
            client.add_network_list(chain(), rt)
        assert exc.value.code == code
    with pytest.raises(PluginError, match='failed to find plugin "nope"'):
        client.add_network_list(conflist([{"type": "nope"}]), RT)
    assert read_calls(log) == []


def test_unparsable_plugin_error_output(env, tmp_path):
    client, _log = env
    script = tmp_path / "bin" / "garbage"
    script.write_text("#!/bin/sh\necho not-json\necho oops >&2\nexit 3\n")
    script.chmod(0o755)
    with pytest.raises(PluginError) as exc:
        client.add_network_list(conflist([{"type": "garbage"}]), RT)
    assert exc.value.code == 0 and "error parsing its diagnostic message" in str(exc.value)


def test_cache_file_layout(env):
    client, _log = env
    net = chain()
    rt = RuntimeConf("ctr1", "/run/netns/x", "eth0", (("A", "1"),), {"portMappings": [{"hostPort": 1}]})
    client.add_network_list(net, rt)
    path = os.path.join(client.cache_dir, "results", "net1-ctr1-eth0")
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    raw = open(path, "rb").read()
    doc = json.loads(raw)
    assert list(doc) == [
        "kind",
        "containerId",
        "config",
        "ifName",
        "networkName",
        "netns",
        "cniArgs",
        "capabilityArgs",
        "result",
    ]
    assert doc["kind"] == "cniCacheV1" and base64.b64decode(doc["config"]) == net.data
    assert doc["cniArgs"] == [["A", "1"]]
    assert list(doc["result"]) == sorted(doc["result"])  # a Go map: sorted keys
    assert b" " not in raw.replace(b'"10.0.0.2/24"', b"")  # compact
    # Empty netns, args and capability args are omitted, as Go's omitempty does.
    client.add_network_list(net, RuntimeConf("ctr2", "", "eth1"))
    doc2 = json.loads(open(os.path.join(client.cache_dir, "results", "net1-ctr2-eth1"), "rb").read())
    assert list(doc2) == ["kind", "containerId", "config", "ifName", "networkName", "result"]


def test_del_reverse_with_cached_result_then_cache_removed(env):
    client, log = env
    client.add_network_list(chain(), RT)
    clear_calls(log)
    client.del_network_list(chain(), RT)
    calls = read_calls(log)
    assert [c["plugin"] for c in calls] == ["c", "b", "a"]
    for call in calls:
        assert call["env"]["CNI_COMMAND"] == "DEL"
        assert [i["name"] for i in call["stdin"]["prevResult"]["interfaces"]] == ["a", "b", "c"]
    assert not os.path.exists(cache.cache_path(client.cache_dir, "net1", "ctr1", "eth0"))
    # Idempotent: a second DEL runs without prevResult and succeeds.
    clear_calls(log)
    client.del_network_list(chain(), RT)
    assert all("prevResult" not in c["stdin"] for c in read_calls(log))


def test_del_converts_cached_result_to_list_version(env):
    client, log = env
    client.add_network_list(chain("1.0.0"), RT)
    clear_calls(log)
    client.del_network_list(chain("0.4.0"), RT)
    prev = read_calls(log)[0]["stdin"]["prevResult"]
    assert prev["cniVersion"] == "0.4.0" and prev["ips"][0]["version"] == "4"


def test_del_corrupt_cache_is_dropped_and_old_versions_get_no_prev_result(env):
    client, log = env
    path = cache.cache_path(client.cache_dir, "net1", "ctr1", "eth0")
    os.makedirs(os.path.dirname(path))
    open(path, "w").write("{not json")
    client.del_network_list(chain(), RT)
    assert not os.path.exists(path)
    assert all("prevResult" not in c["stdin"] for c in read_calls(log))
    client.add_network_list(chain("0.3.1"), RT)
    clear_calls(log)
    client.del_network_list(chain("0.3.1"), RT)
    assert all("prevResult" not in c["stdin"] for c in read_calls(log))


def test_del_failure_wrapped(env):
    client, _log = env
    bad = conflist([{"type": "a"}, {"type": "b", "fake": {"fail": {"DEL": {"code": 11, "msg": "busy"}}}}])
    with pytest.raises(PluginError, match=r'plugin type="b" failed \(delete\): busy') as exc:
        client.del_network_list(bad, RT)
    assert exc.value.code == 11


def test_legacy_bare_result_cache_is_read(env):
    client, log = env
    path = cache.cache_path(client.cache_dir, "net1", "ctr1", "eth0")
    os.makedirs(os.path.dirname(path))
    open(path, "w").write(json.dumps({"cniVersion": "0.4.0", "ips": [{"version": "4", "address": "10.1.1.1/24"}]}))
    client.check_network_list(chain("1.0.0"), RT)
    prev = read_calls(log)[0]["stdin"]["prevResult"]
    assert prev["cniVersion"] == "1.0.0" and prev["ips"] == [{"address": "10.1.1.1/24"}]


def test_check_rules(env):
    client, log = env
    with pytest.raises(CNIError, match='configuration version "0.3.1" does not support the CHECK command'):
        client.check_network_list(chain("0.3.1", disableCheck=True), RT)  # version gate comes first
    client.check_network_list(chain(disableCheck="TRUE"), RT)
    assert read_calls(log) == []
    client.add_network_list(chain(), RT)
    clear_calls(log)
    client.check_network_list(chain(), RT)
    calls = read_calls(log)
    assert [c["plugin"] for c in calls] == ["a", "b", "c"]
    assert all(c["env"]["CNI_COMMAND"] == "CHECK" and c["stdin"]["prevResult"]["interfaces"] for c in calls)
    bad = conflist([{"type": "a", "fake": {"fail": {"CHECK": {"code": 999, "msg": "gone"}}}}, {"type": "b"}])
    clear_calls(log)
    with pytest.raises(PluginError, match=r"failed \(check\): gone"):
        client.check_network_list(bad, RT)
    assert [c["plugin"] for c in read_calls(log)] == ["a"]


def test_gc_deletes_stale_attachments_and_sends_valid_list(env):
    client, log = env
    net = chain()
    stale = RuntimeConf("old", "/run/netns/old", "eth0", (("K", "v"),), {"portMappings": [{"hostPort": 9}]})
    client.add_network_list(net, stale)
    client.add_network_list(net, RT)
    client.add_network_list(
        conflist_from_bytes(b'{"cniVersion":"1.1.0","name":"net2","plugins":[{"type":"a"}]}'),
        RuntimeConf("zzz", "/n", "eth0"),
    )
    clear_calls(log)
    client.gc_network_list(net, [("ctr1", "eth0")])
    calls = read_calls(log)
    dels = [c for c in calls if c["env"]["CNI_COMMAND"] == "DEL"]
    assert [c["plugin"] for c in dels] == ["c", "b", "a"]
    assert all(c["env"]["CNI_CONTAINERID"] == "old" and c["env"]["CNI_NETNS"] == "/run/netns/old" for c in dels)
    assert dels[0]["env"]["CNI_ARGS"] == "K=v"
    assert dels[1]["stdin"]["runtimeConfig"] == {"portMappings": [{"hostPort": 9}]}
    gcs = [c for c in calls if c["env"]["CNI_COMMAND"] == "GC"]
    assert [c["plugin"] for c in gcs] == ["a", "b", "c"]
    for call in gcs:
        listed = [{"containerID": "ctr1", "ifname": "eth0"}]
        assert call["stdin"]["cni.dev/valid-attachments"] == listed and call["stdin"]["cni.dev/attachments"] == listed
        assert (
            call["env"]["CNI_CONTAINERID"] == "" and call["env"]["CNI_NETNS"] == "" and call["env"]["CNI_IFNAME"] == ""
        )
        assert "prevResult" not in call["stdin"] and "runtimeConfig" not in call["stdin"]
    names = sorted(os.listdir(os.path.join(client.cache_dir, "results")))
    assert names == ["net1-ctr1-eth0", "net2-zzz-eth0"]  # other networks are not touched


def test_gc_without_valid_list_deletes_all_and_omits_keys(env):
    client, log = env
    client.add_network_list(chain(), RT)
    clear_calls(log)
    client.gc_network_list(chain(), None)
    gcs = [c for c in read_calls(log) if c["env"]["CNI_COMMAND"] == "GC"]
    assert len(gcs) == 3 and all("cni.dev/valid-attachments" not in c["stdin"] for c in gcs)
    assert not os.listdir(os.path.join(client.cache_dir, "results"))


def test_gc_disabled_or_old_version_and_errors_collected(env):
    client, log = env
    client.add_network_list(chain(), RT)
    clear_calls(log)
    client.gc_network_list(chain(disableGC=True), None)
    assert read_calls(log) == []
    client.gc_network_list(chain("1.0.0"), [("ctr1", "eth0")])
    assert read_calls(log) == []  # the only attachment is valid, and 1.0.0 has no plugin GC
    failing = conflist([{"type": "a", "fake": {"fail": {"GC": {"code": 7, "msg": "x"}}}}, {"type": "b"}])
    with pytest.raises(MultiError, match="failed to GC plugin a: x"):
        client.gc_network_list(failing, [])
    assert [c["plugin"] for c in read_calls(log) if c["env"]["CNI_COMMAND"] == "GC"] == ["a", "b"]


def test_status_rules(env):
    client, log = env
    client.get_status_network_list(chain("1.0.0"))
    assert read_calls(log) == []
    client.get_status_network_list(chain())
    calls = read_calls(log)
    assert [c["plugin"] for c in calls] == ["a", "b", "c"]
    assert calls[0]["stdin"] == {"type": "a", "name": "net1", "cniVersion": "1.1.0"}
    clear_calls(log)
    down = conflist(
        [{"type": "a"}, {"type": "b", "fake": {"fail": {"STATUS": {"code": 50, "msg": "no IPs"}}}}, {"type": "c"}]
    )
    with pytest.raises(PluginError) as exc:
        client.get_status_network_list(down)
    assert exc.value.code == 50
    assert [c["plugin"] for c in read_calls(log)] == ["a", "b"]


def test_version_and_validate(env, tmp_path):
    client, log = env
    assert client.get_version_info("a") == ["0.3.1", "0.4.0", "1.0.0", "1.1.0"]
    call = read_calls(log)[0]
    assert call["stdin"] == {"cniVersion": "1.1.0"} and call["env"]["CNI_COMMAND"] == "VERSION"
    assert client.validate_network_list(chain()) == ["portMappings"]
    (tmp_path / "bin" / "b.versions").write_text('["0.4.0", "1.0.0"]')
    with pytest.raises(MultiError) as exc:
        client.validate_network_list(conflist([{"type": "a"}, {"type": "b"}, {"type": "missing"}]))
    assert [str(e) for e in exc.value.errors] == [
        'plugin b does not support config version "1.1.0"',
        'failed to find plugin "missing" in path [' + " ".join(client.path) + "]",
    ]


def test_cached_attachments_listing(env):
    client, _log = env
    client.add_network_list(chain(), RT)
    client.add_network_list(chain(), RuntimeConf("ctr10", "/n", "eth1"))
    os.makedirs(os.path.join(client.cache_dir, "results"), exist_ok=True)
    open(os.path.join(client.cache_dir, "results", "junk"), "w").write("{}")
    assert [(a.container_id, a.ifname) for a in cache.attachments(client.cache_dir)] == [
        ("ctr1", "eth0"),
        ("ctr10", "eth1"),
    ]
    assert [a.container_id for a in cache.attachments(client.cache_dir, "ctr1")] == ["ctr1"]
