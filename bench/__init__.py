"""Benchmarks and simulated days, all built on the working day of `bench.workload`."""
