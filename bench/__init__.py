"""Benchmarks: `python3 dev.py bench` runs them against the real bot over loopback and prints a table."""
