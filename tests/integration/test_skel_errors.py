"""The plugin runtime's error paths, through a real executable (loopback), as a runtime sees them.

Each case checks the CNI code, the message, exit status 1, and that stdout holds exactly one JSON
document (Run.error() parses the whole of stdout).
"""

from __future__ import annotations

import os

import pytest

from tests.cni import run_plugin

CONF = {"cniVersion": "1.0.0", "name": "skel-test", "type": "loopback"}
ENV_OK = {"container_id": "c1", "netns": "/run/netns/does-not-matter", "ifname": "eth0"}


def err(run):
    doc = run.error()
    assert run.returncode == 1
    return doc


def test_no_command_prints_about_to_stderr(pycni_bin):
    run = run_plugin("loopback", "", CONF)
    assert run.returncode == 0 and run.stdout == ""
    assert "pycni loopback plugin" in run.stderr
    assert "CNI protocol versions supported: 0.1.0, 0.2.0, 0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0" in run.stderr


@pytest.mark.parametrize(
    "command,env,missing",
    [
        ("ADD", {}, "CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH"),
        ("CHECK", {"ifname": "eth0"}, "CNI_CONTAINERID,CNI_NETNS,CNI_PATH"),
        ("DEL", {"netns": "/x"}, "CNI_CONTAINERID,CNI_IFNAME,CNI_PATH"),
        ("GC", {"container_id": "c1"}, "CNI_PATH"),
        ("STATUS", {}, "CNI_PATH"),
    ],
)
def test_missing_env_named_together(pycni_bin, command, env, missing):
    doc = err(run_plugin("loopback", command, CONF, path="", **env))
    assert doc["code"] == 4
    assert doc["msg"] == f"required env variables [{missing}] missing"


def test_del_does_not_need_netns(pycni_bin):
    run = run_plugin("loopback", "DEL", CONF, container_id="c1", ifname="eth0")
    assert run.returncode == 0 and run.stdout == ""


@pytest.mark.parametrize(
    "cid,code,msg",
    [
        ("-bad", 4, "invalid characters in containerID"),
        ("a b", 4, "invalid characters in containerID"),
        ("a/b", 4, "invalid characters in containerID"),
        ("abc\n", 4, "invalid characters in containerID"),  # Go's $ does not allow a trailing newline
    ],
)
def test_container_id_validation(pycni_bin, cid, code, msg):
    doc = err(run_plugin("loopback", "ADD", CONF, container_id=cid, netns="/x", ifname="eth0"))
    assert (doc["code"], doc["msg"]) == (code, msg)


@pytest.mark.parametrize(
    "ifname,msg",
    [
        ("a" * 16, "interface name is too long"),
        (".", "interface name is . or .."),
        ("..", "interface name is . or .."),
        ("eth/0", "interface name contains / or : or whitespace characters"),
        ("eth:0", "interface name contains / or : or whitespace characters"),
        ("eth 0", "interface name contains / or : or whitespace characters"),
    ],
)
def test_ifname_validation(pycni_bin, ifname, msg):
    doc = err(run_plugin("loopback", "ADD", CONF, container_id="c1", netns="/x", ifname=ifname))
    assert (doc["code"], doc["msg"]) == (4, msg)


@pytest.mark.parametrize(
    "stdin,code,msg",
    [
        (b"", 6, "error unmarshall network config"),
        (b"{not json", 6, "error unmarshall network config"),
        (b"[1, 2]", 6, "error unmarshall network config"),
        (b'{"cniVersion": "1.0.0", "name": 5}', 6, "error unmarshall network config"),
        (b'{"cniVersion": "1.0.0"}', 7, "missing network name"),
        (b'{"cniVersion": "1.0.0", "name": ""}', 7, "missing network name"),
        (b'{"cniVersion": "1.0.0", "name": "bad name!"}', 7, "invalid characters found in network name"),
        (b'{"cniVersion": "1.0.0", "name": "net\\n"}', 7, "invalid characters found in network name"),
        (
            b'{"cniVersion": "1.0.0", "name": "n", "prevResult": {"cniVersion": "0.4.0"}}',
            6,
            "could not parse prevResult",
        ),
    ],
)
def test_config_validation(pycni_bin, stdin, code, msg):
    doc = err(run_plugin("loopback", "ADD", stdin, **ENV_OK))
    assert doc["code"] == code
    assert doc["msg"].startswith(msg)


def test_config_errors_come_before_env_value_errors_as_in_go(pycni_bin):
    doc = err(run_plugin("loopback", "ADD", b"{", container_id="-bad", netns="/x", ifname="eth0"))
    assert doc["code"] == 6


def test_unknown_command(pycni_bin):
    doc = err(run_plugin("loopback", "FOO", CONF))
    assert (doc["code"], doc["msg"]) == (4, "unknown CNI_COMMAND: FOO")


def test_unknown_command_with_bad_config_is_a_decoding_error_like_go(pycni_bin):
    assert err(run_plugin("loopback", "FOO", b"nope"))["code"] == 6


def test_incompatible_version(pycni_bin):
    doc = err(run_plugin("loopback", "ADD", dict(CONF, cniVersion="9.9.9"), **ENV_OK))
    assert doc["code"] == 1 and doc["msg"] == "incompatible CNI versions"
    assert doc["details"].startswith('config is "9.9.9", plugin supports ["0.1.0" "0.2.0"')


@pytest.mark.parametrize(
    "command,version,msg",
    [
        ("CHECK", "0.3.1", "config version does not allow CHECK"),
        ("CHECK", "9.0.0", "plugin version does not allow CHECK"),
        ("GC", "1.0.0", "config version does not allow GC"),
        ("STATUS", "0.4.0", "config version does not allow STATUS"),
        ("STATUS", "2.0.0", "plugin version does not allow STATUS"),
    ],
)
def test_version_gates(pycni_bin, command, version, msg):
    doc = err(run_plugin("loopback", command, dict(CONF, cniVersion=version), **ENV_OK))
    assert (doc["code"], doc["msg"]) == (1, msg)


def test_unparsable_version_in_a_gate_is_a_decoding_error(pycni_bin):
    doc = err(run_plugin("loopback", "CHECK", dict(CONF, cniVersion="1.x"), **ENV_OK))
    assert doc["code"] == 6


def test_missing_cni_version_means_0_1_0(pycni_bin):
    doc = err(run_plugin("loopback", "CHECK", {"name": "n", "type": "loopback"}, **ENV_OK))
    assert doc["msg"] == "config version does not allow CHECK"


@pytest.mark.parametrize("stdin", [b"", b"garbage", b'{"cniVersion": "0.2.0"}'])
def test_version_ignores_stdin(pycni_bin, stdin):
    run = run_plugin("loopback", "VERSION", stdin)
    doc = run.result()
    assert doc == {
        "cniVersion": "1.1.0",
        "supportedVersions": ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"],
    }


def test_error_json_carries_config_version(pycni_bin):
    doc = err(
        run_plugin(
            "loopback", "ADD", dict(CONF, cniVersion="0.4.0"), container_id="c1", netns="/nonexistent/ns", ifname="eth0"
        )
    )
    assert doc["cniVersion"] == "0.4.0"


def test_gc_and_status_without_handlers_succeed_silently(pycni_bin):
    for command in ("GC", "STATUS"):
        run = run_plugin("loopback", command, dict(CONF, cniVersion="1.1.0"))
        assert run.returncode == 0 and run.stdout == "", run.stdout


def test_unexpected_exception_becomes_code_999(tmp_path):
    """A handler bug is reported as code 999 naming the exception; the traceback goes to stderr."""
    import subprocess
    import sys

    from tests.cni import ROOT

    script = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from libcni import skel\n"
        "def add(args): return {}['missing-key']\n"
        "skel.plugin_main(add=add, delete=add)\n"
    )
    env = {"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "c1", "CNI_NETNS": "/x", "CNI_IFNAME": "eth0", "CNI_PATH": "/x"}
    proc = subprocess.run(
        [sys.executable, "-c", script], input=b'{"cniVersion":"1.0.0","name":"n"}', env=env, capture_output=True
    )
    import json

    doc = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert doc["code"] == 999 and doc["msg"] == "KeyError: 'missing-key'"
    assert "Traceback" in proc.stderr.decode()


def test_log_file(pycni_bin, tmp_path):
    log_file = tmp_path / "plugin.log"
    conf = dict(CONF, logFile=str(log_file), logLevel="debug")
    run = run_plugin("loopback", "ADD", conf, container_id="c1", netns="/nonexistent/ns", ifname="eth0")
    assert run.error()["code"] == 8
    text = log_file.read_text()
    assert "failed to open netns" in text
    assert os.path.getsize(log_file) > 0
