"""Find the host interface that routes to a container address (where portmap turns on route_localnet).

route_localnet lets 127.0.0.1:hostPort be DNATed out of that interface; the backends add a rule that
drops off-box packets with a 127.0.0.0/8 source, which route_localnet would otherwise route.
"""

from __future__ import annotations

import socket


def route_interface(ip: str) -> str:
    """Name of the output interface of the kernel's route to `ip`."""
    from libcni.nl.route import route_get_oif
    from libcni.nl.socket import RtnlSocket

    with RtnlSocket() as sock:
        return socket.if_indextoname(route_get_oif(sock, ip))
