"""The periodic health check: every environment's checks, asked concurrently within a
bounded time. Deployments verify with their own step (deployments.run_kinds); this is
what the board and the dashboard show between deployments."""

from concurrent.futures import ThreadPoolExecutor, wait

from django.conf import settings

from deployments.models import Environment, HealthCheck
from deployments.run_kinds import check_problem
from deployments.selectors import environment_current
from deployments.services import environment_health_record


def _expected_version(environment: Environment) -> str:
    current = environment_current(environment=environment)
    return current.version if current else ""


def _probe_one(check: HealthCheck, version: str) -> tuple[int, str, int]:
    problem, ms = check_problem(check, version=version)
    return check.environment_id, problem, ms


def environments_check_health(*, environments=None) -> dict[int, bool]:
    """Ask every check of every environment (with a health check) once, at most
    HEALTH_CHECK_CONCURRENCY at a time; record each environment's health. Returns
    {environment id: healthy}. Checks that did not answer within the budget count as
    failing with that reason."""
    environments = list(environments if environments is not None else Environment.objects.all())
    checks = list(
        HealthCheck.objects.filter(environment__in=environments).order_by("environment_id", "order")
    )
    versions = {
        e.pk: _expected_version(e)
        for e in environments
        if any(c.environment_id == e.pk for c in checks)
    }
    problems: dict[int, list[str]] = {pk: [] for pk in versions}
    slowest: dict[int, int] = dict.fromkeys(versions, 0)
    with ThreadPoolExecutor(max_workers=settings.HEALTH_CHECK_CONCURRENCY) as pool:
        futures = {
            pool.submit(_probe_one, check, versions[check.environment_id]): check
            for check in checks
        }
        done, not_done = wait(futures, timeout=settings.HEALTH_CHECK_BUDGET_SECONDS)
        for future in not_done:
            future.cancel()
            check = futures[future]
            problems[check.environment_id].append(f"{check.url}: no answer within the budget")
        for future in done:
            environment_id, problem, ms = future.result()
            slowest[environment_id] = max(slowest[environment_id], ms)
            if problem:
                problems[environment_id].append(problem)
    by_pk = {e.pk: e for e in environments}
    for pk, found in problems.items():
        asked = sum(1 for c in checks if c.environment_id == pk)
        environment_health_record(
            environment=by_pk[pk],
            ok=not found,
            detail="; ".join(found) or f"{asked} checks passed",
            milliseconds=slowest[pk],
        )
    return {pk: not found for pk, found in problems.items()}
