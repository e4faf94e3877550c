"""The dashboard tests' project: "Shop", synced, with staging and production."""

import pytest

from tests.factories import synced_project
from tests.incidents.conftest import _environment


@pytest.fixture
def project(admin_user):
    return synced_project(
        actor=admin_user, slug="shop", name="Shop", repo_url="https://git.example.test/t/shop.git"
    )


@pytest.fixture
def production(project):
    return _environment(project, "production", "production", 2)


@pytest.fixture
def shop(project, production):
    """The project with both its environments (staging first)."""
    _environment(project, "staging", "staging", 1)
    return project
