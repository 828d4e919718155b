"""CNI spec versions: the list pycni speaks, parsing, and the >= gates of CHECK, GC and STATUS."""

from __future__ import annotations

from libcni.errors import DecodingFailure

CURRENT = "1.1.0"
ALL = ("0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0")

# Result shapes: versions inside one group share a result layout.
G020 = ("0.1.0", "0.2.0")
G040 = ("0.3.0", "0.3.1", "0.4.0")
G100 = ("1.0.0", "1.1.0")


def parse(version: str) -> tuple[int, int, int]:
    """'1.0' -> (1, 0, 0); '' -> (0, 1, 0), as Go's version.ParseVersion does."""
    if version == "":
        return (0, 1, 0)
    parts = version.split(".")
    if len(parts) > 3:
        raise DecodingFailure(f'invalid version "{version}": too many parts')
    nums = []
    for part in parts:
        if not part.isdigit():
            raise DecodingFailure(f'invalid version "{version}": unable to convert "{part}" to an integer')
        nums.append(int(part))
    while len(nums) < 3:
        nums.append(0)
    return (nums[0], nums[1], nums[2])


def at_least(version: str, minimum: str) -> bool:
    return parse(version) >= parse(minimum)


def group_of(version: str) -> tuple[str, ...] | None:
    for group in (G020, G040, G100):
        if version in group:
            return group
    return None
