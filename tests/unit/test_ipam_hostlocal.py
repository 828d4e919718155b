"""The verb handlers called in-process, as bridge's fast path does: same CmdArgs as the executable, results
returned and errors raised, nothing printed, no exit."""

from __future__ import annotations

import pytest

from libcni import skel
from libcni.errors import CNIError
from libcni.ipam import hostlocal


def args(command: str, config: dict, cid: str = "hlc1", ifname: str = "eth0", cni_args: str = "") -> skel.CmdArgs:
    return skel.CmdArgs(command, cid, "/run/netns/hl-x", ifname, cni_args, ["/opt/cni/bin"], b"", config)


def bridge_conf(tmp_path, version="1.1.0", **top) -> dict:
    return {
        "cniVersion": version,
        "name": "hlnet",
        "type": "bridge",
        "bridge": "hlbr0",
        "ipam": {"type": "host-local", "dataDir": str(tmp_path), "ranges": [[{"subnet": "10.79.0.0/30"}]]},
        **top,
    }


def test_handlers_in_process(tmp_path, capsys):
    conf = bridge_conf(tmp_path)
    result = hostlocal.cmd_add(args("ADD", conf))
    assert [ip.address for ip in result.ips] == ["10.79.0.2/30"]
    assert result.cni_version == "1.1.0"
    prev = result.to_json("1.1.0")
    hostlocal.cmd_check(args("CHECK", dict(conf, prevResult=prev)))
    with pytest.raises(CNIError) as err:
        hostlocal.cmd_status(args("STATUS", conf, "", ""))
    assert err.value.code == 50
    with pytest.raises(CNIError, match="no IP addresses available"):
        hostlocal.cmd_add(args("ADD", conf, "hlc2"))
    valid = {"cni.dev/valid-attachments": [{"containerID": "hlc1", "ifname": "eth0"}]}
    hostlocal.cmd_gc(args("GC", dict(conf, **valid)))
    hostlocal.cmd_check(args("CHECK", dict(conf, prevResult=prev)))  # GC kept the valid attachment
    hostlocal.cmd_del(args("DEL", conf))
    hostlocal.cmd_del(args("DEL", conf))
    hostlocal.cmd_status(args("STATUS", conf, "", ""))
    with pytest.raises(CNIError, match="not reserved"):
        hostlocal.cmd_check(args("CHECK", dict(conf, prevResult=prev)))
    out = capsys.readouterr()
    assert out.out == ""


def test_bad_valid_attachments_are_code_7(tmp_path):
    conf = bridge_conf(tmp_path, **{"cni.dev/valid-attachments": [{"containerID": 5}]})
    with pytest.raises(CNIError) as err:
        hostlocal.cmd_gc(args("GC", conf))
    assert err.value.code == 7


def test_status_and_gc_of_a_network_whose_ranges_come_only_from_the_runtime(tmp_path):
    # ipRanges is a capability: the runtime sends it with ADD/DEL/CHECK, but STATUS and GC carry no
    # runtimeConfig. Such a network is still ready (STATUS must not fail with "no IP ranges").
    conf = bridge_conf(tmp_path)
    conf["ipam"] = {"type": "host-local", "dataDir": str(tmp_path)}
    ranges = {"ipRanges": [[{"subnet": "10.79.1.0/30"}]]}
    result = hostlocal.cmd_add(args("ADD", dict(conf, runtimeConfig=ranges)))
    assert [ip.address for ip in result.ips] == ["10.79.1.2/30"]
    hostlocal.cmd_status(args("STATUS", conf, "", ""))
    hostlocal.cmd_gc(args("GC", dict(conf, **{"cni.dev/valid-attachments": []}), "", ""))
    assert not (tmp_path / "hlnet" / "10.79.1.2").exists()


def test_a_missing_resolv_conf_fails_add_only(tmp_path):
    # As the reference: resolvConf is read for the ADD result; DEL, CHECK, GC and STATUS must not
    # fail (DEL above all: it would never release) because the file has gone since.
    conf = bridge_conf(tmp_path)
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 10.79.0.53\n")
    conf["ipam"].update(resolvConf=str(resolv), ranges=[[{"subnet": "10.79.0.0/29"}]])
    prev = hostlocal.cmd_add(args("ADD", conf)).to_json("1.1.0")
    assert prev["dns"] == {"nameservers": ["10.79.0.53"]}
    resolv.unlink()
    with pytest.raises(CNIError, match="resolvConf") as err:
        hostlocal.cmd_add(args("ADD", conf, "hlc2"))
    assert err.value.code == 7
    assert sorted(p.name for p in (tmp_path / "hlnet").iterdir() if p.name[0].isdigit()) == ["10.79.0.2"]
    hostlocal.cmd_check(args("CHECK", dict(conf, prevResult=prev)))
    hostlocal.cmd_status(args("STATUS", conf, "", ""))
    hostlocal.cmd_gc(
        args("GC", dict(conf, **{"cni.dev/valid-attachments": [{"containerID": "hlc1", "ifname": "eth0"}]}), "", "")
    )
    hostlocal.cmd_del(args("DEL", conf))
    assert not (tmp_path / "hlnet" / "10.79.0.2").exists()
