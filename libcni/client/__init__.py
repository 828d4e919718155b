"""The runtime side of CNI: load network configuration lists and run their plugins (libcni in Go).

Modules: `conf` (loading conflists from bytes, files and directories), `cache` (the result cache, in
Go libcni's on-disk format), `api` (`CNIConfig`: ADD/DEL/CHECK/GC/STATUS/VERSION of a list). Nothing is
re-exported here so that `import libcni.client.conf` stays cheap.
"""
