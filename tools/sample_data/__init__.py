"""Deterministic synthetic DfE (EES-format) sample releases for tests and demos."""
