"""The subprocess runner, with real processes: streaming, limits, process groups, masking."""

import sys
import time
from pathlib import Path

import pytest

from liftoff.commands import MASK, MAX_LINE_CHARS, run_command, secret_values_from_settings

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def script(tmp_path: Path, body: str) -> list[str]:
    path = tmp_path / "script.sh"
    path.write_text(body)
    return ["/bin/sh", str(path)]


def live_in_group(pgid: int) -> list[int]:
    """Pids of live (non-zombie) processes in the group: zombies left to a PID 1 that does
    not reap would fool os.killpg(pgid, 0)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        state, _ppid, pgrp = stat.rpartition(")")[2].split()[:3]
        if int(pgrp) == pgid and state != "Z":
            pids.append(int(entry.name))
    return pids


def run(args, tmp_path, **kwargs):
    lines: list[str] = []
    kwargs.setdefault("timeout", 10)
    kwargs.setdefault("kill_grace", 1)
    result = run_command(args, cwd=tmp_path, on_line=lines.append, **kwargs)
    return result, lines


def test_lines_are_streamed_in_order_and_exit_code_is_recorded(tmp_path):
    args = script(tmp_path, "echo one\necho two\nprintf 'no newline'\nexit 7\n")
    result, lines = run(args, tmp_path)
    assert lines == ["one", "two", "no newline"]
    assert (result.exit_code, result.reason) == (7, "exited")
    assert result.output_tail == "one\ntwo\nno newline"


def test_stderr_is_merged_into_the_stream(tmp_path):
    result, lines = run(script(tmp_path, "echo out\necho err >&2\necho out2\n"), tmp_path)
    assert lines == ["out", "err", "out2"]
    assert result.exit_code == 0


def test_cancel_ends_the_whole_process_group(tmp_path):
    body = "echo $$\nsleep 300 &\nsleep 300 &\necho started\nsleep 300\n"
    lines: list[str] = []
    start = time.monotonic()
    result = run_command(
        script(tmp_path, body),
        cwd=tmp_path,
        timeout=10,
        kill_grace=1,
        on_line=lines.append,
        should_cancel=lambda: "started" in lines,
    )
    pgid = int(lines[0])
    assert (result.exit_code, result.reason) == (None, "cancelled")
    assert time.monotonic() - start < 3
    assert lines[-1] == "[liftoff] cancelled: ended"
    assert live_in_group(pgid) == []


def test_a_background_child_holding_stdout_does_not_hang_the_call_and_is_killed(tmp_path):
    body = "echo $$\nsleep 300 &\necho $!\necho parent done\nexit 3\n"
    start = time.monotonic()
    result, lines = run(script(tmp_path, body), tmp_path)
    assert time.monotonic() - start < 3
    assert (result.exit_code, result.reason) == (3, "exited")
    pgid, child = int(lines[0]), int(lines[1])
    assert lines[2] == "parent done"
    assert live_in_group(pgid) == []
    assert child not in live_in_group(pgid)


def test_silence_timeout_ends_a_quiet_command(tmp_path):
    start = time.monotonic()
    result, lines = run(script(tmp_path, "echo hello\nsleep 300\n"), tmp_path, silence_timeout=0.5)
    assert (result.exit_code, result.reason) == (None, "silence")
    assert time.monotonic() - start < 3
    assert lines == ["hello", "[liftoff] no output for 0.5 s: ended"]


def test_hard_timeout_ends_a_chatty_command(tmp_path):
    body = "while true; do echo tick; sleep 0.1; done\n"
    result, lines = run(script(tmp_path, body), tmp_path, timeout=1, silence_timeout=0.5)
    assert (result.exit_code, result.reason) == (None, "timeout")
    assert 1 <= result.duration < 3
    assert lines[-1] == "[liftoff] ran past its 1 s time limit: ended"
    assert lines.count("tick") >= 5


def test_a_process_ignoring_sigterm_is_killed_after_the_grace(tmp_path):
    body = "trap '' TERM\necho $$\necho ready\nwhile true; do sleep 0.1; done\n"
    lines: list[str] = []
    cancelled_at: list[float] = []

    def should_cancel():
        if "ready" in lines and not cancelled_at:
            cancelled_at.append(time.monotonic())
        return bool(cancelled_at)

    result = run_command(
        script(tmp_path, body),
        cwd=tmp_path,
        timeout=10,
        kill_grace=1,
        on_line=lines.append,
        should_cancel=should_cancel,
    )
    assert 0.9 <= time.monotonic() - cancelled_at[0] < 3
    assert result.reason == "cancelled"
    assert lines[-1] == "[liftoff] cancelled: ended (SIGKILL: still running 1 s after SIGTERM)"
    assert live_in_group(int(lines[0])) == []


def test_secrets_are_masked_in_lines_and_tail(tmp_path):
    secret = "abcd1234-very-secret"
    body = 'echo "token=$MY_TOKEN and again $MY_TOKEN"\necho "short ab, prefix abcd1234"\n'
    result, lines = run(
        script(tmp_path, body),
        tmp_path,
        env={"MY_TOKEN": secret},
        # The shorter one is a prefix of the longer: the longest must be masked whole.
        secrets=["abcd1234", secret, "ab", ""],
    )
    assert lines == [f"token={MASK} and again {MASK}", f"short ab, prefix {MASK}"]
    assert "abcd1234" not in result.output_tail
    assert "secret" not in result.output_tail


def test_very_long_lines_are_cut(tmp_path):
    code = "print('x' * 25000); print('after')"
    result, lines = run([sys.executable, "-c", code], tmp_path)
    assert lines[0].startswith("x" * MAX_LINE_CHARS + " [liftoff: line cut")
    assert lines[1] == "after"
    assert len(result.output_tail) <= 4096


def test_env_without_inheritance_keeps_path(tmp_path, monkeypatch):
    monkeypatch.setenv("LIFTOFF_TEST_INHERITED", "yes")
    _, lines = run(["env"], tmp_path, env={"ONLY": "1"}, inherit_env=False)
    assert "ONLY=1" in lines
    assert any(line.startswith("PATH=") for line in lines)
    assert not any(line.startswith("LIFTOFF_TEST_INHERITED=") for line in lines)


def test_a_shell_string_is_refused(tmp_path):
    with pytest.raises(TypeError):
        run_command("echo hi", cwd=tmp_path, timeout=1)
    with pytest.raises(TypeError):
        run_command(["echo", tmp_path], cwd=tmp_path, timeout=1)


def test_a_missing_executable_is_reported_not_raised(tmp_path):
    result, lines = run(["liftoff-no-such-command"], tmp_path)
    assert (result.exit_code, result.reason) == (None, "not-found")
    assert lines == [result.output_tail]
    assert "could not start liftoff-no-such-command" in lines[0]


def test_secret_values_come_from_settings_and_environment(settings, monkeypatch):
    settings.SECRET_KEY = "settings-secret-key"
    settings.REDIS_URL = "redis://:p%40ssword@localhost:6379/0"
    monkeypatch.setenv("FOO_TOKEN", "foo-token-value")
    monkeypatch.setenv("LIFTOFF_SECRET_ENV", "PLAIN_NAME, OTHER")
    monkeypatch.setenv("PLAIN_NAME", "listed-value")
    monkeypatch.setenv("EMPTY_PASSWORD", "")
    values = secret_values_from_settings()
    for expected in ("settings-secret-key", "foo-token-value", "listed-value", "p@ssword"):
        assert expected in values
    assert "p%40ssword" in values  # as it appears in a printed URL
    assert "" not in values
