"""ipMasq with iptables: the reference's layout, applied as one iptables-restore batch per family.

Per container and family, in table nat:
  :CNI-<sha512(network+containerID)[:24]>  with  -d <ip/prefix> -j ACCEPT  (one per address)
                                                 ! -d 224.0.0.0/4 (ff00::/8) -j MASQUERADE
  POSTROUTING  -s <ip> -j CNI-<hash>
all with the comment `name: "<network>" id: "<containerID>"`. The reference appends ACCEPT and
MASQUERADE per address, which puts a second subnet's ACCEPT after the MASQUERADE; we put every
ACCEPT first. Teardown finds the POSTROUTING jumps by chain name in one iptables-save, so it needs no
addresses and also removes the old `-s ip/prefix` form.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable

from libcni import digest, netfilter, proc

MULTICAST = {4: "224.0.0.0/4", 6: "ff00::/8"}
IPTABLES = {4: "iptables", 6: "ip6tables"}
_COMMENT_RE = re.compile(r'--comment "name: \\"(?P<net>[^"\\]*)\\" id: \\"(?P<cid>[^"\\]*)\\""')


def chain_name(network: str, container_id: str) -> str:
    return "CNI-" + digest.sha512((network + container_id).encode()).hexdigest()[:24]


def comment(network: str, container_id: str) -> str:
    return f'name: "{network}" id: "{container_id}"'


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _family(ip: str) -> int:
    return 6 if ":" in ip else 4


def _jump_exists(family: int, ip: str, chain: str, cmt: str) -> bool:
    argv = [
        IPTABLES[family],
        "-w",
        "-t",
        "nat",
        "-C",
        "POSTROUTING",
        "-s",
        ip,
        "-j",
        chain,
        "-m",
        "comment",
        "--comment",
        cmt,
    ]
    return proc.run(argv).returncode == 0


def setup(ips: list[str], network: str, container_id: str) -> None:
    """One iptables-restore per family; `iptables -C` checks of the jumps only when the chain exists.

    The first batch creates the chain with `-N`, which fails (and so applies nothing) when the chain
    is already there: a jump to the chain can only exist if the chain does, so on a first ADD every
    jump is new and one exec per family does it all. A repeated ADD (or one after the reference's)
    falls back to checking each jump and rebuilding the chain's rules in place.
    """
    chain, cmt = chain_name(network, container_id), comment(network, container_id)
    for family in (4, 6):
        addrs = [ipaddress.ip_interface(ip) for ip in ips if _family(ip) == family]
        if not addrs:
            continue
        rules = [f"-A {chain} -d {net} -j ACCEPT -m comment --comment {_quoted(cmt)}"
                 for net in dict.fromkeys(str(a.network) for a in addrs)]  # fmt: skip
        rules.append(f"-A {chain} ! -d {MULTICAST[family]} -j MASQUERADE -m comment --comment {_quoted(cmt)}")
        jumps = {str(a.ip): f"-A POSTROUTING -s {a.ip} -j {chain} -m comment --comment {_quoted(cmt)}" for a in addrs}
        fresh = ["*nat", f"-N {chain}", *rules, *jumps.values(), "COMMIT", ""]
        if netfilter.iptables_restore(family, "\n".join(fresh), check=False):
            continue
        # Declaring the chain flushes it under --noflush, so a repeated ADD rebuilds it rather than doubling it.
        missing = [jump for ip, jump in jumps.items() if not _jump_exists(family, ip, chain, cmt)]
        netfilter.iptables_restore(family, "\n".join(["*nat", f":{chain} - [0:0]", *rules, *missing, "COMMIT", ""]))


def _removal(saved: str, chains: set[str]) -> list[str]:
    """Restore lines that delete the POSTROUTING jumps to `chains` and then the chains themselves."""
    out, declared = [], set()
    for line in saved.splitlines():
        if line.startswith(":") and line[1:].split(" ", 1)[0] in chains:
            declared.add(line[1:].split(" ", 1)[0])
        elif line.startswith("-A POSTROUTING ") and line.split(" -j ", 1)[-1].split(" ", 1)[0] in chains:
            out.append("-D" + line[2:])
    for chain in sorted(declared):
        out += [f"-F {chain}", f"-X {chain}"]
    return out


def _remove_chains(family: int, chains_of: Callable[[str], set[str]]) -> None:
    saved = netfilter.iptables_save(family, "nat")
    lines = _removal(saved, chains_of(saved))
    if lines:
        netfilter.iptables_restore(family, "\n".join(["*nat", *lines, "COMMIT", ""]))


def teardown(network: str, container_id: str, families: list[int]) -> None:
    chain = chain_name(network, container_id)
    for family in families:
        _remove_chains(family, lambda _saved: {chain})


def stale_chains(saved: str, network: str, valid_ids: set[str]) -> set[str]:
    """Chains of `network` jumped to from POSTROUTING whose container is not in `valid_ids`."""
    out = set()
    for line in saved.splitlines():
        if not line.startswith("-A POSTROUTING "):
            continue
        match = _COMMENT_RE.search(line)
        if not match or match["net"] != network or match["cid"] in valid_ids:
            continue
        target = line.split(" -j ", 1)[-1].split(" ", 1)[0]
        if target == chain_name(network, match["cid"]):
            out.add(target)
    return out


def gc(network: str, valid_ids: set[str]) -> None:
    for family in (4, 6):
        _remove_chains(family, lambda saved: stale_chains(saved, network, valid_ids))
