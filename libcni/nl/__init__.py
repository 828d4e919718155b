"""Netlink over pyroute2's message codecs: the only package of pycni that imports pyroute2.

Importing any `libcni.nl.*` module first runs this file, which registers the pyroute2 stub package
(see loader.py), so no module here can pull in pyroute2's heavy `__init__` by import order mistake.
"""

from libcni.nl import loader

loader.install_stub()
