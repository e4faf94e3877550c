"""The one subprocess runner that every kind of background work uses.

Why it looks the way it does:

- Commands are argument lists, never shell strings: nothing a user typed is parsed by a shell.
- Each command starts a new session, so it and everything it spawns share one process group
  whose id is the command's pid. Timeouts and cancel signal that whole group: ending only the
  direct child would leave its children (build workers, a `sleep &`) running, holding our pipe.
  The group is also ended after a normal exit, so no background leftover outlives the call.
- Output is read with `selectors` from a non-blocking pipe, never with a blocking readline():
  a grandchild that inherited stdout keeps the pipe open after the command itself exited, and
  a blocking read would then hang the worker, deaf to every timeout.
- Secret values are masked before a line leaves this module, so neither the live log nor the
  stored tail ever holds one.
"""

import contextlib
import os
import re
import selectors
import signal
import subprocess
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.conf import settings

KILL_GRACE = 5.0  # seconds between SIGTERM and SIGKILL to the group
POLL_INTERVAL = 0.1  # seconds between checks of the limits and of should_cancel()
FINAL_DRAIN = 2.0  # seconds to wait for end of output once the group is gone
MAX_LINE_CHARS = 10_000
TAIL_CHARS = 4_096
MASK = "••••••"
MIN_SECRET_LENGTH = 4  # shorter values would mask ordinary words in the log
SECRET_ENV_SUFFIXES = ("_TOKEN", "_SECRET", "_PASSWORD", "_KEY")


@dataclass
class CommandResult:
    exit_code: int | None  # None when we ended it, or when it never started
    reason: str  # "exited" | "cancelled" | "timeout" | "silence" | "not-found"
    duration: float  # seconds
    output_tail: str  # the last TAIL_CHARS characters of the output, masked


def _masker(secrets: Iterable[str]) -> Callable[[str], str]:
    values = sorted({s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True)
    if not values:
        return lambda text: text
    # One alternation, longest first, so a secret that contains another is masked whole.
    pattern = re.compile("|".join(map(re.escape, values)))
    return lambda text: pattern.sub(MASK, text)


class _Output:
    """The merged stdout+stderr pipe, turned into masked lines for on_line and the tail."""

    def __init__(self, fd: int, mask: Callable[[str], str], on_line, longest_secret: int):
        self._fd = fd
        os.set_blocking(fd, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(fd, selectors.EVENT_READ)
        self._mask = mask
        self._on_line = on_line
        # A line is cut without waiting for its end once this many bytes are pending (up to
        # 4 bytes a character); the margin keeps a secret straddling the cut whole for masking.
        self._max_pending = 4 * (MAX_LINE_CHARS + longest_secret)
        self._pending = bytearray()
        self._skipping = False  # dropping the rest of a line that was already cut
        self._tail: deque[str] = deque()
        self._tail_chars = 0
        self.closed = False
        self.last_output = time.monotonic()

    def pump(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for output and handle whatever came."""
        if self.closed:
            time.sleep(timeout)
            return
        if not self._selector.select(timeout):
            return
        try:
            chunk = os.read(self._fd, 65_536)
        except BlockingIOError:
            return
        if not chunk:
            self.close()
            return
        self.last_output = time.monotonic()
        self._pending += chunk
        while (end := self._pending.find(b"\n")) >= 0:
            raw = bytes(self._pending[:end])
            del self._pending[: end + 1]
            if self._skipping:
                self._skipping = False
            else:
                self._line(raw)
        if self._skipping:
            self._pending.clear()
        elif len(self._pending) > self._max_pending:
            self._line(bytes(self._pending))
            self._pending.clear()
            self._skipping = True

    def close(self, *, flush: bool = True) -> None:
        if self.closed:
            return
        if flush and self._pending and not self._skipping:
            self._line(bytes(self._pending))  # the last line, without a newline
        self._pending.clear()
        self._selector.close()
        self.closed = True

    def _line(self, raw: bytes) -> None:
        # Mask before cutting, so a cut never splits a secret into an unmaskable prefix.
        text = self._mask(raw.decode("utf-8", errors="replace").removesuffix("\r"))
        if len(text) > MAX_LINE_CHARS:
            text = f"{text[:MAX_LINE_CHARS]} [liftoff: line cut at {MAX_LINE_CHARS} characters]"
        self.emit(text)

    def emit(self, text: str) -> None:
        text = self._mask(text)
        self._tail.append(text)
        self._tail_chars += len(text) + 1
        while len(self._tail) > 1 and self._tail_chars - len(self._tail[0]) - 1 >= TAIL_CHARS:
            self._tail_chars -= len(self._tail.popleft()) + 1
        if self._on_line is not None:
            self._on_line(text)

    @property
    def tail(self) -> str:
        return "\n".join(self._tail)[-TAIL_CHARS:]


def run_command(
    args: Sequence[str],
    *,
    cwd: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float,
    silence_timeout: float | None = None,
    on_line: Callable[[str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    secrets: Iterable[str] = (),
    inherit_env: bool = True,
    kill_grace: float = KILL_GRACE,
    on_start: Callable[[int], None] | None = None,
) -> CommandResult:
    """Run `args` in `cwd`, stream its masked output to `on_line`, and end its whole process
    group on cancel, on a limit, or once it exited. Never raises for a missing executable."""
    if not isinstance(args, list | tuple) or not all(isinstance(a, str) for a in args):
        raise TypeError("args must be a list or tuple of str, never a shell string")
    if not args:
        raise ValueError("args is empty")
    full_env = {**os.environ, **(env or {})} if inherit_env else dict(env or {})
    full_env.setdefault("PATH", os.environ.get("PATH", os.defpath))
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in full_env.items()):
        raise TypeError("env names and values must be str")
    secrets = list(secrets)
    mask = _masker(secrets)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(args),
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own session, hence its own process group
        )
    except (FileNotFoundError, NotADirectoryError, PermissionError) as exc:
        line = mask(f"[liftoff] could not start {args[0]}: {exc.strerror} ({exc.filename})")
        if on_line is not None:
            on_line(line)
        return CommandResult(None, "not-found", time.monotonic() - started, line)

    if on_start is not None:
        on_start(proc.pid)  # the pid is also the process group id
    longest = max((len(s) for s in secrets), default=0)
    output = _Output(proc.stdout.fileno(), mask, on_line, longest)
    try:
        reason = _watch(proc, output, started, timeout, silence_timeout, should_cancel)
    except BaseException:
        # A callback failed (or we were interrupted): leave nothing running, then re-raise.
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        output.close(flush=False)
        proc.stdout.close()
        raise
    killed = _end_group(proc, output, kill_grace)
    # Read what is left until end of output, but not forever: a process that left the group
    # (setsid) could hold the pipe open.
    deadline = time.monotonic() + FINAL_DRAIN
    while not output.closed and time.monotonic() < deadline:
        output.pump(POLL_INTERVAL)
    output.close()
    proc.stdout.close()
    if reason != "exited":
        why = "cancelled"
        if reason == "timeout":
            why = f"ran past its {timeout:g} s time limit"
        elif reason == "silence":
            why = f"no output for {silence_timeout:g} s"
        hard = f" (SIGKILL: still running {kill_grace:g} s after SIGTERM)" if killed else ""
        output.emit(f"[liftoff] {why}: ended{hard}")
    exit_code = proc.returncode if reason == "exited" else None
    return CommandResult(exit_code, reason, time.monotonic() - started, output.tail)


def _watch(proc, output: _Output, started, timeout, silence_timeout, should_cancel) -> str:
    """Stream output until the command exits ("exited") or must be ended (the reason)."""
    next_cancel_check = started
    while proc.poll() is None:
        output.pump(POLL_INTERVAL)
        now = time.monotonic()
        if should_cancel is not None and now >= next_cancel_check:
            # Throttled: with a busy pipe this loop spins fast, and the check may query.
            next_cancel_check = now + POLL_INTERVAL
            if should_cancel():
                return "cancelled"
        if now - started > timeout:
            return "timeout"
        if silence_timeout is not None and now - output.last_output > silence_timeout:
            return "silence"
    return "exited"


def _end_group(proc: subprocess.Popen, output: _Output, grace: float) -> bool:
    """SIGTERM the whole group, wait up to `grace` seconds, then SIGKILL it.

    Returns True if SIGKILL was needed. The group id is the command's pid (new session);
    while any member lives, the kernel cannot hand that id to another group.
    """
    _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()  # reap the command itself: as a zombie it would still count as alive
        if not _group_alive(proc.pid):
            return False
        # Keep reading: a process that prints while shutting down must not block on a full pipe.
        output.pump(0.05)
    _signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
    # SIGKILL is delivered asynchronously: wait (briefly) until the others are really gone.
    deadline = time.monotonic() + 1.0
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return True


def _signal_group(pgid: int, sig: int) -> None:
    # Gone already (macOS answers EPERM for a group left with only zombies).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _group_alive(pgid: int) -> bool:
    """Whether a live (non-zombie) process is left in the group.

    killpg(pgid, 0) also succeeds for zombies, and orphans reparented to a PID 1 that does
    not reap (common in containers) stay zombies; on Linux /proc tells them apart.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not os.path.isdir("/proc/self"):
        return True
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited meanwhile
        # Fields after the command name (which may hold spaces or parentheses): state ppid pgrp
        state, _ppid, pgrp = stat.rpartition(")")[2].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            return True
    return False


def secret_values_from_settings() -> list[str]:
    """Values to mask in command output: the secrets in settings and in the environment.

    Environment variables are picked by name: those listed in LIFTOFF_SECRET_ENV
    (comma-separated) and any ending in _TOKEN, _SECRET, _PASSWORD or _KEY.
    """

    values = [getattr(settings, "SECRET_KEY", "")]
    values += [db.get("PASSWORD", "") for db in getattr(settings, "DATABASES", {}).values()]
    for name in ("REDIS_URL", "CELERY_BROKER_URL"):
        url = getattr(settings, name, "") or ""
        password = urlsplit(url).password if isinstance(url, str) else None
        if password:
            # Commands may print the URL (percent-encoded) or the password itself.
            values += [password, unquote(password)]
    mailer = (getattr(settings, "MAILERS", None) or {}).get("default") or {}
    values.append((mailer.get("OPTIONS") or {}).get("password", ""))
    listed = {n.strip() for n in os.environ.get("LIFTOFF_SECRET_ENV", "").split(",")} - {""}
    for name, value in os.environ.items():
        if name in listed or name.upper().endswith(SECRET_ENV_SUFFIXES):
            values.append(value)
    unique = dict.fromkeys(v for v in values if isinstance(v, str) and v)
    return list(unique)


def kill_orphaned_group(pgid: int, *, marker: tuple[str, str]) -> int:
    """SIGKILL what is left of a command whose runner died (a SIGKILLed worker).

    Only processes of group `pgid` whose environment holds `marker` (NAME, value) are
    ended, so a pid reused since by an unrelated process is never touched. Returns how
    many processes were signalled. Works on this machine only (/proc).
    """
    needle = f"{marker[0]}={marker[1]}".encode()
    killed = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != pgid or fields[0] == "Z":
                continue
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            os.kill(int(entry.name), signal.SIGKILL)
            killed += 1
        except (OSError, ValueError, IndexError):
            continue
    return killed


# What of the worker's environment a project's command sees: enough to run tools and reach
# (or be kept from) the network, but not the database URL, the secret key or any token.
COMMAND_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "USER",
    "LOGNAME",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
)


def command_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a project's command (validation, deployment): COMMAND_ENV taken
    from the worker's, then `extra`. Run with `inherit_env=False`."""
    env = {name: os.environ[name] for name in COMMAND_ENV if name in os.environ}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return {**env, **(extra or {})}
