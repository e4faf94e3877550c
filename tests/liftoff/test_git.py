"""Git wrappers: ref names, remote URLs, and credentials that never reach a log."""

import base64

import pytest

from liftoff.git import git_env, git_secret_values, redact_url, ref_name_problem


@pytest.mark.parametrize("name", ["main", "release/v0.3.0-digital-oracle", "v1.0.0-rc.1"])
def test_valid_ref_names(name):
    assert ref_name_problem(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-x",
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "a/",
        "/a",
        "a.",
        "a.lock",
        "a/.b",
        "@",
        "a@{1}",
        "a//b",
    ],
)
def test_invalid_ref_names(name):
    assert ref_name_problem(name)


def test_token_reaches_git_as_a_header_and_is_masked(monkeypatch):
    monkeypatch.setenv("LIFTOFF_GIT_TOKEN", "ghp_secret_value")
    env = git_env()
    header = env["GIT_CONFIG_VALUE_0"]
    assert env["GIT_CONFIG_KEY_0"] == "http.extraHeader"
    assert base64.b64decode(header.split()[-1]).decode() == "x-access-token:ghp_secret_value"
    assert header in git_secret_values()
    assert env["GIT_TERMINAL_PROMPT"] == "0"


def test_no_token_no_header(monkeypatch):
    monkeypatch.delenv("LIFTOFF_GIT_TOKEN", raising=False)
    assert "GIT_CONFIG_COUNT" not in git_env()
    assert git_secret_values() == []


def test_redact_url_drops_user_info():
    assert redact_url("https://bob@git.example.test/x.git") == "https://git.example.test/x.git"
