"""What the bench scripts share. They run as files (`.venv/bin/python bench/notify.py`),
so each puts the repository on `sys.path` before importing this."""

from urllib.parse import urlsplit, urlunsplit


class BenchError(Exception):
    """A bench cannot go on: its message is printed and the script exits 1."""


def database_recreate(url: str) -> None:
    """Drop and create the database named in `url`. Refuses any whose name does not say
    it is a bench's, since it drops it."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if "bench" not in name:
        raise BenchError(f"refusing to drop {name!r}: its name does not contain 'bench'")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=5) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
