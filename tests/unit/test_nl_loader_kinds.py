"""libcni.nl.loader defers ifinfmsg's link-kind codec modules: same codecs, loaded only when a kind is met."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
if {lean}:
    from libcni.nl import loader
    loader.install_stub()
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
plugins = "pyroute2.netlink.rtnl.ifinfmsg.plugins."
loaded_before = sorted(m for m, mod in sys.modules.items()
                       if m.startswith(plugins) and not getattr(mod, "__pycni_placeholder__", False))
pkgutil_real = hasattr(sys.modules.get("pkgutil"), "iter_modules") and "pkgutil" in sys.modules
data_map = ifinfmsg.ifinfo.data_map
kinds = {{k: f"{{v.__module__}}.{{v.__qualname__}}" for k, v in data_map.items()}}
# A vlan link through encode and decode: the deferred codec must do the same work as the real one.
msg = ifinfmsg()
msg["attrs"] = [("IFLA_IFNAME", "v"), ("IFLA_LINKINFO", {{"attrs": [
    ("IFLA_INFO_KIND", "vlan"), ("IFLA_INFO_DATA", {{"attrs": [("IFLA_VLAN_ID", 42)]}})]}})]
msg.encode()
back = ifinfmsg(msg.data)
back.decode()
vid = back.get_attr("IFLA_LINKINFO").get_attr("IFLA_INFO_DATA").get_attr("IFLA_VLAN_ID")
print(json.dumps({{"loaded_before": loaded_before, "kinds": kinds, "vid": vid}}))
"""


def _probe(lean: bool) -> dict:
    code = PROBE.format(root=str(ROOT), lean=lean)
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_kind_codecs_are_deferred_and_identical() -> None:
    lean, real = _probe(True), _probe(False)
    assert lean["loaded_before"] == []  # none of the 15 plugin modules ran at import
    assert real["loaded_before"]  # (the real import does run them: the probe can tell)
    assert lean["kinds"] == real["kinds"]  # same kind table, same classes once looked up
    assert lean["vid"] == real["vid"] == 42


def test_deferred_list_covers_every_plugin_module() -> None:
    from libcni.nl import loader

    pkg = Path(loader._package_dir()) / "netlink" / "rtnl" / "ifinfmsg" / "plugins"
    on_disk = {p.stem for p in pkg.glob("*.py") if p.stem != "__init__"}
    assert set(loader.LINK_KIND_PLUGINS) == on_disk, "pyroute2 changed its link-kind plugins: update the loader"


def test_unused_stdlib_stays_deferred_on_the_netlink_path() -> None:
    import sysconfig

    # -S: no site module, so nothing but the netlink path can have imported these.
    paths = [str(ROOT), sysconfig.get_paths()["purelib"]]
    code = f"import sys; sys.path[:0] = {paths!r}; from libcni.nl import link; from libcni.lazy import DeferredModule; "
    code += "print([isinstance(sys.modules[m], DeferredModule) for m in ('pkgutil', 'selectors')], "
    code += "'signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "[True, True] False", out.stderr
