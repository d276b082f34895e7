"""Fixtures of the API tests: an app over a private copy of the bundled index (`served_index`, from
tests/conftest.py), with an admin key."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from config import Settings
from rag.engine import Engine

ADMIN_KEY = "s3cret-admin-key"


@pytest.fixture()
def admin_client(served_index: Path) -> Iterator[TestClient]:
    """A client of the app over `served_index`, with POLICYQA_ADMIN_KEY set to ADMIN_KEY."""
    settings = Settings(POLICYQA_RATE_LIMIT=0, POLICYQA_ADMIN_KEY=ADMIN_KEY, POLICYQA_INDEX=served_index)
    with TestClient(create_app(settings=settings, engine=Engine.from_dir(served_index))) as client:
        yield client
