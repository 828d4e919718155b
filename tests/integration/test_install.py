"""`./build.sh install DIR` gives a directory a runtime can use as CNI_PATH on its own."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.cni import PYCNI_BIN, ROOT, run_plugin

PLUGINS = ("loopback", "bridge", "host-local", "portmap", "cnitool")


@pytest.mark.skipif(PYCNI_BIN != ROOT / "dist" / "bin", reason="tests the PyInstaller build, not source shims")
def test_install_into_a_fresh_dir(tmp_path):
    target = tmp_path / "opt-cni-bin"
    subprocess.run([str(ROOT / "build.sh"), "install", str(target)], check=True, capture_output=True, timeout=600)
    for name in PLUGINS:
        assert os.path.isfile(target / name), name  # a runtime's FindInPath follows the link
    # The installed copy works without dist/ (runs from DIR/.pycni).
    assert os.path.realpath(target / "loopback").startswith(str(target))
    doc = run_plugin("loopback", "VERSION", b"", bin_dir=target).result()
    assert doc["supportedVersions"][-1] == "1.1.0"
    # Installing again over a live install replaces it cleanly.
    subprocess.run([str(ROOT / "build.sh"), "install", str(target)], check=True, capture_output=True, timeout=600)
    assert run_plugin("loopback", "VERSION", b"", bin_dir=target).ok
