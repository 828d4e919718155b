"""macspoofchk: drop frames from the container's port whose source MAC is not the container's.

The reference's layout in table `bridge nat`: base chain PREROUTING (filter, prerouting, -300)
jumps to `cni-br-iface-<cid>-<ifname>` for the host veth, which jumps to `...-mac`: accept the
container MAC, drop the rest. Every rule is commented `macspoofchk-<cid>-<ifname>`. One `nft -f`.
"""

from __future__ import annotations

from libcni import netfilter

TABLE = "bridge nat"
BASE = "PREROUTING"


def _ref(container_id: str, ifname: str) -> str:
    return f"{container_id}-{ifname}"


def setup(host_veth: str, mac: str, container_id: str, ifname: str) -> None:
    ref = _ref(container_id, ifname)
    iface_chain, mac_chain, cmt = f"cni-br-iface-{ref}", f"cni-br-iface-{ref}-mac", f"macspoofchk-{ref}"
    netfilter.nft_apply(
        "\n".join(
            [
                f"add table {TABLE}",
                f"add chain {TABLE} {BASE} {{ type filter hook prerouting priority -300 ; policy accept ; }}",
                f"add chain {TABLE} {iface_chain}",
                f"add chain {TABLE} {mac_chain}",
                f"flush chain {TABLE} {iface_chain}",
                f"flush chain {TABLE} {mac_chain}",
                f'add rule {TABLE} {BASE} iifname "{host_veth}" jump {iface_chain} comment "{cmt}"',
                f'add rule {TABLE} {iface_chain} jump {mac_chain} comment "{cmt}"',
                f'add rule {TABLE} {mac_chain} ether saddr {mac} return comment "{cmt}"',
                f'add rule {TABLE} {mac_chain} drop comment "{cmt}"',
                "",
            ]
        )
    )


def teardown(container_id: str, ifname: str) -> None:
    ref = _ref(container_id, ifname)
    iface_chain, cmt = f"cni-br-iface-{ref}", f"macspoofchk-{ref}"
    items = netfilter.nft_list_json("table", "bridge", "nat")
    chains = {i["chain"]["name"] for i in items if "chain" in i}
    lines = [
        f"delete rule {TABLE} {BASE} handle {i['rule']['handle']}"
        for i in items
        if "rule" in i and i["rule"].get("chain") == BASE and i["rule"].get("comment") == cmt
    ]
    lines += [f"delete chain {TABLE} {c}" for c in (iface_chain, f"{iface_chain}-mac") if c in chains]
    if lines:
        netfilter.nft_apply("\n".join([*lines, ""]))
