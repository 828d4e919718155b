"""ipMasq: SNAT traffic from a container's addresses to anywhere outside their subnets.

Two backends with the reference's exact layout, so the Go bridge and ours clean up after each other:
`iptables` (a `CNI-<hash>` chain per container in table nat, jumped to from POSTROUTING) and
`nftables` (rules in `inet cni_plugins_masquerade`, found again by their comment hash). Each call
makes one netfilter batch per family; teardown always tries both backends and, unlike the reference,
needs no addresses (it finds the rules by container), so it works when the netns is already gone.
"""

from __future__ import annotations

from collections.abc import Callable

from libcni.errors import CNIError, InvalidConfig
from libcni.netfilter import default_backend

BACKENDS = ("iptables", "nftables")


def validate_backend(backend: str) -> str:
    if backend and backend not in BACKENDS:
        raise InvalidConfig(f'unknown ipmasq backend "{backend}"')
    return backend


def setup(backend: str, ips: list[str], network: str, ifname: str, container_id: str) -> None:
    """Masquerade traffic from `ips` (CIDRs with host bits) leaving their subnets."""
    backend = backend or default_backend()
    if backend == "iptables":
        from libcni.ipmasq import iptables

        iptables.setup(ips, network, container_id)
    elif backend == "nftables":
        from libcni.ipmasq import nftables

        nftables.setup(ips, network, ifname, container_id)
    else:
        raise InvalidConfig(f'unknown ipmasq backend "{backend}"')


def _both_backends(what: str, steps: list[Callable[[], None]]) -> None:
    """Run one step per backend; every step runs, and the failures are raised together.

    A backend whose tool is not installed holds no rules: that is not a failure (the reference skips
    a backend the host does not support, too).
    """
    errors = []
    for step in steps:
        try:
            step()
        except FileNotFoundError:
            continue
        except (CNIError, OSError) as err:
            errors.append(str(err))
    if errors:
        raise CNIError(f"failed to {what} ipMasq rules", "\n".join(errors))


def teardown(ips: list[str], network: str, ifname: str, container_id: str) -> None:
    """Remove this attachment's rules from both backends; missing rules are not an error.

    `ips` only narrows which iptables families are looked at; empty means both.
    """
    from libcni.ipmasq import iptables, nftables

    families = sorted({6 if ":" in ip else 4 for ip in ips}) or [4, 6]
    _both_backends(
        "remove",
        [
            lambda: iptables.teardown(network, container_id, families),
            lambda: nftables.teardown(network, ifname, container_id),
        ],
    )


def gc(network: str, valid: list[tuple[str, str]]) -> None:
    """Remove this network's rules whose (containerID, ifname) is not in `valid`."""
    from libcni.ipmasq import iptables, nftables

    _both_backends(
        "garbage-collect",
        [lambda: iptables.gc(network, {cid for cid, _ in valid}), lambda: nftables.gc(network, valid)],
    )
