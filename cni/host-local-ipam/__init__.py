"""host-local: the pycni IPAM plugin (executable `host-local`)."""
