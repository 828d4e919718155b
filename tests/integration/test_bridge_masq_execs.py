"""bridge ipMasq (iptables backend) exec budget: a first ADD is one iptables-restore per family and no
`iptables -C`; a repeated ADD for the same container falls back to the checks without doubling rules."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cni import PYCNI_BIN
from tests.integration.bridge_helpers import Env, assert_clean, make_env

pytestmark = pytest.mark.root


@pytest.fixture
def env(netns, tmp_path) -> Env:
    return make_env(netns, tmp_path)


def _traced_add(
    env: Env, conf: dict, cid: str, netns_path: str, trace: Path, ifname: str = "eth0", command: str = "ADD"
) -> list[list[str]]:
    """ADD (or `command`) under strace; the argv of every helper the plugin exec'd (not its own execs)."""
    plugin_env = [
        f"PATH={os.environ.get('PATH', '/usr/sbin:/usr/bin:/sbin:/bin')}",
        f"CNI_COMMAND={command}",
        f"CNI_CONTAINERID={cid}",
        f"CNI_NETNS={netns_path}",
        f"CNI_IFNAME={ifname}",
        f"CNI_PATH={PYCNI_BIN}",
    ]
    # -ff: one trace file per process, so the execs of helpers running side by side (DEL starts `ip link
    # del` beside the IPAM release) never interleave into "<unfinished ...>" lines.
    argv = ["ip", "netns", "exec", env.host, "strace", "-ff", "-qq", "-s", "256", "-e", "trace=execve,openat"]
    argv += ["-o", str(trace)]
    argv += ["env", "-i", *plugin_env, str(PYCNI_BIN / "bridge")]
    done = subprocess.run(argv, input=json.dumps(conf).encode(), capture_output=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    per_process = sorted(trace.parent.glob(trace.name + ".*"), key=lambda f: int(f.suffix[1:]))
    lines = [line for f in per_process for line in f.read_text().splitlines()]
    if command == "DEL":  # DEL reads nothing over netlink: no pyroute2 codec may even be opened
        assert not [line for line in lines if "pyroute2/netlink" in line and "ENOENT" not in line]
    calls = []
    for line in lines:
        if "execve(" not in line or "= 0" not in line:
            continue
        args = line.split("[", 1)[1].split("]", 1)[0]
        calls.append([a.strip().strip('"') for a in args.split(", ")])
    return [c for c in calls if os.path.basename(c[0]) not in ("env", "bridge", "pycni")]


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_first_add_is_one_restore_per_family_repeat_checks_jumps(pycni_bin, env, tmp_path):
    conf = env.conf(subnet6="fd77::/64", ipMasq=True, ipMasqBackend="iptables")
    _c1, path1 = env.container()
    first = _traced_add(env, conf, "c1", path1, tmp_path / "t1")
    assert [os.path.basename(c[0]) for c in first] == ["iptables-restore", "ip6tables-restore"], first
    rules = env.nat_rules()
    assert rules.count("-A POSTROUTING") == 2 and rules.count("-j MASQUERADE") == 2

    # Same container ID again (a second interface; the chain is per network and container): the chain
    # exists, so the optimistic batch fails and the checked path adds only the new jumps and rebuilds
    # the chain (no doubled rules).
    _c2, path2 = env.container()
    again = _traced_add(env, conf, "c1", path2, tmp_path / "t2", ifname="eth1")
    tools = [os.path.basename(c[0]) for c in again]
    assert tools.count("iptables") == 1 and tools.count("ip6tables") == 1, again  # the -C checks
    assert all("-C" in c for c in again if os.path.basename(c[0]) in ("iptables", "ip6tables"))
    rules = env.nat_rules()
    assert rules.count("-A POSTROUTING") == 4  # one jump per address: two ADDs x two families
    assert rules.count("-j MASQUERADE") == 2 and rules.count("-j ACCEPT") == 2  # rebuilt, not doubled

    assert env.run("DEL", conf, "c1", path2, ifname="eth1").returncode == 0
    assert env.run("DEL", conf, "c1", path1).returncode == 0
    assert_clean(env)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")
def test_del_families_from_prev_result_no_netlink(pycni_bin, env, tmp_path):
    """DEL reads nothing from the container interface: ipMasq families come from prevResult (both without)."""
    conf = env.conf(ipMasq=True, ipMasqBackend="iptables")
    _c1, path1 = env.container()
    result = env.run("ADD", conf, "c1", path1).result()
    with_prev = _traced_add(env, {**conf, "prevResult": result}, "c1", path1, tmp_path / "d1", command="DEL")
    tools = sorted(os.path.basename(c[0]) for c in with_prev)
    assert tools == ["ip", "iptables-restore", "iptables-save", "nft"], with_prev  # v4 only, as prevResult says
    assert_clean(env)

    _c2, path2 = env.container()
    env.run("ADD", conf, "c2", path2).result()
    without = _traced_add(env, conf, "c2", path2, tmp_path / "d2", command="DEL")
    tools = sorted(os.path.basename(c[0]) for c in without)
    assert tools == ["ip", "ip6tables-save", "iptables-restore", "iptables-save", "nft"], without  # both families
    assert_clean(env)
