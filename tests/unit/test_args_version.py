"""CNI_ARGS parsing (strict, like Go's LoadArgs), version parsing and comparisons, error JSON."""

from __future__ import annotations

import pytest

from libcni import version as ver
from libcni.args import parse_cni_args
from libcni.errors import CNIError, DecodingFailure, InvalidConfig


def test_empty_args():
    assert parse_cni_args("", ("IP",)) == {}


def test_known_keys_and_ignore_unknown():
    raw = "IgnoreUnknown=1;K8S_POD_NAME=web;IP=10.0.0.5;K8S_POD_NAMESPACE=default"
    assert parse_cni_args(raw, ("IP", "MAC")) == {"IP": "10.0.0.5"}
    assert parse_cni_args("IP=10.0.0.5;IgnoreUnknown=TRUE;x=y", ("IP",)) == {"IP": "10.0.0.5"}


@pytest.mark.parametrize(
    "raw,message",
    [
        ("IP=1=2", 'invalid pair "IP=1=2"'),
        ("IP", 'invalid pair "IP"'),
        ("IP=10.0.0.5;", 'invalid pair ""'),
        # Go's LoadArgs lists the unknown pairs, not their keys (as /usr/lib/cni/host-local prints them).
        ("FOO=bar", 'unknown args ["FOO=bar"]'),
        ("FOO=bar;BAZ=1;IgnoreUnknown=0", 'unknown args ["FOO=bar" "BAZ=1"]'),
        ("IgnoreUnknown=maybe", "boolean unmarshal error"),
    ],
)
def test_bad_args(raw, message):
    with pytest.raises(CNIError) as info:
        parse_cni_args(raw, ("IP",))
    assert message in info.value.msg
    assert info.value.code == 999


def test_keys_are_case_sensitive():
    with pytest.raises(CNIError):
        parse_cni_args("ip=10.0.0.5", ("IP",))


@pytest.mark.parametrize(
    "text,parsed",
    [("", (0, 1, 0)), ("1", (1, 0, 0)), ("1.1", (1, 1, 0)), ("0.3.1", (0, 3, 1)), ("10.20.30", (10, 20, 30))],
)
def test_version_parse(text, parsed):
    assert ver.parse(text) == parsed


@pytest.mark.parametrize("text", ["1.2.3.4", "1.x", "v1.0.0", "1..0"])
def test_version_parse_errors(text):
    with pytest.raises(DecodingFailure):
        ver.parse(text)


def test_version_gates_and_groups():
    assert ver.at_least("0.4.0", "0.4.0") and not ver.at_least("0.3.1", "0.4.0")
    assert ver.at_least("1.1.0", "1.1.0") and not ver.at_least("1.0.0", "1.1.0")
    assert ver.ALL == ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")
    assert [ver.group_of(v) for v in ("0.2.0", "0.3.0", "1.1.0", "2.0.0")] == [ver.G020, ver.G040, ver.G100, None]


def test_error_json_shape():
    err = InvalidConfig("bad thing", "longer story")
    assert err.to_json("1.0.0") == {"code": 7, "msg": "bad thing", "details": "longer story", "cniVersion": "1.0.0"}
    assert CNIError("x").to_json() == {"code": 999, "msg": "x"}
    assert str(err) == "bad thing; longer story"
    assert CNIError("y", code=11).code == 11
