"""A plain synchronous rtnetlink socket that speaks pyroute2's message classes.

pyroute2's own IPRoute pulls in its asyncio transport; we only need request/response on one socket,
so this module sends encoded pyroute2 messages and decodes the replies with the same classes. A
socket belongs to the network namespace that was current when it was opened: open it inside
`NetNS.entered()` to work in a container.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from typing import Any

from libcni.nl import loader

loader.install_stub()

from pyroute2.netlink import (  # noqa: E402
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_REQUEST,
)

NLMSG_ERROR = 2
NLMSG_DONE = 3
_HEADER = struct.Struct("IHHII")

__all__ = ["NLM_F_ACK", "NLM_F_CREATE", "NLM_F_DUMP", "NLM_F_EXCL", "NLM_F_REQUEST", "NetlinkError", "RtnlSocket"]


class NetlinkError(OSError):
    """A negative netlink ack; `.errno` is the errno value (compare with errno.EEXIST etc.)."""

    def __init__(self, code: int, what: str = "") -> None:
        super().__init__(code, f"{what}: {os.strerror(code)}" if what else os.strerror(code))


class RtnlSocket:
    """One NETLINK_ROUTE socket; `request` sends a message and returns the decoded replies."""

    def __init__(self, groups: int = 0) -> None:
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.sock.bind((0, groups))
        self.seq = 0

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RtnlSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def fileno(self) -> int:
        return self.sock.fileno()

    def request(self, msg: Any, msg_type: int, flags: int = 0, reply_class: Any = None, what: str = "") -> list:
        """Send `msg` (a pyroute2 nlmsg) and collect replies until the ack or NLMSG_DONE."""
        self.seq += 1
        seq = self.seq
        msg["header"]["type"] = msg_type
        msg["header"]["flags"] = NLM_F_REQUEST | NLM_F_ACK | flags
        msg["header"]["sequence_number"] = seq
        msg.encode()
        self.sock.send(msg.data)
        cls = reply_class or type(msg)
        replies: list = []
        while True:
            data = self.sock.recv(1 << 20)
            offset = 0
            while offset < len(data):
                length, kind, _flags, rseq, _pid = _HEADER.unpack_from(data, offset)
                if length < _HEADER.size:
                    raise NetlinkError(errno.EPROTO, "truncated netlink message")
                chunk = data[offset : offset + length]
                offset += length
                if rseq != seq:
                    continue  # a late reply to an earlier request, or a multicast message
                if kind == NLMSG_ERROR:
                    code = -struct.unpack_from("i", chunk, _HEADER.size)[0]
                    if code:
                        raise NetlinkError(code, what)
                    return replies
                if kind == NLMSG_DONE:
                    return replies
                reply = cls(chunk)
                reply.decode()
                replies.append(reply)

    def dump(self, msg: Any, msg_type: int, what: str = "") -> list:
        return self.request(msg, msg_type, NLM_F_DUMP, what=what)

    def recv_events(self, cls_by_type: dict[int, Any], timeout: float) -> list:
        """Read multicast messages that arrive within `timeout` seconds (after bind with groups)."""
        import select

        ready, _, _ = select.select([self.sock], [], [], timeout)
        if not ready:
            return []
        data = self.sock.recv(1 << 20)
        events, offset = [], 0
        while offset < len(data):
            length, kind = _HEADER.unpack_from(data, offset)[:2]
            chunk = data[offset : offset + length]
            offset += length
            cls = cls_by_type.get(kind)
            if cls is not None:
                msg = cls(chunk)
                msg.decode()
                events.append(msg)
        return events
