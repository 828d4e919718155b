"""Netfilter batches: one `iptables-restore --noflush` per family, or one `nft -f -` transaction.

Every change a plugin makes to the firewall in one call goes through one of these, never one exec
per rule (each iptables exec takes the xtables lock and rewrites the table).
"""

from __future__ import annotations

import json
import os

from libcni.errors import CNIError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without loading typing at run time
if TYPE_CHECKING:
    from libcni.proc import Completed

IPTABLES_RESTORE = {4: "iptables-restore", 6: "ip6tables-restore"}
IPTABLES_SAVE = {4: "iptables-save", 6: "ip6tables-save"}


def _on_path(name: str) -> bool:
    return any(
        os.access(os.path.join(d, name), os.X_OK) for d in os.environ.get("PATH", "/usr/sbin:/sbin").split(":") if d
    )


def default_backend() -> str:
    """The reference's choice for ipMasq and portmap: iptables, unless only nftables is installed.

    Config loading calls this, so this module keeps `proc` (and its poll loop) out of its imports.
    """
    if not _on_path("iptables-restore") and _on_path("nft"):
        return "nftables"
    return "iptables"


def _run(argv: list[str], stdin: bytes = b"") -> Completed:
    from libcni import proc

    return proc.run(argv, stdin)


def iptables_restore(family: int, payload: str, check: bool = True) -> bool:
    """Apply an iptables-restore payload (with its own *table / COMMIT lines) without flushing.

    A failed batch changes nothing (each table commits atomically). With `check=False` a failure
    returns False instead of raising, for callers that try an optimistic batch first.
    """
    done = _run([IPTABLES_RESTORE[family], "--noflush", "--wait"], payload.encode())
    if done.returncode != 0 and not check:
        return False
    if done.returncode != 0:
        raise CNIError(
            f"{IPTABLES_RESTORE[family]} failed",
            f"{done.stderr.decode(errors='replace').strip()}\n--- payload ---\n{payload}",
        )
    return True


def iptables_save(family: int, table: str = "") -> str:
    """The dump of one table, or of every table when `table` is empty."""
    done = _run([IPTABLES_SAVE[family], *(("-t", table) if table else ())])
    if done.returncode != 0:
        raise CNIError(f"{IPTABLES_SAVE[family]} failed", done.stderr.decode(errors="replace").strip())
    return done.stdout.decode()


def nft_apply(payload: str) -> None:
    """Apply an nft script as one atomic transaction."""
    done = _run(["nft", "-f", "-"], payload.encode())
    if done.returncode != 0:
        raise CNIError("nft failed", f"{done.stderr.decode(errors='replace').strip()}\n--- payload ---\n{payload}")


def nft_list_json(*what: str) -> list[dict]:
    """`nft -j list <what>` as the list under "nftables"; [] when the object does not exist."""
    done = _run(["nft", "-j", "list", *what])
    if done.returncode != 0:
        text = done.stderr.decode(errors="replace")
        if "No such file or directory" in text or "does not exist" in text:
            return []
        raise CNIError(f"nft list {' '.join(what)} failed", text.strip())
    return list(json.loads(done.stdout or b"{}").get("nftables", []))
