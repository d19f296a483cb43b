"""Benchmarks: `make bench` (python -m bench) prints push and pull rates on both engines."""
