"""Benchmarks of the platform (``python -m bench.clues``); results go to bench/results/."""
