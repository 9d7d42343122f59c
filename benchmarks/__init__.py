"""Benchmarks that measure newswatch against a baseline in the same run."""
