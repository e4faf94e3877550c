"""The kinds of run. Each app registers its own kinds (in its AppConfig.ready); the engine
reads this registry and imports no app.

A step is a function `step(ctx: StepContext) -> str | None`: it does its work, logs
through `ctx.log` / `ctx.run_command`, returns a one-line summary, and raises
`StepFailed` with a readable reason when it cannot finish. Steps must be safe to run again
(a retry runs them all again): each checks what is already done before it acts.
"""

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class StepSpec:
    key: str
    name: str
    func: Callable


@dataclass(frozen=True)
class RunKind:
    name: str
    label: str
    steps: tuple[StepSpec, ...]
    # Keys this run holds exclusively from creation to its end, e.g. "project:3:git".
    lock_keys: Callable = field(default=lambda run: [])
    # Extra values to mask in this kind's logs (beyond the global secrets).
    secrets: Callable = field(default=lambda run: [])
    # Called (in the worker, after the final status is written) to let the app react.
    on_finish: Callable | None = None
    # A failed or cancelled run may be run again as it was (Retry). A kind whose runs
    # carry a record of their own (a deployment) says why not; it is started anew instead.
    not_retryable: str = ""


_KINDS: dict[str, RunKind] = {}


def register_kind(kind: RunKind) -> RunKind:
    if kind.name in _KINDS and _KINDS[kind.name] is not kind:
        raise ValueError(f"Run kind {kind.name!r} is registered twice.")
    if not kind.steps:
        raise ValueError(f"Run kind {kind.name!r} has no steps.")
    _KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> RunKind:
    return _KINDS[name]


def kind_retry_refusal(name: str) -> str:
    """Why runs of `name` are not retried ("" when they are)."""
    kind = _KINDS.get(name)
    return kind.not_retryable if kind else ""


def kind_label(name: str) -> str:
    kind = _KINDS.get(name)
    return kind.label if kind else name


def registered_kinds() -> list[RunKind]:
    return sorted(_KINDS.values(), key=lambda k: k.label)
