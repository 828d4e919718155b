"""Shared fixtures. Root-only tests are skipped (not failed) when not root, so unit tests run anywhere."""

from __future__ import annotations

import hashlib
import os

import pytest

from tests.cni import GO_BIN, PYCNI_BIN, Namespaces


def _is_root() -> bool:
    return os.geteuid() == 0


def pytest_collection_modifyitems(config, items):  # noqa: ARG001
    skip_root = pytest.mark.skip(reason="needs root (network namespaces)")
    skip_go = pytest.mark.skip(reason=f"Go reference plugins not found in {GO_BIN}")
    for item in items:
        if "root" in item.keywords and not _is_root():
            item.add_marker(skip_root)
        if "gobin" in item.keywords and not (GO_BIN / "bridge").exists():
            item.add_marker(skip_go)


@pytest.fixture
def netns(request):
    """A factory of throwaway namespaces named after the test; all are deleted afterwards."""
    digest = hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:4]
    spaces = Namespaces(f"pt{digest}")
    yield spaces
    spaces.cleanup()


@pytest.fixture(scope="session")
def pycni_bin():
    if not (PYCNI_BIN / "loopback").exists():
        pytest.fail(f"no built plugins in {PYCNI_BIN}: run ./build.sh first (or set PYCNI_BIN)")
    return PYCNI_BIN
