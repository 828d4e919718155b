"""libcni.netns: typed errors for missing and fake namespaces; work runs inside and always comes back."""

from __future__ import annotations

import os

import pytest

from libcni.netns import NetNS, NetNSNotFound, NotANetNS
from tests.cni import ip_json, sh

pytestmark = pytest.mark.root


def current_netns() -> tuple[int, int]:
    st = os.stat("/proc/thread-self/ns/net")
    return st.st_dev, st.st_ino


def test_enter_runs_inside_and_comes_back(netns):
    ctr = netns.new("ctr")
    sh("ip", "link", "add", "ptdummy0", "type", "veth", "peer", "name", "ptdummy1", ns=ctr)
    home = current_netns()
    with NetNS(netns.path(ctr)) as ns:
        with ns.entered():
            assert current_netns() != home
            with open("/proc/thread-self/net/dev") as fh:
                assert "ptdummy0" in fh.read()
        assert current_netns() == home
        with pytest.raises(RuntimeError), ns.entered():
            raise RuntimeError("work failed inside")
        assert current_netns() == home
    assert any(link["ifname"] == "ptdummy0" for link in ip_json("link", ns=ctr))


def test_typed_errors(tmp_path):
    with pytest.raises(NetNSNotFound):
        NetNS(str(tmp_path / "missing"))
    plain = tmp_path / "plain"
    plain.write_text("")
    with pytest.raises(NotANetNS) as info:
        NetNS(str(plain))
    assert info.value.code == 8
    with pytest.raises(NotANetNS):
        NetNS("/proc/self/ns/uts")
