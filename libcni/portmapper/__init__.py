"""Host port forwarding (the portmap plugin's rules) behind one small interface, two backends.

`model` holds the rule model and the `PortMapper` protocol; `iptables` and `nftables` implement it with
one batch per family per call; `conntrack` flushes stale UDP flows; `hostif` finds the host interface
that routes to a container. Nothing here is imported until a call needs it.
"""
