"""bridge DEL's link deletion: `ip link del` from inside the container netns, netlink when `ip` is missing,
and a failure of the deletion reported (with the IPAM lease still released)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cni import PYCNI_BIN
from tests.integration.bridge_helpers import Env, make_env, veth_ports

pytestmark = pytest.mark.root


@pytest.fixture
def env(netns, tmp_path) -> Env:
    return make_env(netns, tmp_path)


def _del_with_path(env: Env, conf: dict, cid: str, netns_path: str, path: str) -> subprocess.CompletedProcess:
    """DEL with the plugin's own PATH set to `path` (the harness still finds `ip netns exec`)."""
    plugin_env = {
        "CNI_COMMAND": "DEL",
        "CNI_CONTAINERID": cid,
        "CNI_NETNS": netns_path,
        "CNI_IFNAME": "eth0",
        "CNI_PATH": str(PYCNI_BIN),
        "PATH": path,
    }
    argv = ["ip", "netns", "exec", env.host, "env", "-i", *(f"{k}={v}" for k, v in plugin_env.items())]
    argv.append(str(PYCNI_BIN / "bridge"))
    return subprocess.run(argv, input=json.dumps(conf).encode(), capture_output=True, timeout=60)


def _added(env: Env) -> tuple[str, str, dict]:
    """A container attached as c1/eth0: (netns name, netns path, conf)."""
    ctr, path = env.container()
    conf = env.conf()
    env.run("ADD", conf, "c1", path).result()
    return ctr, path, conf


def test_del_without_ip_tool_uses_netlink(pycni_bin, env, tmp_path):
    ctr, path, conf = _added(env)
    empty = tmp_path / "no-tools"
    empty.mkdir()
    done = _del_with_path(env, conf, "c1", path, str(empty))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "eth0" not in env.links(ctr)
    assert veth_ports(env) == [] and env.reservations() == []


def test_failed_link_delete_is_reported_and_lease_released(pycni_bin, env, tmp_path):
    _ctr, path, conf = _added(env)
    fake = tmp_path / "fake-ip"
    fake.mkdir()
    real_ip = shutil.which("ip")
    script = fake / "ip"
    script.write_text(
        f'#!/bin/sh\n[ "$1 $2" = "link del" ] && {{ echo "RTNETLINK answers: Operation not permitted" >&2; exit 2; }}\n'
        f'exec {real_ip} "$@"\n'
    )
    script.chmod(0o755)
    done = _del_with_path(env, conf, "c1", path, f"{fake}:{os.environ.get('PATH', '/usr/sbin:/usr/bin')}")
    assert done.returncode != 0
    err = json.loads(done.stdout)
    assert "failed to delete eth0" in err["details"] and "Operation not permitted" in err["details"], err
    assert env.reservations() == []  # the other DEL steps still ran
    assert len(veth_ports(env)) == 1  # the link really is still there: nothing was deleted behind our back
    assert env.run("DEL", conf, "c1", path).returncode == 0  # and a normal DEL then finishes the job
    assert veth_ports(env) == []


def test_del_runs_one_exec_and_no_netlink_codecs(pycni_bin, env, tmp_path):
    """Without ipMasq, DEL's only helper is `ip link del` (strace), started before the IPAM release."""
    if shutil.which("strace") is None:
        pytest.skip("strace not installed")
    _ctr, path, conf = _added(env)
    trace = tmp_path / "trace"
    plugin = Path(PYCNI_BIN) / "bridge"
    argv = ["ip", "netns", "exec", env.host, "strace", "-f", "-qq", "-e", "trace=execve,openat", "-o", str(trace)]
    plugin_env = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "CNI_COMMAND=DEL", "CNI_CONTAINERID=c1",
                  f"CNI_NETNS={path}", "CNI_IFNAME=eth0", f"CNI_PATH={PYCNI_BIN}"]  # fmt: skip
    run = subprocess.run([*argv, *plugin_env, str(plugin)], input=json.dumps(conf).encode(), capture_output=True)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = trace.read_text().splitlines()
    execs = [line.split('execve("', 1)[1].split('"', 1)[0] for line in lines if "execve(" in line and "= 0" in line]
    helpers = [os.path.basename(e) for e in execs[1:] if os.path.basename(e) not in ("bridge", "pycni")]
    assert helpers == ["ip"], execs  # execs[0] is env; the bundle re-execs itself as pycni
    assert not [line for line in lines if "pyroute2/netlink" in line and "ENOENT" not in line]
    assert veth_ports(env) == [] and env.reservations() == []


def test_ipmasq_del_without_nft_installed(pycni_bin, env, tmp_path):
    """A host with iptables but no `nft`: the nftables backend can hold no rules, so DEL succeeds (as the
    reference, which ignores a backend the host does not support) and the iptables rules are removed."""
    ctr, path = env.container()
    conf = env.conf(isGateway=True, ipMasq=True, ipMasqBackend="iptables")
    env.run("ADD", conf, "c1", path).result()
    assert env.nat_rules()
    tools = tmp_path / "no-nft"
    tools.mkdir()
    for name in ("ip", "iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore"):
        (tools / name).symlink_to(shutil.which(name))
    done = _del_with_path(env, conf, "c1", path, str(tools))
    assert done.returncode == 0, done.stdout + done.stderr
    assert env.nat_rules() == "" and veth_ports(env) == [] and env.reservations() == []
