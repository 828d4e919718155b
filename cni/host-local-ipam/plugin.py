"""host-local: hand out IP addresses from configured ranges, remembered in files under dataDir.

Role: IPAM plugin. It never touches a network namespace, and is normally exec'd by a main plugin
(bridge calls the same handlers in-process). It reads `prevResult` only for CHECK, to verify that the
addresses listed there inside its ranges are still reserved by this attachment.
The allocator, the Go-compatible on-disk store and the config parsing live in libcni/ipam/; this
module only hands the verb handlers to skel.
Known limits: addresses are reserved per (containerID, ifname); a requested IP already held by the
same attachment is refused, as in the reference. See README.md for keys, layout and guarantees.
"""

from __future__ import annotations

from libcni import skel

ABOUT = "pycni host-local IPAM plugin"


def main() -> None:
    from libcni.ipam import hostlocal

    skel.plugin_main(
        add=hostlocal.cmd_add,
        delete=hostlocal.cmd_del,
        check=hostlocal.cmd_check,
        gc=hostlocal.cmd_gc,
        status=hostlocal.cmd_status,
        about=ABOUT,
    )
