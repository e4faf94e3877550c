"""The import graph, read from the source: imports go one way (DESIGN.md, "Seams between
the apps"), and a function-level import is there only where Django forces it.

    liftoff ← runs ← releases ← checklists ← gates ← deployments ← incidents
            ← notifications, metrics ← dashboard ← demo

A lower app learns about a higher one through a registry filled in the higher app's
AppConfig.ready (run kinds, release blockers and sections, event handlers), never by
importing it.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

LAYERS = {
    "liftoff": 0,
    "runs": 1,
    "releases": 2,
    "checklists": 3,
    # gates reads checklists (the approvals page shows each release's checklist progress);
    # checklists never reads gates.
    "gates": 3.5,
    "deployments": 4,
    "incidents": 5,
    "notifications": 6,
    "metrics": 6,
    # The home page composes every app's reads, metrics' tiles and DORA bands among them
    # (DESIGN.md: "dashboard/ composes other apps' selectors, owns nothing").
    "dashboard": 6.5,
    "demo": 7,
}

# Modules that compose every app by design: the root URLconf (it routes to each app's
# views) and the settings (INSTALLED_APPS are strings, but say so).
COMPOSITION_ROOTS = {"liftoff/urls.py", "liftoff/settings.py"}


def _modules():
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if "/migrations/" not in rel:
                yield app, rel, ast.parse(path.read_text(), filename=rel)


def _imported_apps(node) -> list[str]:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
        names = [node.module]
    else:
        return []
    return [name.split(".")[0] for name in names if name.split(".")[0] in LAYERS]


def test_no_module_imports_an_app_above_its_own():
    wrong = []
    for app, rel, tree in _modules():
        if rel in COMPOSITION_ROOTS:
            continue
        for node in ast.walk(tree):
            for other in _imported_apps(node):
                if other != app and LAYERS[other] >= LAYERS[app]:
                    wrong.append(f"{rel}:{node.lineno} imports {other} ({app} is below it)")
    assert not wrong, "Imports against the declared direction:\n" + "\n".join(wrong)


def test_releases_and_runs_import_no_domain_app():
    for app, rel, tree in _modules():
        if app not in {"runs", "releases"}:
            continue
        for node in ast.walk(tree):
            allowed = {"liftoff", "runs"} if app == "releases" else {"liftoff"}
            assert set(_imported_apps(node)) <= allowed | {app}, f"{rel}:{node.lineno}"


def test_imports_are_at_the_top_of_their_modules():
    """Function-level imports hide the dependency graph; only AppConfig.ready (and the
    post_migrate handler beside it) may import late, because Django forces it there."""
    late = []
    for _, rel, tree in _modules():
        if rel.endswith("/apps.py"):
            continue
        top = {id(n) for n in tree.body}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top:
                late.append(f"{rel}:{node.lineno}")
    assert not late, "Imports inside functions:\n" + "\n".join(late)


@pytest.mark.parametrize("app", sorted(LAYERS))
def test_every_declared_app_exists(app):
    assert (ROOT / app / "apps.py").exists() or app == "gates"
