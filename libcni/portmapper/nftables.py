"""nftables backend: the Go plugin's `ip`/`ip6 cni_hostport` tables, one `nft -f -` transaction per call.

Layout per family (see cni/portmap/README.md):
  prerouting, output  (nat, priority dstnat)  fib daddr type local jump hostports_all
  hostports_all       jump hostip_hostports; jump hostports
  hostports           per mapping: [conditions] [ip daddr HOSTIP] proto dport P dnat to IP:PORT  comment CID
  masquerading        (nat, priority srcnat)  hairpin from the container's subnet, and 127.0.0.1 (v4)
  localnet            (filter, priority raw, v4 with snat)  drop off-box packets from 127.0.0.0/8
  owners              (never jumped to) one inert rule per attachment, comment "<network>/<cid>", so GC
                      can tell which container IDs belong to which network
Differences from the reference, on purpose: conditions live on each container's DNAT rules (not on the
shared prerouting jump, where the last ADD's conditions applied to everybody); hairpin masquerade covers
the container's whole subnet (as the iptables backend does) but only for DNATed flows (`ct status dnat`);
DEL matches comment == container ID *and* the container's IPs when prevResult names them, so two
networks of one container do not delete each other's rules. Rules keep comment == container ID, so the
Go plugin's DEL removes ours and ours removes its.
"""

from __future__ import annotations

from collections.abc import Callable

from libcni import netfilter
from libcni.errors import CNIError
from libcni.portmapper.model import Forward, Owner

TABLE = "cni_hostport"
RULE_CHAINS = ("hostports", "hostip_hostports", "masquerading", "owners")
_KW = {4: "ip", 6: "ip6"}


def owner_tag(network: str, container_id: str) -> str:
    """The owners-chain comment; nft comments hold 128 bytes, so long network names are hashed."""
    tag = f"{network}/{container_id}"
    if len(tag.encode()) <= 127:
        return tag
    return f"{_network_hash(network)}/{container_id}"


def _network_hash(network: str) -> str:
    from libcni import digest

    return digest.sha256(network.encode()).hexdigest()[:16]


def _skeleton(family: int, localnet: bool) -> list[str]:
    fam = f"{_KW[family]} {TABLE}"
    lines = [
        f'add table {fam} {{ comment "CNI portmap plugin" ; }}',
        *(f"add chain {fam} {c}" for c in ("hostports", "hostip_hostports", "hostports_all", "owners")),
        f"flush chain {fam} hostports_all",
        f"add rule {fam} hostports_all jump hostip_hostports",
        f"add rule {fam} hostports_all jump hostports",
        f"add chain {fam} masquerading {{ type nat hook postrouting priority 100 ; }}",
    ]
    for hook in ("prerouting", "output"):
        lines += [
            f"add chain {fam} {hook} {{ type nat hook {hook} priority -100 ; }}",
            f"flush chain {fam} {hook}",
            f"add rule {fam} {hook} fib daddr type local jump hostports_all",
        ]
    if localnet:
        lines += [
            f"add chain {fam} localnet {{ type filter hook prerouting priority -300 ; }}",
            f"flush chain {fam} localnet",
            f'add rule {fam} localnet iifname != "lo" ip saddr 127.0.0.0/8 drop',
        ]
    return lines


def forward_rules(fwd: Forward) -> list[str]:
    """The rules one attachment adds in one family (after the skeleton)."""
    kw = _KW[fwd.family]
    fam = f"{kw} {TABLE}"
    cid = fwd.container_id
    conds = " ".join(fwd.conditions) + " " if fwd.conditions else ""
    rules = []
    for m in fwd.mappings:
        daddr = f"{kw} daddr {m.host_ip} " if m.host_ip else ""
        to = f"{fwd.container_ip}:{m.container_port}" if fwd.family == 4 else f"[{fwd.container_ip}]:{m.container_port}"
        rules.append(
            f'add rule {fam} hostports {conds}{daddr}{m.protocol} dport {m.host_port} dnat to {to} comment "{cid}"'
        )
    if fwd.masq.snat:
        src = ("0.0.0.0/0" if fwd.family == 4 else "::/0") if fwd.masq.masq_all else fwd.container_net
        hairpin = f"{kw} saddr {src} {kw} daddr {fwd.container_ip} ct status dnat"
        rules.append(f'add rule {fam} masquerading {hairpin} masquerade comment "{cid}"')
        if fwd.family == 4 and not fwd.masq.masq_all:
            rules.append(
                f'add rule {fam} masquerading ip saddr 127.0.0.1 ip daddr {fwd.container_ip} masquerade comment "{cid}"'
            )
    tag = owner_tag(fwd.network, cid)
    rules.append(f'add rule {fam} owners {kw} daddr {fwd.container_ip} return comment "{tag}"')
    return rules


def _rule_ips(rule: dict) -> set[str]:
    """Addresses a rule points at: its DNAT target and any destination-address match."""
    out = set()
    for expr in rule.get("expr", []):
        if "dnat" in expr and isinstance(expr["dnat"], dict):
            out.add(str(expr["dnat"].get("addr")))
        match = expr.get("match")
        if (
            match
            and match.get("left", {}).get("payload", {}).get("field") == "daddr"
            and isinstance(match.get("right"), str)
        ):
            out.add(match["right"])
    return out


def _udp_port(rule: dict) -> int | None:
    for expr in rule.get("expr", []):
        payload = expr.get("match", {}).get("left", {}).get("payload", {})
        if (
            payload.get("protocol") == "udp"
            and payload.get("field") == "dport"
            and isinstance(expr["match"]["right"], int)
        ):
            return int(expr["match"]["right"])
    return None


def _rules(family: int) -> list[dict]:
    items = netfilter.nft_list_json("table", _KW[family], TABLE)
    return [i["rule"] for i in items if "rule" in i and i["rule"].get("chain") in RULE_CHAINS]


class NftablesMapper:
    """PortMapper over `nft`: one transaction for every change of a call, one listing per family read."""

    def forward(self, fwds: list[Forward]) -> None:
        lines: list[str] = []
        for fwd in fwds:
            lines += _skeleton(fwd.family, localnet=fwd.family == 4 and fwd.masq.snat)
            lines += forward_rules(fwd)
        if lines:
            netfilter.nft_apply("\n".join(lines) + "\n")

    def check(self, fwds: list[Forward]) -> None:
        for fwd in fwds:
            items = netfilter.nft_list_json("table", _KW[fwd.family], TABLE)
            mine = [i["rule"] for i in items if "rule" in i and i["rule"].get("comment") == fwd.container_id]
            for m in fwd.mappings:
                if not any(
                    r["chain"] == "hostports"
                    and _matches_mapping(r, m.protocol, m.host_port, fwd.container_ip, m.container_port)
                    for r in mine
                ):
                    raise CNIError(f"nftables DNAT rule missing for {m.protocol}/{m.host_port} (IPv{fwd.family})")
            want = (2 if fwd.family == 4 and not fwd.masq.masq_all else 1) if fwd.masq.snat else 0
            have = sum(1 for r in mine if r["chain"] == "masquerading" and fwd.container_ip in _rule_ips(r))
            if have < want:
                raise CNIError(f"nftables masquerade rules missing for {fwd.container_ip} ({have} of {want})")
            hooked = {i["rule"]["chain"] for i in items if "rule" in i and _jumps(i["rule"], "hostports_all")}
            if not {"prerouting", "output"} <= hooked:
                raise CNIError(f"nftables prerouting/output jump to hostports_all missing (IPv{fwd.family})")

    def unforward(self, owner: Owner) -> dict[int, set[int]]:
        tag = owner_tag(owner.network, owner.container_id)
        return self._delete(lambda r: _owned(r, owner, tag))

    def gc(self, network: str, valid_ids: set[str]) -> dict[int, set[int]]:
        keys = {network, _network_hash(network)}
        stale: dict[str, set[str]] = {}  # container ID -> its addresses, over both families
        for family in (4, 6):
            for rule in _rules(family):
                net, _, cid = str(rule.get("comment", "")).rpartition("/")
                if rule["chain"] == "owners" and net in keys and cid not in valid_ids:
                    stale.setdefault(cid, set()).update(_rule_ips(rule))
        owners = {owner_tag(network, cid): Owner(network, cid, tuple(ips)) for cid, ips in stale.items()}
        if not owners:
            return {}
        return self._delete(lambda r: any(_owned(r, o, t) for t, o in owners.items()))

    def _delete(self, wanted: Callable[[dict], bool]) -> dict[int, set[int]]:
        lines: list[str] = []
        udp: dict[int, set[int]] = {}
        for family in (4, 6):
            for rule in _rules(family):
                if wanted(rule):
                    lines.append(f"delete rule {_KW[family]} {TABLE} {rule['chain']} handle {rule['handle']}")
                    port = _udp_port(rule) if rule["chain"] == "hostports" else None
                    if port:
                        udp.setdefault(family, set()).add(port)
        if lines:
            netfilter.nft_apply("\n".join(lines) + "\n")
        return udp


def _owned(rule: dict, owner: Owner, tag: str) -> bool:
    comment = rule.get("comment")
    if rule.get("chain") == "owners":
        return comment == tag
    if comment != owner.container_id:
        return False
    return not owner.ips or bool(_rule_ips(rule) & set(owner.ips))


def _jumps(rule: dict, target: str) -> bool:
    return any(e.get("jump", {}).get("target") == target for e in rule.get("expr", []))


def _matches_mapping(rule: dict, proto: str, host_port: int, ip: str, port: int) -> bool:
    dport = dnat = False
    for expr in rule.get("expr", []):
        payload = expr.get("match", {}).get("left", {}).get("payload", {})
        if payload.get("protocol") == proto and payload.get("field") == "dport" and expr["match"]["right"] == host_port:
            dport = True
        if isinstance(expr.get("dnat"), dict) and expr["dnat"].get("addr") == ip and expr["dnat"].get("port") == port:
            dnat = True
    return dport and dnat
