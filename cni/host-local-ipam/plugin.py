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

from collections.abc import Callable

from libcni import skel

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time (~2 ms per call)
if TYPE_CHECKING:
    from typing import Any

ABOUT = "pycni host-local IPAM plugin"


def _lazy(verb: str) -> Callable[[skel.CmdArgs], Any]:
    """The handler `verb` of libcni.ipam.hostlocal, imported only when a verb runs (not for VERSION or
    for env errors, which skel answers first)."""

    def run(args: skel.CmdArgs) -> Any:
        from libcni.ipam import hostlocal

        return getattr(hostlocal, verb)(args)

    return run


def main() -> None:
    skel.plugin_main(
        add=_lazy("cmd_add"),
        delete=_lazy("cmd_del"),
        check=_lazy("cmd_check"),
        gc=_lazy("cmd_gc"),
        status=_lazy("cmd_status"),
        about=ABOUT,
    )
