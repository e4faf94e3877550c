import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from liftoff.env import dev_env_write, env_bool, env_int, env_list
from tests.helpers import ROOT


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


def _settings_in_a_new_process(data_dir, **env):
    """Import the settings as a new shell would: no DEBUG, SECRET_KEY, DATABASE_URL,
    REDIS_URL unless given."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    clean.update(LIFTOFF_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'liftoff.settings'\n"
            "from django.conf import settings\n"
            "print('DEBUG', settings.DEBUG, 'KEY', settings.SECRET_KEY[:8])",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_without_the_development_file_refuses_to_start(tmp_path):
    result = _settings_in_a_new_process(tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is required when DEBUG is off" in result.stderr


def test_the_development_file_is_written_once_and_read_by_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFTOFF_DATA_DIR", str(tmp_path))
    path = dev_env_write()
    assert path == tmp_path / "dev.env"
    assert path.stat().st_mode & 0o077 == 0  # the key is readable by its owner only
    key = next(line for line in path.read_text().splitlines() if line.startswith("SECRET_KEY="))
    assert len(key) > 60

    # A second `make run` keeps the file (and so the sessions signed with its key).
    assert dev_env_write() is None
    path.write_text("DEBUG=1\nSECRET_KEY=written-by-someone-else\n")
    assert dev_env_write() is None
    assert "written-by-someone-else" in path.read_text()

    result = _settings_in_a_new_process(tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["DEBUG", "True", "KEY", "written-"]


def test_the_environment_wins_over_the_development_file(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFTOFF_DATA_DIR", str(tmp_path))
    dev_env_write()
    result = _settings_in_a_new_process(
        tmp_path, DEBUG="0", SECRET_KEY="production-key-from-the-environment"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["DEBUG", "False", "KEY", "producti"]


def test_any_make_target_leaves_manage_py_working_in_a_new_shell(tmp_path):
    """A newcomer who ran `make install` (or `make test`, `make lint`), not `make run`,
    then `.venv/bin/python manage.py check` in a new shell: it works."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["LIFTOFF_DATA_DIR"] = str(tmp_path)
    made = subprocess.run(
        ["make", "install"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "dev.env").exists()
    check = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert check.returncode == 0, check.stderr
    assert "no issues" in check.stdout
