"""ipMasq with nftables: the reference's `inet cni_plugins_masquerade` table, one `nft -f` per call.

Layout (as knftables writes it for the reference): chain `masq_checks` with one rule per address,
`ip saddr == <ip> ip daddr != <subnet> masquerade`, commented `<hash16(net)>-<hash16(if:cid)>, net: ..,
if: .., id: ..`; base chain `postrouting` (nat, srcnat) rebuilt on every ADD: skip multicast, then
`goto masq_checks`. Rules are found again by their comment prefix, so DEL needs no addresses.
"""

from __future__ import annotations

import ipaddress

from libcni import digest, netfilter

TABLE = "cni_plugins_masquerade"
CHAIN = "masq_checks"
_T = f"inet {TABLE}"
COMMENT_MAX = 128


def _hash16(text: str) -> str:
    return digest.sha512(text.encode()).hexdigest()[:16]


def hash_for_network(network: str) -> str:
    return _hash16(network)


def hash_for_instance(network: str, ifname: str, container_id: str) -> str:
    return f"{_hash16(network)}-{_hash16(ifname + ':' + container_id)}"


def comment_for_instance(network: str, ifname: str, container_id: str) -> str:
    strip = lambda s: s.replace('"', "")  # noqa: E731
    text = (
        f"{hash_for_instance(network, ifname, container_id)}, net: {strip(network)}, if: {strip(ifname)}, "
        f"id: {strip(container_id)}"
    )
    return text[:COMMENT_MAX]


def _rules(prefix: str) -> list[tuple[int, str]]:
    """(handle, comment) of masq_checks rules whose comment starts with `prefix`."""
    out = []
    for item in netfilter.nft_list_json("chain", "inet", TABLE, CHAIN):
        rule = item.get("rule")
        if rule and str(rule.get("comment", "")).startswith(prefix):
            out.append((int(rule["handle"]), str(rule["comment"])))
    return out


def setup(ips: list[str], network: str, ifname: str, container_id: str) -> None:
    cmt = comment_for_instance(network, ifname, container_id)
    stale = _rules(hash_for_instance(network, ifname, container_id))
    lines = [
        f'add table {_T} {{ comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }}',
        f'add chain {_T} {CHAIN} {{ comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside '
        f'their subnet" ; }}',
        f"add chain {_T} postrouting {{ type nat hook postrouting priority srcnat ; }}",
        f"flush chain {_T} postrouting",
        f"add rule {_T} postrouting ip daddr == 224.0.0.0/4  return",
        f"add rule {_T} postrouting ip6 daddr == ff00::/8  return",
        f"add rule {_T} postrouting goto {CHAIN}",
    ]
    lines += [f"delete rule {_T} {CHAIN} handle {handle}" for handle, _ in stale]
    for ip in ips:
        iface = ipaddress.ip_interface(ip)
        fam = "ip" if iface.version == 4 else "ip6"
        lines.append(
            f'add rule {_T} {CHAIN} {fam} saddr == {iface.ip} {fam} daddr != {iface.network} masquerade comment "{cmt}"'
        )
    netfilter.nft_apply("\n".join(lines) + "\n")


def _delete(handles: list[int]) -> None:
    if handles:
        netfilter.nft_apply("".join(f"delete rule {_T} {CHAIN} handle {h}\n" for h in handles))


def teardown(network: str, ifname: str, container_id: str) -> None:
    _delete([h for h, _ in _rules(hash_for_instance(network, ifname, container_id))])


def gc(network: str, valid: list[tuple[str, str]]) -> None:
    keep = {comment_for_instance(network, ifname, cid) for cid, ifname in valid}
    _delete([h for h, c in _rules(hash_for_network(network)) if c not in keep])
