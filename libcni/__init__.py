"""pycni's shared library: the CNI protocol, kernel helpers and the runtime-side client.

Nothing is imported here on purpose: every plugin call is a fresh process and pays for each import.
"""
