"""`./build.sh demo`'s script runs green against the plugins under test and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cni import PYCNI_BIN, ROOT, unique


@pytest.mark.root
def test_demo_runs_and_cleans_up():
    prefix = unique("cldemo")
    env = dict(os.environ, PYCNI_BIN=str(PYCNI_BIN), PYCNI_DEMO_PREFIX=prefix)
    done = subprocess.run(
        [sys.executable, str(ROOT / "conf-examples" / "demo.py")], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "hello from the pycni demo container 10.22." in done.stdout
    assert "check passed" in done.stdout and "demo OK" in done.stdout
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    assert prefix not in namespaces


def test_demo_refuses_clearly_when_not_root():
    if os.geteuid() == 0 and not os.path.exists("/usr/sbin/setpriv") and not os.path.exists("/usr/bin/setpriv"):
        pytest.skip("needs setpriv to drop root")
    argv = [sys.executable, str(ROOT / "conf-examples" / "demo.py")]
    if os.geteuid() == 0:
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "must run as root" in done.stderr
