"""ShopMesh benchmarks: `make bench` (see bench/README.md)."""
