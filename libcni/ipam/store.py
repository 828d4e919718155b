"""The host-local store: who holds which address, in the Go plugin's on-disk layout, plus a memory twin.

On disk (byte-compatible with containernetworking/plugins, so either implementation can take over):
    <dataDir>/<network>/lock                  flock(LOCK_EX) around every call that reads or changes state
    <dataDir>/<network>/<ip>                  "<containerID>\\r\\n<ifname>" (older releases: "<containerID>")
    <dataDir>/<network>/last_reserved_ip.<N>  the last address handed out from range set N
What we add on top, without changing the above:
  - A reservation file appears complete or not at all: its content is written to an unnamed O_TMPFILE
    and then linked into place (link fails if the name exists, which is the reservation test), so a
    process killed at any point leaves no empty file behind (plugins#498). Empty files that crashed Go
    processes left are reclaimed: under the lock, nobody can still be writing them.
  - The lock wait is bounded: past `timeout` the call fails with code 11 instead of hanging.
  - `.pycni-owners.json` caches every (ip -> owner) so that no call reads every file. It is trusted only
    while the directory's mtime equals the value it records; after each write we set the directory's
    mtime to a value in the past that the kernel will never set again, so any create or unlink by the
    Go plugin, an admin or a killed run of ours invalidates it, and the next call rebuilds it by scanning.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import time
from dataclasses import dataclass, field

from libcni.errors import CNIError, TryAgainLater

INDEX = ".pycni-owners.json"
_INDEX_TMP = ".pycni-owners.tmp"
_RESERVE_TMP = ".pycni-reserve.tmp"  # only when O_TMPFILE is unavailable
LAST_RESERVED = "last_reserved_ip."
USE_TMPFILE = hasattr(os, "O_TMPFILE")  # off: always the named-temp-file path (and in its unit test)


def owner_text(container_id: str, ifname: str) -> str:
    return f"{container_id.strip()}\r\n{ifname}"


def holders(owners: dict[str, str], container_id: str, ifname: str) -> list[str]:
    """Addresses held by (container_id, ifname); files naming only the container count when none do."""
    exact = owner_text(container_id, ifname)
    found = [ip for ip, text in owners.items() if text == exact]
    if not found:
        legacy = container_id.strip()
        found = [ip for ip, text in owners.items() if text == legacy]
    return found


def parse_owner(text: str) -> tuple[str, str | None]:
    """(containerID, ifname) of a file's content; ifname None for the legacy id-only form."""
    cid, sep, ifname = text.partition("\r\n")
    return (cid, ifname) if sep else (cid, None)


def _is_ip_name(name: str) -> bool:
    # Cheap filter before a real parse: reservation names are v4 dotted quads or v6 hex with colons.
    if name.startswith(".") or name == "lock" or name.startswith(LAST_RESERVED):
        return False
    return all(c in "0123456789abcdefABCDEF.:" for c in name)


@dataclass
class MemorySession:
    """The store's in-memory twin (unit tests, and the model the disk session mirrors)."""

    owners: dict[str, str] = field(default_factory=dict)
    last: dict[int, str] = field(default_factory=dict)

    def reserve(self, ip: str, owner: str) -> bool:
        if self.owners.get(ip):
            return False
        self.owners[ip] = owner
        return True

    def release(self, ip: str) -> None:
        self.owners.pop(ip, None)

    def last_reserved(self, set_id: int) -> str | None:
        return self.last.get(set_id)

    def set_last_reserved(self, set_id: int, ip: str) -> None:
        self.last[set_id] = ip


class DiskSession(MemorySession):
    """One locked view of a network directory; `owners` mirrors the per-IP files, which stay the truth."""

    def __init__(self, dirfd: int) -> None:
        super().__init__()
        self.dirfd = dirfd
        self.dirty = False
        self._load()

    # -- reading ------------------------------------------------------------------------------
    def _read(self, name: str) -> str | None:
        """The whole file, whitespace-trimmed as the reference compares it; None if it does not exist."""
        try:
            fd = os.open(name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=self.dirfd)
        except FileNotFoundError:
            return None
        try:
            chunks = [os.read(fd, 65536)]
            while len(chunks[-1]) == 65536:
                chunks.append(os.read(fd, 1 << 20))
            return b"".join(chunks).decode(errors="replace").strip()
        finally:
            os.close(fd)

    def _load(self) -> None:
        mtime = os.fstat(self.dirfd).st_mtime_ns
        text = self._read(INDEX)
        if text:
            try:
                doc = json.loads(text)
                if doc.get("mtime") == mtime and isinstance(doc.get("owners"), dict):
                    self.owners = doc["owners"]
                    return
            except ValueError:
                pass
        self._scan()

    def _scan(self) -> None:
        import ipaddress

        owners: dict[str, str] = {}
        with os.scandir(self.dirfd) as entries:
            for entry in entries:
                if not _is_ip_name(entry.name) or not entry.is_file(follow_symlinks=False):
                    continue
                try:
                    ipaddress.ip_address(entry.name)
                except ValueError:
                    continue
                content = self._read(entry.name)
                if content is not None:
                    owners[entry.name] = content
        self.owners = owners
        self.dirty = True  # record what we found, so the next call need not scan

    # -- writing ------------------------------------------------------------------------------
    def _link_new(self, ip: str, data: bytes) -> None:
        """Create file `ip` holding `data`, atomically; FileExistsError if the name is taken."""
        fd = -1
        if USE_TMPFILE:
            try:
                fd = os.open(".", os.O_TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=self.dirfd)
            except OSError as err:
                if err.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                    raise
        if fd >= 0:
            try:
                os.write(fd, data)
                # linkat(AT_SYMLINK_FOLLOW) on the /proc link names the unnamed inode (no CAP needed).
                os.link(f"/proc/self/fd/{fd}", ip, src_dir_fd=self.dirfd, dst_dir_fd=self.dirfd, follow_symlinks=True)
                return
            except OSError as err:
                if err.errno == errno.EEXIST:
                    raise FileExistsError(errno.EEXIST, "reserved", ip) from None
                # No /proc, or a file system that cannot link an unnamed file: use a named temp file.
            finally:
                os.close(fd)
        self._link_via_named_temp(ip, data)

    def _link_via_named_temp(self, ip: str, data: bytes) -> None:
        fd = os.open(_RESERVE_TMP, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600, dir_fd=self.dirfd)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        try:
            os.link(_RESERVE_TMP, ip, src_dir_fd=self.dirfd, dst_dir_fd=self.dirfd)
        finally:
            os.unlink(_RESERVE_TMP, dir_fd=self.dirfd)

    def reserve(self, ip: str, owner: str) -> bool:
        if self.owners.get(ip):
            return False
        data = owner.encode()
        for _attempt in range(2):
            try:
                self._link_new(ip, data)
            except FileExistsError:
                current = self._read(ip)
                if current == "":
                    # An empty file: a writer died between create and write (we hold the lock, so
                    # nobody is writing it now). It holds nothing; reclaim it.
                    os.unlink(ip, dir_fd=self.dirfd)
                    continue
                if current is not None:
                    self.owners[ip] = current
                    self.dirty = True
                    return False
                continue  # released between our link and read: try again
            self.owners[ip] = owner
            self.dirty = True
            return True
        return False

    def release(self, ip: str) -> None:
        try:
            os.unlink(ip, dir_fd=self.dirfd)
        except FileNotFoundError:
            pass
        if self.owners.pop(ip, None) is not None:
            self.dirty = True

    def last_reserved(self, set_id: int) -> str | None:
        return self._read(f"{LAST_RESERVED}{set_id}") or None

    def set_last_reserved(self, set_id: int, ip: str) -> None:
        # Written in place, like the reference: a torn value only restarts round robin at rangeStart.
        fd = os.open(
            f"{LAST_RESERVED}{set_id}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600, dir_fd=self.dirfd
        )
        try:
            os.write(fd, ip.encode())
        finally:
            os.close(fd)

    def flush(self) -> None:
        """Record `owners` in the index and stamp the directory so that the index can be trusted."""
        if not self.dirty:
            return
        atime = os.fstat(self.dirfd).st_atime_ns
        # One second in the past: every later create/unlink sets the current time, which differs.
        # Set it first to learn what the file system stores (its timestamp granularity may be coarse).
        os.utime(self.dirfd, ns=(atime, time.time_ns() - 1_000_000_000))
        stamp = os.fstat(self.dirfd).st_mtime_ns
        data = json.dumps({"mtime": stamp, "owners": self.owners}, separators=(",", ":")).encode()
        fd = os.open(_INDEX_TMP, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600, dir_fd=self.dirfd)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        os.replace(_INDEX_TMP, INDEX, src_dir_fd=self.dirfd, dst_dir_fd=self.dirfd)
        # The rename moved the mtime on; put the recorded stamp back. A crash before this line only
        # leaves an index that the next call distrusts and rebuilds.
        os.utime(self.dirfd, ns=(atime, stamp))
        self.dirty = False


def _lock(fd: int, path: str, timeout: float) -> None:
    """flock(LOCK_EX) with a bounded wait. flock has no timeout and a SIGALRM would be process-global
    state (we also run inside bridge), so poll with a short back-off; the holder is a short CNI call."""
    deadline = time.monotonic() + timeout
    delay = 0.001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            pass
        now = time.monotonic()
        if now >= deadline:
            raise TryAgainLater(
                f"timed out after {timeout:g}s waiting for the lock on {path}",
                "another CNI call on this network holds it; try again later",
            )
        time.sleep(min(delay, deadline - now))
        delay = min(delay * 2, 0.05)


def locked(data_dir: str, network: str, timeout: float, create: bool = True) -> Locked:
    """A locked session on <data_dir>/<network> (`with locked(...) as session`); the session is None
    when the directory is missing and `create` is False. The index is flushed on a clean exit only."""
    return Locked(os.path.join(data_dir, network), timeout, create)


class Locked:
    """The context manager behind `locked`: a class, not contextlib's @contextmanager, whose import
    (~0.4 ms) every host-local call would pay. Both descriptors are closed on every path."""

    def __init__(self, path: str, timeout: float, create: bool) -> None:
        self.path, self.timeout, self.create = path, timeout, create
        self.dirfd = self.lockfd = -1
        self.session: DiskSession | None = None

    def __enter__(self) -> DiskSession | None:
        if self.create:
            try:
                os.makedirs(self.path, mode=0o755, exist_ok=True)
            except OSError as err:
                raise CNIError(
                    f"cannot create the host-local state directory {self.path}", err.strerror or str(err)
                ) from None
        try:
            self.dirfd = os.open(self.path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            if self.create:
                raise
            return None
        try:
            self.lockfd = os.open("lock", os.O_RDONLY | os.O_CREAT | os.O_CLOEXEC, 0o600, dir_fd=self.dirfd)
            _lock(self.lockfd, self.path, self.timeout)
            self.session = DiskSession(self.dirfd)
        except BaseException:
            self._close()
            raise
        return self.session

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None and self.session is not None:
                try:
                    self.session.flush()
                except OSError as err:
                    # The per-IP files are already right; a stale index is detected and rebuilt next time.
                    from libcni import log

                    log.warning(f"host-local: cannot update the index in {self.path}: {err}")
        finally:
            self._close()

    def _close(self) -> None:
        if self.lockfd >= 0:
            os.close(self.lockfd)  # closing the only descriptor releases the flock
        if self.dirfd >= 0:
            os.close(self.dirfd)
