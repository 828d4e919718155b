"""Side-by-side benchmark of pycni's built plugins against Debian's Go reference plugins (README.md)."""
