"""Cunguan (存管): bank-side fund custody over the Lanmao custody interface, cross-bank fund
collection, all on one double-entry ledger."""

__version__ = "0.1.0"
