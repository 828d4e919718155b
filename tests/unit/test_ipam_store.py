"""The disk store on a real directory: Go's layout, atomic reservations, the index and its invalidation,
orphan reclaim and the bounded lock wait. No root needed."""

from __future__ import annotations

import fcntl
import os
import time

import pytest

from libcni.errors import TryAgainLater
from libcni.ipam import store


def session(path, timeout=5.0):
    return store.locked(str(path), "hlnet", timeout)


def test_layout_is_the_go_plugins(tmp_path):
    with session(tmp_path) as s:
        assert s.reserve("10.0.0.2", "cid\r\neth0")
        s.set_last_reserved(0, "10.0.0.2")
    net = tmp_path / "hlnet"
    assert (net / "10.0.0.2").read_bytes() == b"cid\r\neth0"
    assert (net / "last_reserved_ip.0").read_bytes() == b"10.0.0.2"
    assert (net / "lock").exists()
    assert oct(os.stat(net).st_mode & 0o777) == "0o755"
    assert not [n for n in os.listdir(net) if "tmp" in n]


def test_reserve_is_exclusive_and_reclaims_empty_orphans(tmp_path):
    net = tmp_path / "hlnet"
    net.mkdir()
    (net / "10.0.0.3").write_bytes(b"")  # what a Go process killed between create and write leaves
    (net / "10.0.0.4").write_bytes(b"go\r\neth0")
    with session(tmp_path) as s:
        assert not s.reserve("10.0.0.4", "me\r\neth0")
        del s.owners["10.0.0.4"]  # hide it from the mirror: the link itself must refuse
        assert not s.reserve("10.0.0.4", "me\r\neth0")
        assert s.reserve("10.0.0.3", "me\r\neth0")
    assert (net / "10.0.0.3").read_bytes() == b"me\r\neth0"
    assert (net / "10.0.0.4").read_bytes() == b"go\r\neth0"


def test_named_temp_file_fallback_is_exclusive_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "USE_TMPFILE", False)
    with session(tmp_path) as s:
        assert s.reserve("10.0.0.2", "a\r\neth0")
        assert not s.reserve("10.0.0.2", "b\r\neth0")
    with session(tmp_path) as s:
        del s.owners["10.0.0.2"]  # hide it from the mirror: the link itself must refuse
        assert not s.reserve("10.0.0.2", "b\r\neth0")
        assert s.owners["10.0.0.2"] == "a\r\neth0"
    net = tmp_path / "hlnet"
    assert (net / "10.0.0.2").read_bytes() == b"a\r\neth0"
    assert sorted(os.listdir(net)) == [store.INDEX, "10.0.0.2", "lock"]


def test_index_is_trusted_until_anyone_else_touches_the_directory(tmp_path, monkeypatch):
    net = tmp_path / "hlnet"
    net.mkdir()
    for i in range(2, 202):
        (net / f"10.0.{i // 250}.{i % 250}").write_bytes(f"c{i}\r\neth0".encode())
    with session(tmp_path) as s:  # first call scans and records the index
        assert len(s.owners) == 200
    reads: list[str] = []
    real_read = store.DiskSession._read

    def counting_read(self, name):
        reads.append(name)
        return real_read(self, name)

    monkeypatch.setattr(store.DiskSession, "_read", counting_read)
    with session(tmp_path) as s:
        assert s.reserve("10.0.1.1", "new\r\neth0")
        s.release("10.0.0.2")
    assert reads == [store.INDEX]  # no per-IP file was read
    # A change the index does not know about (the Go plugin, an admin) makes it rebuild from the files.
    time.sleep(0.01)
    (net / "10.0.0.5").unlink()
    (net / "10.0.2.9").write_bytes(b"go\r\neth0")
    reads.clear()
    with session(tmp_path) as s:
        assert "10.0.0.5" not in s.owners and s.owners["10.0.2.9"] == "go\r\neth0"
        assert s.owners["10.0.1.1"] == "new\r\neth0" and "10.0.0.2" not in s.owners
    assert len(reads) > 200


def test_index_survives_being_killed_between_link_and_flush(tmp_path):
    with session(tmp_path) as s:
        s.reserve("10.0.0.2", "a\r\neth0")
    # Simulate a crash after the link: a session that never flushes.
    cm = session(tmp_path)
    s = cm.__enter__()
    s.reserve("10.0.0.3", "b\r\neth0")
    s.dirty = False
    cm.__exit__(None, None, None)
    with session(tmp_path) as s:
        assert s.owners == {"10.0.0.2": "a\r\neth0", "10.0.0.3": "b\r\neth0"}


def test_lock_wait_is_bounded_with_code_11(tmp_path):
    net = tmp_path / "hlnet"
    net.mkdir()
    fd = os.open(net / "lock", os.O_RDONLY | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        start = time.monotonic()
        with pytest.raises(TryAgainLater) as err:
            with session(tmp_path, timeout=0.2):
                pass
        assert err.value.code == 11
        assert 0.2 <= time.monotonic() - start < 2
    finally:
        os.close(fd)
    with session(tmp_path, timeout=0.2) as s:
        assert s is not None


def test_missing_directory_is_not_created_for_read_only_verbs(tmp_path):
    with store.locked(str(tmp_path), "hlnet", 1.0, create=False) as s:
        assert s is None
    assert not (tmp_path / "hlnet").exists()
