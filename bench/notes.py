"""Time `releases.notes.draft_notes` on 5,000 commits against a bare `git log` of them.

1. Build a throwaway repository in a temporary directory with `git fast-import` (one
   process fed a generated stream: 5,000 commits, each changing one of 50 small files,
   varied Conventional Commits subjects, a few breaking footers, 7 authors). No hooks, no
   working tree checkout: a few hundred milliseconds.
2. Best of N (default 5) of `draft_notes` over the whole history (read, group, render),
   and best of N of a `git log` subprocess with the very same arguments (`log_args`), so
   the ratio is the cost of GitPython, parsing, grouping and rendering over git itself.
   The raw `git log` is timed twice: as anyone would run it, and with GIT_FLUSH=0 as
   `commits_between` runs it (git then stops flushing into the pipe after every commit,
   which alone takes a fifth to a third off). The second ratio is the strict one.
   `commits_between` parses the output as it arrives, so with a spare core its parsing
   hides behind git's own work; on a busy machine both ratios go up.
3. Also best of N for each stage alone, to show where the time goes.

    .venv/bin/python bench/notes.py [--commits N] [--repeat N]

Prints a Markdown table and writes it to bench/results/ (ignored by git). Every git
process gets an argument list (never a shell) and a timeout, so the bench is bounded
(about 5 s at the defaults). The user's and system git config are ignored.
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 60

AUTHORS = [
    ("Ada Lovelace", "ada@example.test"),
    ("Grace Hopper", "grace@example.test"),
    ("Linus Example", "linus@example.test"),
    ("Margaret Hamilton", "margaret@example.test"),
    ("Ken Thompson", "ken@example.test"),
    ("Barbara Liskov", "barbara@example.test"),
    ("Dennis Ritchie", "dennis@example.test"),
]
TYPES = ["feat", "fix", "fix", "perf", "docs", "chore", "refactor", "test", "ci", "security"]
SCOPES = [None, None, "api", "ui", "db", "security", "deploy", "gates", "notes"]
WORDS = ["add", "retry", "cache", "token", "release", "gate", "rollback", "timeout", "audit"]


def fast_import_stream(count: int, seed: int = 42) -> bytes:
    """A `git fast-import` stream of `count` commits on refs/heads/main."""
    rng = random.Random(seed)
    when = 1_767_225_600  # 2026-01-01T00:00:00Z
    out = []
    for i in range(1, count + 1):
        name, email = rng.choice(AUTHORS)
        when += rng.randint(60, 3600)
        kind = rng.random()
        if kind < 0.05:
            subject = f"Update {rng.choice(WORDS)} {rng.choice(WORDS)}"  # not conventional
        else:
            scope = rng.choice(SCOPES)
            bang = "!" if kind > 0.98 else ""
            header = rng.choice(TYPES) + (f"({scope})" if scope else "") + bang
            subject = f"{header}: {' '.join(rng.choices(WORDS, k=rng.randint(2, 8)))}"
        message = subject + "\n"
        if rng.random() < 0.3:
            message += "\n" + " ".join(rng.choices(WORDS, k=30)) + "\n"
        if 0.97 < kind <= 0.98:
            message += "\nBREAKING CHANGE: the old behaviour is gone\n"
        message_bytes = message.encode()
        content = f"{i}\n".encode()
        out.append(
            b"commit refs/heads/main\n"
            + f"mark :{i}\n".encode()
            + f"author {name} <{email}> {when} +0000\n".encode()
            + f"committer {name} <{email}> {when} +0000\n".encode()
            + f"data {len(message_bytes)}\n".encode()
            + message_bytes
            + (f"from :{i - 1}\n".encode() if i > 1 else b"")
            + f"M 100644 inline file{i % 50:02d}.txt\n".encode()
            + f"data {len(content)}\n".encode()
            + content
            + b"\n"
        )
    return b"".join(out)


def repo_build(path: Path, count: int) -> float:
    started = time.perf_counter()
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True, timeout=TIMEOUT)
    subprocess.run(
        ["git", "fast-import", "--quiet"],
        input=fast_import_stream(count),
        cwd=path,
        check=True,
        timeout=TIMEOUT,
    )
    return time.perf_counter() - started


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    # Same git for both sides, and none of the machine's config (a pager, log.showSignature
    # or a mailmap would change what is timed).
    os.environ.update({"GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull})
    sys.path.insert(0, str(ROOT))
    from releases import notes

    with tempfile.TemporaryDirectory(prefix="liftoff-bench-notes-") as tmp:
        repo = Path(tmp) / "repo"
        built = repo_build(repo, args.commits)
        print(f"built {args.commits:,} commits with git fast-import in {built:.2f} s")

        log_cmd = ["git", "-C", str(repo), "log", *notes.log_args(since=None, until="main")]

        def raw_log(env=None):
            return subprocess.run(
                log_cmd, capture_output=True, check=True, timeout=TIMEOUT, env=env
            ).stdout

        buffered_env = {**os.environ, "GIT_FLUSH": "0"}

        def draft():
            return notes.draft_notes(
                repo,
                since=None,
                until="main",
                project_name="Bench",
                version="1.0.0",
                codename="Hot Path",
                summary="",
                commit_url_base="https://git.example.test/acme/bench/commit",
            )

        raw_s, raw_out = best_of(args.repeat, raw_log)
        buffered_s, buffered_out = best_of(args.repeat, lambda: raw_log(buffered_env))
        if buffered_out != raw_out:
            sys.exit("git log printed something else with GIT_FLUSH=0")
        draft_s, markdown = best_of(args.repeat, draft)

        commits = notes.commits_between(repo, since=None, until="main")
        stages = {
            "commits_between (GitPython git log, parsed as it arrives)": best_of(
                args.repeat, lambda: notes.commits_between(repo, since=None, until="main")
            )[0],
            "parse_log alone, on the whole output": best_of(
                args.repeat, lambda: notes.parse_log(raw_out.decode().rstrip("\n"))
            )[0],
            "group_commits": best_of(args.repeat, lambda: notes.group_commits(commits))[0],
            "contributors_from": best_of(args.repeat, lambda: notes.contributors_from(commits))[0],
        }
        groups = notes.group_commits(commits)
        people = notes.contributors_from(commits)
        stages["render_notes"] = best_of(
            args.repeat,
            lambda: notes.render_notes(
                project_name="Bench",
                version="1.0.0",
                codename="Hot Path",
                summary="",
                groups=groups,
                contributors=people,
                compare_url_base=None,
                commit_url_base="https://git.example.test/acme/bench/commit",
            ),
        )[0]

    items = sum(len(v) for v in groups.values())
    if len(commits) != args.commits or items != args.commits:
        sys.exit(f"expected {args.commits} commits, read {len(commits)}, grouped {items}")
    ratio, strict_ratio = draft_s / raw_s, draft_s / buffered_s
    table = "\n".join(
        [
            f"Release notes over {args.commits:,} commits, best of {args.repeat} "
            f"({len(raw_out) / 1e6:.2f} MB of git log output, "
            f"{len(markdown.encode()) / 1e6:.2f} MB of Markdown)",
            "",
            "| what | best s |",
            "|---|---:|",
            f"| raw `git log` subprocess | {raw_s:.4f} |",
            f"| raw `git log` subprocess, GIT_FLUSH=0 | {buffered_s:.4f} |",
            f"| `draft_notes` (read, group, render) | {draft_s:.4f} |",
            *(f"| &nbsp;&nbsp;{name} | {secs:.4f} |" for name, secs in stages.items()),
            "",
            f"draft_notes / raw git log: **{ratio:.2f}×** (aim ≤ 1.5×); "
            f"/ raw git log with GIT_FLUSH=0, as draft_notes runs it: **{strict_ratio:.2f}×**",
        ]
    )
    print(table)
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    (results / f"notes-{stamp}.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
