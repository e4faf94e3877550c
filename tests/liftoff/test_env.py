import pytest
from django.core.exceptions import ImproperlyConfigured

from liftoff.env import env_bool, env_int, env_list


def test_bad_values_fail_loudly(monkeypatch):
    monkeypatch.setenv("X_BOOL", "maybe")
    monkeypatch.setenv("X_INT", "ten")
    with pytest.raises(ImproperlyConfigured, match="X_BOOL='maybe' is not a boolean"):
        env_bool("X_BOOL", False)
    with pytest.raises(ImproperlyConfigured, match="is not a whole number"):
        env_int("X_INT", 1)


def test_values_are_read(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_INT", "42")
    monkeypatch.setenv("X_LIST", "a.example, b.example,")
    assert env_bool("X_BOOL", False) is True
    assert env_int("X_INT", 1) == 42
    assert env_list("X_LIST", []) == ["a.example", "b.example"]
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        env_int("X_INT", 1, minimum=100)
