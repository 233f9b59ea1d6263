"""Shared fixtures: a fresh database per test, the shipped catalogue, a fixed today."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from indicators.catalogue import load_catalogue
from indicators.store import open_store

DATA = Path(__file__).with_name("data")


@pytest.fixture
def store(tmp_path):
    """A fresh database in a temporary folder, schema created."""
    return open_store(tmp_path / "t.duckdb")


@pytest.fixture(scope="session")
def catalogue():
    return load_catalogue()


@pytest.fixture
def today() -> dt.date:
    return dt.date(2026, 11, 26)
