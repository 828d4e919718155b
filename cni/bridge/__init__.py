"""The `bridge` CNI plugin (see plugin.py and README.md)."""
