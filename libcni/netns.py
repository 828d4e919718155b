"""Network namespaces by file descriptor: open a path, prove it is a netns, run work inside it.

Typed errors let DEL tell "already gone" (NetNSNotFound) from "not a namespace" (NotANetNS). Entering
is in-process with setns(2) on the calling thread (no fork), and the thread always comes back.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from libcni.errors import InvalidNetNS

CLONE_NEWNET = 0x40000000
NS_GET_NSTYPE = 0xB703  # ioctl: which kind of namespace an nsfs fd is


class NetNSNotFound(InvalidNetNS):
    """The path does not exist: for DEL, the namespace is already gone."""


class NotANetNS(InvalidNetNS):
    """The path exists but is not a network namespace (a plain file, another ns type...)."""


def _setns(fd: int) -> None:
    if hasattr(os, "setns"):  # Python 3.12+
        os.setns(fd, CLONE_NEWNET)
        return
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


class NetNS:
    """An open network namespace; close it when done (it is also a context manager)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise NetNSNotFound(f'failed to open netns "{path}"', "no such file or directory") from None
        except OSError as err:
            raise InvalidNetNS(f'failed to open netns "{path}"', err.strerror or str(err)) from None
        try:
            self._check_is_netns()
        except InvalidNetNS:
            os.close(self.fd)
            raise

    def _check_is_netns(self) -> None:
        import fcntl

        try:
            kind = fcntl.ioctl(self.fd, NS_GET_NSTYPE)
        except OSError:
            raise NotANetNS(f'"{self.path}" is not a network namespace', "it is not an nsfs file") from None
        if kind != CLONE_NEWNET:
            raise NotANetNS(f'"{self.path}" is not a network namespace', "it is a namespace of another kind")

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> NetNS:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def entered(self) -> Iterator[None]:
        """Run the body inside this namespace; the thread returns to its own namespace afterwards."""
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        try:
            _setns(self.fd)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(home)

