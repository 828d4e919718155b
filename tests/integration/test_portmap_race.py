"""portmap iptables: an ADD that commits between another ADD's iptables-save and its iptables-restore.

On a fresh host both see no CNI-HOSTPORT-DNAT chain; the later batch must not flush the chain the
earlier one created (declaring `:CHAIN` under --noflush empties an existing chain).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.cni import BASE_ENV, PYCNI_BIN, run_plugin, sh

pytestmark = pytest.mark.root


def _conf(ip: str, host_port: int) -> dict:
    prev = {
        "cniVersion": "1.0.0",
        "interfaces": [{"name": "eth0", "sandbox": "/run/netns/x"}],
        "ips": [{"address": f"{ip}/24", "interface": 0}],
    }
    mapping = {"hostPort": host_port, "containerPort": 80, "protocol": "tcp"}
    return {"cniVersion": "1.0.0", "name": "rvnet", "type": "portmap", "backend": "iptables",
            "runtimeConfig": {"portMappings": [mapping]}, "prevResult": prev}  # fmt: skip


def _interleaving_save(tmp_path: Path, other: dict) -> Path:
    """A PATH dir whose iptables-save runs a whole portmap ADD of `other` right after its first dump."""
    tools = tmp_path / "tools"
    tools.mkdir()
    (tmp_path / "other.json").write_text(json.dumps(other))
    env = " ".join(
        [
            f"PATH={BASE_ENV['PATH']}",
            "CNI_COMMAND=ADD",
            "CNI_CONTAINERID=rv-other",
            "CNI_NETNS=/run/netns/x",
            "CNI_IFNAME=eth0",
            f"CNI_PATH={PYCNI_BIN}",
        ]
    )
    script = tools / "iptables-save"
    script.write_text(
        "#!/bin/sh\n"
        f'dump=$({shutil.which("iptables-save")} "$@") || exit 1\n'
        f"if [ ! -e {tmp_path}/mark ]; then : > {tmp_path}/mark\n"
        f"  env -i {env} {PYCNI_BIN / 'portmap'} < {tmp_path}/other.json > {tmp_path}/other.out\nfi\n"
        'printf "%s\\n" "$dump"\n'
    )
    script.chmod(0o755)
    return tools


def test_concurrent_first_adds_keep_each_others_entries(pycni_bin, netns, tmp_path) -> None:
    host = netns.new("h")
    tools = _interleaving_save(tmp_path, _conf("10.98.1.3", 8082))
    res = run_plugin(
        "portmap", "ADD", _conf("10.98.1.2", 8081), container_id="rv-mine", netns="/run/netns/x", ifname="eth0",
        host_ns=host, env={"PATH": f"{tools}:{BASE_ENV['PATH']}"},
    )  # fmt: skip
    res.result()
    assert json.loads((tmp_path / "other.out").read_text())["ips"]  # the other ADD really ran in between
    nat = sh("iptables-save", "-t", "nat", ns=host).splitlines()
    entries = [line for line in nat if line.startswith("-A CNI-HOSTPORT-DNAT ")]
    assert any('id: \\"rv-other\\"' in e for e in entries), nat
    assert any('id: \\"rv-mine\\"' in e for e in entries), nat
    for hook in ("PREROUTING", "OUTPUT"):
        assert len([line for line in nat if line.startswith(f"-A {hook} ") and "CNI-HOSTPORT-DNAT" in line]) == 1, nat
    assert len([line for line in nat if line.startswith("-A POSTROUTING ") and "CNI-HOSTPORT-MASQ" in line]) == 1, nat
    assert len([line for line in nat if line.startswith("-A CNI-HOSTPORT-MASQ ")]) == 1, nat
