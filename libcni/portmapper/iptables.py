"""iptables backend: the Go plugin's chains, rules and comments, applied as one restore per family.

Layout (table nat, same in ip6tables; see cni/portmap/README.md):
  PREROUTING, OUTPUT  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
  POSTROUTING (pos 1) -j CNI-HOSTPORT-MASQ   (mark-based masquerade, when snat)
  CNI-HOSTPORT-DNAT   one entry per protocol per 15 ports -> CNI-DN-<hash(net+cid)>
  CNI-DN-<hash>       per mapping: hairpin mark, localhost mark (v4), DNAT
and, for IPv4 with snat, one raw PREROUTING rule that drops off-box packets with a 127.0.0.0/8 source
(route_localnet would otherwise route them).

Each call reads the table once with iptables-save (to keep shared rules unique and to find a
container's rules by chain name, whatever mappings the runtime sends; an IPv4 ADD that also needs
raw reads every table in that one exec) and writes once with
`iptables-restore --noflush`. Declaring `:CNI-DN-x` in the payload creates or flushes it, so a
second ADD replaces the chain instead of piling rules up. The shared chains are created with `-N`, so
an ADD racing another first ADD fails its batch (changing nothing) and reads and writes once more.
"""

from __future__ import annotations

import os
import re

from libcni import netfilter
from libcni.errors import CNIError
from libcni.portmapper.model import Forward, Owner, dnat_chain_name, legacy_snat_chain_name

DNAT = "CNI-HOSTPORT-DNAT"
SETMARK = "CNI-HOSTPORT-SETMARK"
MASQ = "CNI-HOSTPORT-MASQ"
LEGACY_SNAT = "CNI-HOSTPORT-SNAT"
MULTIPORT_MAX = 15
LOCALNET_DROP = '-s 127.0.0.0/8 ! -i lo -m comment --comment "CNI portfwd: drop off-box 127.0.0.0/8" -j DROP'
_COMMENT_RE = re.compile(r'--comment "dnat name: \\"([^"\\]*)\\" id: \\"([^"\\]*)\\""')
_UDP_PORT_RE = re.compile(r"-p udp -m udp --dport (\d+)")


def quote(token: str) -> str:
    """Quote one argument the way iptables-save does, so restore parses it back as one token."""
    if token and not re.search(r'[\s"\\\'#]', token):
        return token
    return '"' + token.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Table:
    """One table of an iptables-save dump: chain names and each chain's rule specs, in order."""

    def __init__(self, text: str, table: str) -> None:
        self.chains: dict[str, list[str]] = {}
        current = ""
        for line in text.splitlines():
            if line.startswith("*"):
                current = line[1:]
            elif current != table:
                continue
            elif line.startswith(":"):
                self.chains.setdefault(line[1:].split(" ", 1)[0], [])
            elif line.startswith("-A "):
                chain, _, spec = line[3:].partition(" ")
                self.chains.setdefault(chain, []).append(spec)

    def rules(self, chain: str) -> list[str]:
        return self.chains.get(chain, [])

    def jumps_to(self, target: str) -> list[tuple[str, str]]:
        """(chain, spec) of every rule whose verdict is `-j target`."""
        tail = f"-j {target}"
        return [(c, s) for c, specs in self.chains.items() for s in specs if s == tail or s.endswith(" " + tail)]


def _host(ip: str, family: int) -> str:
    return f"{ip}/{32 if family == 4 else 128}"


def dnat_comment(network: str, container_id: str) -> str:
    text = f'dnat name: "{network}" id: "{container_id}"'
    return text if len(text) <= 255 else text[:253] + "..."


def entry_rules(fwd: Forward) -> list[str]:
    """CNI-HOSTPORT-DNAT rules for one container: per protocol (sorted), groups of at most 15 ports."""
    ports: dict[str, list[int]] = {}
    for m in fwd.mappings:
        group = ports.setdefault(m.protocol, [])
        if m.host_port not in group:
            group.append(m.host_port)
    comment = quote(dnat_comment(fwd.network, fwd.container_id))
    extra = "".join(" " + quote(t) for t in fwd.conditions)
    rules = []
    for proto in sorted(ports):
        group = ports[proto]
        for i in range(0, len(group), MULTIPORT_MAX):
            dports = ",".join(str(p) for p in group[i : i + MULTIPORT_MAX])
            rules.append(
                f"-p {proto} -m comment --comment {comment} -m multiport --dports {dports}{extra} -j {fwd.dnat_chain}"
            )
    return rules


def chain_rules(fwd: Forward) -> list[str]:
    """The per-container chain, in iptables-save's canonical form (so CHECK can compare text)."""
    mark_target = fwd.masq.external_set_mark_chain or SETMARK
    rules = []
    for m in fwd.mappings:
        dst = f"-d {_host(m.host_ip, fwd.family)} " if m.host_ip else ""
        port = f"-p {m.protocol} -m {m.protocol} --dport {m.host_port}"
        if fwd.masq.snat:
            src = "" if fwd.masq.masq_all else f"-s {fwd.container_net} "
            rules.append(f"{src}{dst}{port} -j {mark_target}")
            if fwd.family == 4 and not fwd.masq.masq_all:
                rules.append(f"-s 127.0.0.1/32 {dst}{port} -j {mark_target}")
        to = f"{fwd.container_ip}:{m.container_port}" if fwd.family == 4 else f"[{fwd.container_ip}]:{m.container_port}"
        rules.append(f"{dst}{port} -j DNAT --to-destination {to}")
    return rules


def _shared_rules(nat: Table, fwd: Forward) -> list[str]:
    """Create the shared chains and jumps that are missing (never touching the ones that exist).

    Missing chains are created with `-N`, not declared with `:chain` (which flushes a chain that exists):
    if a concurrent ADD created one since our dump, `-N` fails our whole batch instead of emptying it.
    """
    out = [f"-N {c}" for c in (DNAT,) if c not in nat.chains]
    hooked = {c for c, _ in nat.jumps_to(DNAT)}
    for hook in ("PREROUTING", "OUTPUT"):
        if hook not in hooked:
            out.append(f"-A {hook} -m addrtype --dst-type LOCAL -j {DNAT}")
    if not fwd.masq.snat or fwd.masq.external_set_mark_chain:
        return out
    mark = f"{fwd.masq.mark:#x}/{fwd.masq.mark:#x}"
    for chain in (SETMARK, MASQ):
        if chain not in nat.chains:
            out.append(f"-N {chain}")
    if not any(f"--set-xmark {mark}" in r for r in nat.rules(SETMARK)):
        out.append(f'-A {SETMARK} -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark {mark}')
    if not any(f"--mark {mark}" in r for r in nat.rules(MASQ)):
        out.append(f"-A {MASQ} -m mark --mark {mark} -j MASQUERADE")
    if not any(c == "POSTROUTING" for c, _ in nat.jumps_to(MASQ)):
        out.append(f'-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j {MASQ}')
    return out


def _removal(nat: Table, chain: str) -> list[str]:
    """Delete every jump to `chain`, then flush and delete it (nothing when it does not exist)."""
    out = [f"-D {c} {spec}" for c, spec in nat.jumps_to(chain)]
    if chain in nat.chains:
        out += [f"-F {chain}", f"-X {chain}"]
    return out


def _forward_batch(fwd: Forward, table: str) -> str:
    """The restore payload of one ADD in one family, from a fresh dump of `table` ("" = every table)."""
    dump = netfilter.iptables_save(fwd.family, table)
    nat = Table(dump, "nat")
    chain = fwd.dnat_chain
    lines = ["*nat", *_shared_rules(nat, fwd)]
    lines += [f"-D {c} {spec}" for c, spec in nat.jumps_to(chain)]  # entries of an earlier ADD
    lines.append(f":{chain} - [0:0]")  # creates the chain, or flushes it
    lines += [f"-A {chain} {r}" for r in chain_rules(fwd)]
    lines += [f"-A {DNAT} {r}" for r in entry_rules(fwd)]
    lines.append("COMMIT")
    if not table and LOCALNET_DROP not in Table(dump, "raw").rules("PREROUTING"):
        lines += ["*raw", f"-A PREROUTING {LOCALNET_DROP}", "COMMIT"]
    return "\n".join(lines) + "\n"


def _family_usable(family: int) -> bool:
    return family == 4 or os.path.exists("/proc/net/if_inet6")


class IptablesMapper:
    """PortMapper over iptables-save / iptables-restore --noflush (one of each per family per call; ADD
    does both twice only when it lost a race to create the shared chains)."""

    def forward(self, fwds: list[Forward]) -> None:
        for fwd in fwds:
            # IPv4 with snat also reads raw: one dump of every table instead of a second exec (iptables-nft
            # fetches the whole ruleset for any -t anyway: 21 ms vs 18 + 16 ms with 4000 rules loaded).
            localnet = fwd.family == 4 and fwd.masq.snat
            table = "" if localnet else "nat"
            if netfilter.iptables_restore(fwd.family, _forward_batch(fwd, table), check=False):
                continue
            # A concurrent first ADD created a shared chain after our dump (our `-N` failed and nothing was
            # applied); those chains are never deleted, so a fresh dump makes a batch that applies.
            netfilter.iptables_restore(fwd.family, _forward_batch(fwd, table))

    def check(self, fwds: list[Forward]) -> None:
        for fwd in fwds:
            nat = Table(netfilter.iptables_save(fwd.family, "nat"), "nat")
            chain = fwd.dnat_chain
            if chain not in nat.chains:
                raise CNIError(f"chain {chain} not found in nat (IPv{fwd.family})")
            have = nat.rules(chain)
            for rule in chain_rules(fwd):
                if rule not in have:
                    raise CNIError(f"rule missing in {chain} (IPv{fwd.family})", rule)
            entries = [spec for c, spec in nat.jumps_to(chain) if c == DNAT]
            for rule in entry_rules(fwd):
                proto, ports = rule.split()[1], rule.split("--dports ", 1)[1].split()[0]
                if not any(e.startswith(f"-p {proto} ") and f"--dports {ports} " in e for e in entries):
                    raise CNIError(f"entry rule missing in {DNAT} (IPv{fwd.family})", rule)
            for hook in ("PREROUTING", "OUTPUT"):
                if hook not in {c for c, _ in nat.jumps_to(DNAT)}:
                    raise CNIError(f"jump from {hook} to {DNAT} missing (IPv{fwd.family})")

    def unforward(self, owner: Owner) -> dict[int, set[int]]:
        chains = [
            dnat_chain_name(owner.network, owner.container_id),
            legacy_snat_chain_name(owner.network, owner.container_id),
        ]
        return self._remove_chains(chains)

    def gc(self, network: str, valid_ids: set[str]) -> dict[int, set[int]]:
        stale: set[str] = set()
        for family in (4, 6):
            if not _family_usable(family):
                continue
            nat = Table(netfilter.iptables_save(family, "nat"), "nat")
            for spec in nat.rules(DNAT):
                found = _COMMENT_RE.search(spec)
                if found and found.group(1) == network and found.group(2) not in valid_ids:
                    stale.add(found.group(2))
        chains = [dnat_chain_name(network, cid) for cid in sorted(stale)]
        chains += [legacy_snat_chain_name(network, cid) for cid in sorted(stale)]
        return self._remove_chains(chains) if chains else {}

    def _remove_chains(self, chains: list[str]) -> dict[int, set[int]]:
        udp: dict[int, set[int]] = {}
        for family in (4, 6):
            if not _family_usable(family):
                continue
            nat = Table(netfilter.iptables_save(family, "nat"), "nat")
            lines = [line for chain in chains for line in _removal(nat, chain)]
            for chain in chains:
                ports = {int(p) for r in nat.rules(chain) for p in _UDP_PORT_RE.findall(r)}
                if ports:
                    udp.setdefault(family, set()).update(ports)
            if lines:
                netfilter.iptables_restore(family, "\n".join(["*nat", *lines, "COMMIT"]) + "\n")
        return udp
