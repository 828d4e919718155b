"""Wait for link state by listening to netlink events instead of sleeping and polling.

Subscribe first, then read the current state, then wait: an event that fires between the two
cannot be missed that way.
"""

# ruff: noqa: I001  (libcni.nl.socket installs the pyroute2 stub; it must be imported first)
from __future__ import annotations

import time

from libcni.nl.link import Link, get_link
from libcni.nl.socket import RtnlSocket

from pyroute2.netlink.rtnl import RTM_NEWLINK, RTMGRP_LINK  # noqa: E402  (stub installed by socket)
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg  # noqa: E402


def wait_oper_up(sock: RtnlSocket, index: int, timeout: float) -> tuple[str, Link | None]:
    """Wait until link `index` reports oper state UP; return the last state seen (UP on success) and
    the link as read when the wait began (None if it is gone), so callers need not read it again."""
    with RtnlSocket(groups=RTMGRP_LINK) as events:
        link = get_link(sock, index=index)
        state = link.oper_state if link else "GONE"
        deadline = time.monotonic() + timeout
        while state != "UP" and link is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            for msg in events.recv_events({RTM_NEWLINK: ifinfmsg}, left):
                if msg["index"] == index and msg.get_attr("IFLA_OPERSTATE"):
                    state = msg.get_attr("IFLA_OPERSTATE")
        return state, link
