"""The one executable behind every pycni plugin: it runs the plugin named by how it was called.

`dist/bin/bridge`, `dist/bin/host-local`, ... are links to one PyInstaller bundle; the name in
argv[0] (the CNI `type`) picks the entry module. Only that module is imported, so a call pays for
what it uses and nothing else.
"""

from __future__ import annotations

import os
import sys

ENTRY_POINTS = {
    "loopback": "cni.loopback.plugin",
    "bridge": "cni.bridge.plugin",
    "host-local": "cni.host-local-ipam.plugin",
    "portmap": "cni.portmap.plugin",
    "cnitool": "libcni.cnitool",
}


def main() -> None:
    name = os.path.basename(sys.argv[0])
    module_name = ENTRY_POINTS.get(name)
    if module_name is None:
        sys.stderr.write(f"pycni: called as {name!r}; link this executable as one of: {', '.join(ENTRY_POINTS)}\n")
        sys.exit(2)
    module = __import__(module_name, fromlist=["main"])
    module.main()


if __name__ == "__main__":
    main()
