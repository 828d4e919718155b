"""IP address management: the host-local allocator and its on-disk store, and IPAM delegation."""
