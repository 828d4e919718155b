"""The one CNI error hierarchy: every failure a plugin reports is a CNIError with a well-known code."""

from __future__ import annotations

# Well-known codes (CNI spec 1.1.0 plus the Go library's 0, 8 and 999).
UNKNOWN = 0
INCOMPATIBLE_VERSION = 1
UNSUPPORTED_FIELD = 2
UNKNOWN_CONTAINER = 3
INVALID_ENV = 4
IO_FAILURE = 5
DECODING_FAILURE = 6
INVALID_CONFIG = 7
INVALID_NETNS = 8
TRY_AGAIN_LATER = 11
NOT_AVAILABLE = 50
LIMITED_CONNECTIVITY = 51
INTERNAL = 999


class CNIError(Exception):
    """An error with a CNI code; `skel` prints it as `{code, msg, details}` on stdout."""

    code = INTERNAL

    def __init__(self, msg: str, details: str = "", code: int | None = None) -> None:
        super().__init__(msg)
        self.msg = msg
        self.details = details
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        # Same text as Go's types.Error.Error(): "msg; details".
        return f"{self.msg}; {self.details}" if self.details else self.msg

    def to_json(self, cni_version: str = "") -> dict:
        out: dict = {"code": self.code, "msg": self.msg}
        if self.details:
            out["details"] = self.details
        if cni_version:
            out["cniVersion"] = cni_version
        return out


class IncompatibleVersion(CNIError):
    code = INCOMPATIBLE_VERSION


class UnsupportedField(CNIError):
    code = UNSUPPORTED_FIELD


class UnknownContainer(CNIError):
    code = UNKNOWN_CONTAINER


class InvalidEnv(CNIError):
    code = INVALID_ENV


class IOFailure(CNIError):
    code = IO_FAILURE


class DecodingFailure(CNIError):
    code = DECODING_FAILURE


class InvalidConfig(CNIError):
    code = INVALID_CONFIG


class InvalidNetNS(CNIError):
    code = INVALID_NETNS


class TryAgainLater(CNIError):
    code = TRY_AGAIN_LATER


class NotAvailable(CNIError):
    code = NOT_AVAILABLE


class LimitedConnectivity(CNIError):
    code = LIMITED_CONNECTIVITY


class InternalError(CNIError):
    code = INTERNAL
