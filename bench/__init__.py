"""Benchmarks (not part of the application): `make bench` and `bench/audit_verify.py`."""
