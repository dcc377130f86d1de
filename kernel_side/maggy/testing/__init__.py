"""Test suites for code built on maggy; imported by tests only.

:mod:`maggy.testing.store_conformance` is the conformance suite every
:class:`~maggy.store.ExperimentStore` backend must pass (maggy runs it against its own SQLite
store). Its modules import pytest, so nothing here is imported by ``import maggy``.
"""
