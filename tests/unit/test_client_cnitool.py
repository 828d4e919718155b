"""cnitool's command line against fake plugins: environment, container ID rule, output, errors, exit codes."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from tests.cni import ROOT
from tests.unit.test_client_fakes import make_plugins, read_calls


@pytest.fixture
def tool(tmp_path):
    log = make_plugins(tmp_path / "bin", "a", "b")
    confdir = tmp_path / "net.d"
    confdir.mkdir()
    plugins = [{"type": "a"}, {"type": "b", "capabilities": {"portMappings": True}}]
    (confdir / "10-n.conflist").write_text(json.dumps({"cniVersion": "1.1.0", "name": "n", "plugins": plugins}))
    failing = [{"type": "a"}, {"type": "b", "fake": {"fail": {"ADD": {"code": 7, "msg": "bad", "details": "why"}}}}]
    (confdir / "20-f.conflist").write_text(json.dumps({"cniVersion": "1.1.0", "name": "f", "plugins": failing}))
    base = {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": str(ROOT),
        "NETCONFPATH": str(confdir),
        "CNI_PATH": str(tmp_path / "bin"),
        "CNI_CACHE_DIR": str(tmp_path / "cache"),
    }

    def run(*argv, **env):
        done = subprocess.run(
            [sys.executable, "-m", "libcni.cnitool", *argv],
            env=base | env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        done.calls = read_calls(log)  # type: ignore[attr-defined]
        log.unlink(missing_ok=True)
        return done

    run.cwd = tmp_path  # type: ignore[attr-defined]
    run.env = base  # type: ignore[attr-defined]
    return run


def test_add_environment_and_output(tool):
    done = tool("add", "n", "ns/x", CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAME=p", CAP_ARGS='{"portMappings":[1],"x":2}')
    assert done.returncode == 0, done.stderr
    netns = str(tool.cwd / "ns/x")  # made absolute
    cid = "cnitool-" + hashlib.sha512(netns.encode()).hexdigest()[:20]
    env = done.calls[0]["env"]
    assert env["CNI_NETNS"] == netns and env["CNI_CONTAINERID"] == cid and env["CNI_IFNAME"] == "eth0"
    assert env["CNI_ARGS"] == "IgnoreUnknown=1;K8S_POD_NAME=p"
    assert done.calls[1]["stdin"]["runtimeConfig"] == {"portMappings": [1]}
    assert done.stdout.startswith('{\n    "cniVersion": "1.1.0",\n    "interfaces": [')
    assert [i["name"] for i in json.loads(done.stdout)["interfaces"]] == ["a", "b"]
    assert (tool.cwd / "cache" / "results" / f"n-{cid}-eth0").exists()


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        ((), {"CNI_IFNAME": "net1"}, "net1"),
        (("-i", "net2"), {"CNI_IFNAME": "net1"}, "net2"),  # the option wins
        ((), {"CNI_IFNAME": ""}, "eth0"),  # empty means unset
    ],
)
def test_ifname_rules(tool, argv, env, expected):
    done = tool("add", *argv, "n", "/run/netns/x", **env)
    assert done.returncode == 0, done.stderr
    assert {c["env"]["CNI_IFNAME"] for c in done.calls} == {expected}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CNI_ARGS": "A=1;B"}, 'invalid CNI_ARGS pair "B"'),
        ({"CNI_ARGS": "A="}, 'invalid CNI_ARGS pair "A="'),
        ({"CAP_ARGS": "{bad"}, "invalid CAP_ARGS"),
    ],
)
def test_bad_environment_is_an_error(tool, env, message):
    done = tool("add", "n", "/run/netns/x", **env)
    assert done.returncode == 1 and message in done.stderr and done.calls == []


def test_plugin_failure_readable_and_json(tool):
    done = tool("add", "f", "/run/netns/x")
    assert done.returncode == 1 and done.stdout == ""
    assert 'plugin type="b" failed (add): bad; why' in done.stderr
    assert "code:   7 (invalid network config)" in done.stderr
    done = tool("--json", "add", "f", "/run/netns/x")
    doc = json.loads(done.stdout)
    assert done.returncode == 1
    assert doc["code"] == 7 and doc["msg"] == "bad" and doc["details"] == "why"
    assert doc["plugin"] == {"type": "b", "verb": "add"}
    assert json.loads(tool("add", "--json", "nosuch", "/x").stdout)["code"] == 7


def test_del_check_gc_status(tool):
    assert tool("add", "n", "/run/netns/x").returncode == 0
    done = tool("check", "n", "/run/netns/x")
    assert done.returncode == 0 and [c["env"]["CNI_COMMAND"] for c in done.calls] == ["CHECK", "CHECK"]
    done = tool("del", "n", "/run/netns/x")
    assert done.returncode == 0 and [c["plugin"] for c in done.calls] == ["b", "a"]
    assert tool("add", "n", "/run/netns/y").returncode == 0
    done = tool("gc", "n")
    cmds = [(c["plugin"], c["env"]["CNI_COMMAND"]) for c in done.calls]
    assert done.returncode == 0 and cmds == [("b", "DEL"), ("a", "DEL"), ("a", "GC"), ("b", "GC")]
    assert all("cni.dev/valid-attachments" not in c["stdin"] for c in done.calls)
    done = tool("status", "--json", "n")
    assert done.returncode == 0 and json.loads(done.stdout) == {"network": "n", "ready": True}


def test_usage_help_list_version(tool):
    missing = tool("add", "n")
    assert missing.returncode == 1 and "Missing argument" in missing.stderr
    for cmd in ("add", "del", "check", "gc", "status", "version", "list", "inspect"):
        helped = tool(cmd, "--help")
        assert helped.returncode == 0 and "Usage: cnitool" in helped.stdout, cmd
    listed = tool("list")
    assert (
        listed.returncode == 0
        and "n (1.1.0) 10-n.conflist\n  plugins: a -> b  capabilities: portMappings" in listed.stdout
    )
    doc = json.loads(tool("version", "--json", "n").stdout)
    assert [p["type"] for p in doc["plugins"]] == ["a", "b"] and all(
        p["supportsNetworkVersion"] for p in doc["plugins"]
    )
    (tool.cwd / "bin" / "b.versions").write_text('["0.4.0"]')
    old = tool("version", "n")
    assert old.returncode == 1 and "UNSUPPORTED" in old.stdout


def test_inspect_without_cache_or_netns(tool):
    done = tool("inspect", "--json", "n", "/run/netns/cl-does-not-exist")
    doc = json.loads(done.stdout)
    assert done.returncode == 0 and doc["cached"] is False
    assert "does not exist" in doc["live"]["error"]


def test_del_reuses_cached_capability_args_when_unset(tool):
    maps = '{"portMappings":[{"hostPort":8080}]}'
    assert tool("add", "n", "/run/netns/x", CAP_ARGS=maps, CNI_ARGS="A=1").returncode == 0
    done = tool("del", "n", "/run/netns/x")
    assert done.returncode == 0
    assert done.calls[0]["stdin"]["runtimeConfig"] == json.loads(maps) and done.calls[0]["env"]["CNI_ARGS"] == "A=1"
    assert tool("add", "n", "/run/netns/x", CAP_ARGS=maps).returncode == 0
    done = tool("del", "n", "/run/netns/x", CAP_ARGS="", CNI_ARGS="")  # set, even empty: taken as given
    assert "runtimeConfig" not in done.calls[0]["stdin"] and done.calls[0]["env"]["CNI_ARGS"] == ""
