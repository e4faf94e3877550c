"""Typed readers for settings that come from the environment.

Each helper fails loudly (ImproperlyConfigured) on a value it cannot read, so a typo in
a deployment's environment stops the process at start-up instead of being ignored.
"""

import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

BASE_DIR = Path(__file__).resolve().parent.parent

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str | None = None) -> str:
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ImproperlyConfigured(f"Set the environment variable {name}.")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use 1/0, true/false).")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum of {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    raw = os.environ.get(name)
    path = Path(raw).expanduser() if raw else default
    return path.resolve()


def data_dir() -> Path:
    """The data folder: SQLite, broker folders, git mirrors, the demo repository, and the
    development environment file that goes with them."""
    return env_path("LIFTOFF_DATA_DIR", BASE_DIR / "var")


def dev_env_path() -> Path:
    # Inside the data folder, not `.env` beside docker-compose.yml: compose and the
    # Operations section use `.env` for the production stack, and `var/` is kept out of
    # git and of the Docker image (.gitignore, .dockerignore).
    return data_dir() / "dev.env"


def dev_env_load() -> bool:
    """Read the development file `make run` wrote, if there is one. A variable already in
    the environment always wins, so `DEBUG=0` or a real `SECRET_KEY` is never replaced."""
    return load_dotenv(dev_env_path(), override=False)


def dev_env_write() -> Path | None:
    """`make run`: write the development file (DEBUG=1 and a key of its own) when it is
    absent; never touch one that exists. Returns the path when it wrote it."""
    path = dev_env_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    content = (
        "# Written once by `make run` for development in this data folder; never used by a\n"
        "# production environment that sets DEBUG=0 (variables in the environment win).\n"
        "# Add DATABASE_URL, REDIS_URL, ... here to use them for every command of this checkout.\n"
        "DEBUG=1\n"
        f"SECRET_KEY={secrets.token_urlsafe(50)}\n"
    )
    try:
        # O_EXCL: two launchers at once cannot both write, and a file someone wrote stays.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return None
    with os.fdopen(fd, "w") as out:
        out.write(content)
    return path
