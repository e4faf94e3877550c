"""The API tests' shared project, release and second approver (tests/release_api.py); a
module that defines its own fixture of the same name uses its own."""

from tests.release_api import approver2, project, release  # noqa: F401 - fixtures
