"""Run kinds used only by the tests; the test worker imports this module (--include)."""

import sys
import time

from runs.registry import RunKind, StepSpec, register_kind

PY = sys.executable


def _wait(ctx):
    """Sleeps in the worker itself (not a subprocess), checking for cancel."""
    deadline = time.monotonic() + float(ctx.params.get("seconds", 1))
    ctx.log("waiting")
    while time.monotonic() < deadline:
        ctx.check_cancelled()
        time.sleep(0.1)
    return "waited"


def _counted(ctx):
    ctx.log("counted step ran")
    time.sleep(1)
    return "counted"


TREE_SCRIPT = (
    "import os, subprocess, time\n"
    "print('pgid=%d' % os.getpgid(0), flush=True)\n"
    "children = [subprocess.Popen(['sleep', '300']) for _ in range(2)]\n"
    "time.sleep(300)\n"
)


def _tree(ctx):
    ctx.run_command([PY, "-c", TREE_SCRIPT], cwd="/", timeout=600, silence_timeout=600)


def _silent(ctx):
    ctx.run_command(
        [PY, "-c", "import time; print('hello', flush=True); time.sleep(30)"],
        cwd="/",
        timeout=20,
        silence_timeout=1,
    )


def _looping(ctx):
    ctx.run_command(
        [PY, "-u", "-c", "import time\nwhile True:\n print('tick')\n time.sleep(0.1)"],
        cwd="/",
        timeout=2,
        silence_timeout=10,
    )


def _sleep_command(ctx):
    """A command that runs for `seconds`, printing its process group first."""
    seconds = float(ctx.params.get("seconds", 1))
    script = (
        f"import os, time\nprint('pgid=%d' % os.getpgid(0), flush=True)\ntime.sleep({seconds})\n"
    )
    ctx.run_command([PY, "-c", script], cwd="/", timeout=600, silence_timeout=600)
    return "slept"


def _secretive(ctx):
    ctx.run_command([PY, "-c", "print('token=hunter2-deploy-key')"], cwd="/", timeout=20)
    return "used token=hunter2-deploy-key"


def _kind(name, func, **extra):
    return register_kind(
        RunKind(
            name=f"test.{name}",
            label=f"Test {name}",
            steps=(StepSpec("wait", f"Test {name}", func),),
            **extra,
        )
    )


SLOW = _kind("slow", _wait)
COUNTED = _kind("counted", _counted)
TREE = _kind("tree", _tree)
SILENT = _kind("silent", _silent)
LOOPING = _kind("looping", _looping)
SLEEP_COMMAND = _kind("sleepcmd", _sleep_command)
SECRETIVE = _kind("secretive", _secretive, secrets=lambda run: ["hunter2-deploy-key"])


def _raise_secrets(run):
    raise RuntimeError("broken kind definition")


BROKEN = _kind("broken", _wait, secrets=_raise_secrets)
