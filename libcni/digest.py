"""sha256/sha512 without `hashlib`: hashlib loads OpenSSL (_hashlib + libcrypto, ~2-3 ms per call).

Rule and chain names (the Go plugins' "CNI-DN-" + sha512 hex...) need only these two digests, which
CPython also ships as small built-in modules. Same constructors and objects as hashlib's.
"""

from __future__ import annotations

try:  # Python 3.12+
    from _sha2 import sha256, sha512  # type: ignore[import-not-found]
except ImportError:
    try:  # Python 3.11
        from _sha256 import sha256  # type: ignore[import-not-found,no-redef]
        from _sha512 import sha512  # type: ignore[import-not-found,no-redef]
    except ImportError:  # a Python built without them
        from hashlib import sha256, sha512  # type: ignore[assignment,no-redef]

__all__ = ["sha256", "sha512"]
