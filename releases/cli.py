"""What other apps add to `manage.py release`, so the command imports none of them:

- an **action** `fn(*, release, actor) -> str`: a subcommand taking `--project` and a
  version (gates: `validate`), printing what `fn` returns;
- **check lines** `fn(release) -> list[str]`: what `release check` prints before the
  blockers (gates: each gate's status and value).

Apps register in their `AppConfig.ready`.
"""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ReleaseAction:
    name: str
    help: str
    run: Callable[..., str]


_ACTIONS: dict[str, ReleaseAction] = {}
_CHECK_LINES: dict[str, Callable] = {}


def register_action(action: ReleaseAction) -> None:
    _ACTIONS[action.name] = action


def register_check_lines(name: str, fn: Callable) -> None:
    _CHECK_LINES[name] = fn


def release_actions() -> list[ReleaseAction]:
    return sorted(_ACTIONS.values(), key=lambda a: a.name)


def check_lines(release) -> list[str]:
    return [line for fn in _CHECK_LINES.values() for line in fn(release)]
