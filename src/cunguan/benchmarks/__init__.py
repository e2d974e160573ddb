"""Benchmarks that ship with the package, so `cunguan bench ...` runs them from an installed wheel.

Each benchmark measures a real code path against a raw baseline (minimal hand-written SQL on the same
engine and durability) run in the same process, and reports the ratio rather than a bare rate.
"""
