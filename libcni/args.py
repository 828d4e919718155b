"""CNI_ARGS ("K1=V1;K2=V2") parsed as strictly as Go's types.LoadArgs.

Every pair needs exactly one '='; a key the plugin does not know is an error unless IgnoreUnknown is
1/true. Like Go, these are plain errors (code 999 through skel), not typed ones.
"""

from __future__ import annotations

from libcni.errors import CNIError


def parse_cni_args(raw: str, known: tuple[str, ...] = ()) -> dict[str, str]:
    """Return {key: value} for the known keys; reject malformed pairs and unknown keys."""
    if not raw:
        return {}
    pairs: list[tuple[str, str, str]] = []
    for item in raw.split(";"):
        kv = item.split("=")
        if len(kv) != 2:
            raise CNIError(f'ARGS: invalid pair "{item}"')
        pairs.append((kv[0], kv[1], item))
    ignore_unknown = False
    for key, value, _ in pairs:
        if key == "IgnoreUnknown":
            if value.lower() in ("1", "true"):
                ignore_unknown = True
            elif value.lower() not in ("0", "false"):
                raise CNIError(
                    f'ARGS: error parsing value of pair "{key}={value}": boolean unmarshal error: invalid input {value}'
                )
    values: dict[str, str] = {}
    unknown: list[str] = []
    for key, value, item in pairs:
        if key in known:
            values[key] = value
        elif key != "IgnoreUnknown":
            unknown.append(item)  # Go names the whole pair
    if unknown and not ignore_unknown:
        quoted = " ".join(f'"{k}"' for k in unknown)
        raise CNIError(f"ARGS: unknown args [{quoted}]")
    return values
