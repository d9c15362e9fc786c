"""Storage: datastores through fsspec, and the one reference parser and resolver."""
