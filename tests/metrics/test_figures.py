"""Every figure against one computed by hand on a generated history (the arithmetic is
written beside each assertion), and the edges the issue names."""

from datetime import date

import pytest

from deployments.models import DeploymentStatus
from metrics.selectors import Window, deployment_set, metrics_report
from metrics.services import release_rate
from releases.models import Release, ReleaseType
from tests.factories import ReleaseFactory, synced_project
from tests.incidents.conftest import _environment
from tests.metrics.conftest import MARCH, at

pytestmark = pytest.mark.django_db


def _figures(report):
    return {f.key: f for f in (*report.kpis, *report.dora)}


@pytest.fixture
def march(project, production, staging, release, manager, deploy, rollback, incident):
    """The history of docs/metrics.md's worked example (all times UTC):

    D0 27 Feb deploy, verified (before the window), commit e
    D1  2 Mar 10:00 deploy, 10 min, verified, commit a (1 Mar 10:00)
    D2  3 Mar 10:00 deploy, 20 min, verification failed, commit b (3 Mar 09:00)
    R1  3 Mar 10:30 rollback of D2, 5 min, verified
    D3 10 Mar 10:00 deploy of a hotfix release, 30 min, verified, commits b again and c
                    (c committed 11:00, after the deployment: left out); incident I1
                    opened 12:00 names it, resolved 14:00
    D4 11 Mar 09:00 deploy, 10 min, verified, commits a (again) and d (11 Mar 08:00)
    D5 20 Mar deploy cancelled; a staging deployment on 5 Mar; incident I0 opened
       28 Feb, resolved 2 Mar (it belongs to February).
    """
    # Planned as a patch, then made the hotfix it is (nothing had shipped yet for the
    # planning service to propose a hotfix of).
    hotfix = ReleaseFactory(project=project, version="2.0.1", release_manager=manager)
    Release.objects.filter(pk=hotfix.pk).update(type=ReleaseType.HOTFIX)
    deploy(production, at(27, month=2), commits=[("e", at(26, month=2))])
    d1 = deploy(production, at(2), minutes=10, commits=[("a", at(1))])
    d2 = deploy(
        production,
        at(3),
        minutes=20,
        status=DeploymentStatus.FAILED,
        verification_failed=True,
        commits=[("b", at(3, 9))],
    )
    r1 = rollback(d2, at(3, 10, 30), minutes=5)
    d3 = deploy(
        production, at(10), minutes=30, release=hotfix, commits=[("b", at(3, 9)), ("c", at(10, 11))]
    )
    d4 = deploy(production, at(11, 9), minutes=10, commits=[("a", at(1)), ("d", at(11, 8))])
    deploy(production, at(20), status=DeploymentStatus.CANCELLED)
    deploy(staging, at(5))
    incident(at(10, 12), resolved=at(10, 14), deployment=d3)
    incident(at(28, 9, month=2), resolved=at(2, 9))
    return {"d1": d1, "d2": d2, "r1": r1, "d3": d3, "d4": d4}


def test_the_kpis_of_a_month(march, project):
    f = _figures(metrics_report(project=project, window=MARCH))
    # D1, D3, D4 verified of the deploys D1..D4.
    assert (f["deployment_success_rate"].numerator, f["deployment_success_rate"].denominator) == (
        3,
        4,
    )
    assert f["deployment_success_rate"].value == 75.0
    assert f["deployment_success_rate"].met is False  # target > 99 %
    # R1 of the four deploys.
    assert (f["rollback_frequency"].numerator, f["rollback_frequency"].denominator) == (1, 4)
    assert f["rollback_frequency"].value == 25.0
    # 10, 20, 30, 10 minutes: median (10 + 20) / 2.
    assert f["deployment_time"].value == 15.0
    assert f["deployment_time"].count == 4
    assert f["deployment_time"].met is False  # target < 15


def test_the_dora_metrics_of_a_month(march, project):
    f = _figures(metrics_report(project=project, window=MARCH))
    # Successful: D1, R1, D3, D4 over 28 days, on 4 days: weeks of 2, 2, 0, 0 days.
    frequency = f["deployment_frequency"]
    assert (frequency.count, frequency.value) == (4, 1.0)
    assert frequency.extra == {"cadence": "weekly", "days_with_deployment": 4}
    assert frequency.band == "high"
    assert frequency.trend == [2.0, 2.0, 0.0, 0.0]
    # a: D1 10:10 2 Mar − 1 Mar 10:00 = 24 h 10 min; b: first verified by D3 (D2 failed),
    # 10 Mar 10:30 − 3 Mar 09:00 = 169.5 h; d: 11 Mar 09:10 − 08:00 = 1 h 10 min. c is
    # left out (committed after D3), a's second deployment (D4) and e (February) too.
    lead = f["lead_time"]
    assert (lead.value, lead.count) == (24.17, 3)
    assert lead.band == "high"  # over a day, under a week
    # D2 (verification failed, rolled back) and D3 (named by I1) of D1, D2, R1, D3, D4.
    fail = f["change_fail_rate"]
    assert (fail.numerator, fail.denominator, fail.value, fail.band) == (2, 5, 40.0, "low")
    # D2: 10:20 → R1 10:35 = 0.25 h; D3: 10 Mar 10:30 → D4 11 Mar 09:10 = 22.67 h.
    recovery = f["recovery_time"]
    assert (recovery.value, recovery.count, recovery.band) == (11.46, 2, "high")
    assert recovery.extra["unrecovered"] == 0
    # I1: 2 h; I0 was opened in February.
    assert (recovery.extra["time_to_restore"], recovery.extra["time_to_restore_count"]) == (2.0, 1)
    # R1 and D3 (a hotfix release) of the five.
    rework = f["rework_rate"]
    assert (rework.numerator, rework.denominator, rework.value, rework.band) == (2, 5, 40.0, None)


def test_weekly_trends_split_the_same_counts(march, project):
    f = _figures(metrics_report(project=project, window=MARCH))
    # Week 1: D1 verified, D2 failed; week 2: D3 and D4 verified; then nothing.
    assert f["deployment_success_rate"].trend == [50.0, 100.0, None, None]
    assert f["change_fail_rate"].trend == [round(100 / 3, 2), 50.0, None, None]
    assert f["deployment_time"].trend == [15.0, 20.0, None, None]


def test_each_count_lists_exactly_its_deployments(march, project):
    failed = deployment_set(name="failed", project=project, window=MARCH)
    assert {d.pk for d in failed} == {march["d2"].pk, march["d3"].pk}
    unplanned = deployment_set(name="unplanned", project=project, window=MARCH)
    assert {d.pk for d in unplanned} == {march["r1"].pk, march["d3"].pk}
    assert deployment_set(name="production", project=project, window=MARCH).count() == 5


def test_an_incident_spanning_two_windows_counts_in_the_one_it_opened_in(march, project):
    february = Window(since=date(2026, 2, 1), until=date(2026, 2, 28))
    recovery = _figures(metrics_report(project=project, window=february))["recovery_time"]
    # I0: 28 Feb 09:00 → 2 Mar 09:00 = 48 h.
    assert (recovery.extra["time_to_restore"], recovery.extra["time_to_restore_count"]) == (48, 1)


def test_no_deployments_gives_no_figure_rather_than_zero(project, production):
    report = metrics_report(project=project, window=MARCH)
    for figure in (*report.kpis, *report.dora):
        if figure.key == "deployment_frequency":
            assert (figure.value, figure.count, figure.band) == (0.0, 0, None)
            continue
        assert figure.value is None, figure.key
        assert figure.met is None and figure.band is None, figure.key
    f = _figures(report)
    assert (f["change_fail_rate"].numerator, f["change_fail_rate"].denominator) == (0, 0)


def test_all_failed(project, production, deploy):
    for day in (2, 9, 16):
        deploy(production, at(day), status=DeploymentStatus.FAILED, verification_failed=True)
    f = _figures(metrics_report(project=project, window=MARCH))
    assert (f["deployment_success_rate"].value, f["deployment_success_rate"].numerator) == (0.0, 0)
    assert (f["change_fail_rate"].numerator, f["change_fail_rate"].denominator) == (3, 3)
    assert f["change_fail_rate"].value == 100.0
    # Nothing verified came after: no recovery time, three not recovered.
    assert f["recovery_time"].value is None
    assert f["recovery_time"].extra["unrecovered"] == 3
    assert (f["deployment_frequency"].count, f["deployment_frequency"].band) == (0, None)
    assert f["lead_time"].value is None


def test_a_window_with_one_deployment(project, production, deploy):
    deploy(production, at(4), minutes=12, commits=[("a", at(4, 7))])
    week = Window(since=date(2026, 3, 2), until=date(2026, 3, 8))
    f = _figures(metrics_report(project=project, window=week))
    assert f["deployment_success_rate"].value == 100.0
    assert f["rollback_frequency"].value == 0.0
    assert f["rollback_frequency"].met is True
    assert f["deployment_time"].value == 12.0
    assert f["deployment_time"].met is True
    assert (f["lead_time"].value, f["lead_time"].count) == (3.2, 1)  # 07:00 → 10:12
    assert f["lead_time"].band == "elite"
    # One day in the only week: weekly.
    assert (f["deployment_frequency"].value, f["deployment_frequency"].band) == (1.0, "high")


def test_a_rollback_of_a_rollback(project, production, deploy, rollback):
    """D1 v1, D2 v2, R1 takes D2 back to v1, R2 takes R1 back (to v2): D2 and R1 were
    rolled back (needed intervention), R1 and R2 are unplanned."""
    deploy(production, at(2))
    d2 = deploy(production, at(3))
    r1 = rollback(d2, at(3, 11), minutes=5)
    rollback(r1, at(3, 12), minutes=5)
    f = _figures(metrics_report(project=project, window=MARCH))
    assert (f["change_fail_rate"].numerator, f["change_fail_rate"].denominator) == (2, 4)
    assert (f["rework_rate"].numerator, f["rework_rate"].denominator) == (2, 4)
    # D2 10:10 → R1 11:05 = 55 min; R1 11:05 → R2 12:05 = 60 min: median 57.5 min.
    assert f["recovery_time"].value == round(57.5 / 60, 2)
    assert f["recovery_time"].band == "elite"
    assert (f["rollback_frequency"].numerator, f["rollback_frequency"].denominator) == (2, 2)


def test_commits_deployed_to_production_twice_count_once(project, production, deploy):
    """The same commits in two verified production deployments (a redeploy): lead time is
    measured to the first only."""
    deploy(production, at(2), minutes=10, commits=[("a", at(2, 8))])
    deploy(production, at(9), minutes=10, commits=[("a", at(2, 8)), ("b", at(9, 9))])
    lead = _figures(metrics_report(project=project, window=MARCH))["lead_time"]
    # a: 08:00 → 10:10 = 2.1667 h; b: 09:00 → 10:10 = 1.1667 h; median 1.6667.
    assert (lead.value, lead.count) == (1.67, 2)


def test_other_projects_are_apart_and_all_projects_add_up(march, project, admin_user, deploy):
    other = synced_project(actor=admin_user, slug="blog", name="Blog", repo_url="https://x.test/b")
    other_production = _environment(other, "production", "production", 1)
    deploy(other_production, at(4), release=ReleaseFactory(project=other, version="1.0.0"))
    mine = _figures(metrics_report(project=project, window=MARCH))
    everyone = _figures(metrics_report(project=None, window=MARCH))
    assert mine["change_fail_rate"].denominator == 5
    assert everyone["change_fail_rate"].denominator == 6
    assert everyone["deployment_frequency"].count == 5


def test_satisfaction_security_and_performance_of_shipped_releases(
    project, release, stakeholder, make_user, gate_result
):
    Release.objects.filter(pk=release.pk).update(status="released", released_at=at(11))
    release.refresh_from_db()
    release_rate(release=release, actor=stakeholder, score=3)
    release_rate(release=release, actor=stakeholder, score=5)  # changed, still one rating
    release_rate(release=release, actor=make_user("stakeholder", username="sam"), score=4)
    gate_result(release, "security-scan", 5, at(8))
    gate_result(release, "security-scan", 2, at(9))  # the latest counts
    gate_result(release, "dependency-vulnerabilities", 1, at(9))
    gate_result(release, "performance-regression", 10.0, at(8))
    gate_result(release, "performance-regression", 3.5, at(9))
    f = _figures(metrics_report(project=project, window=MARCH))
    assert (f["user_satisfaction"].value, f["user_satisfaction"].count) == (4.5, 2)
    assert f["user_satisfaction"].met is False  # target > 4.5
    assert (f["security_issues"].value, f["security_issues"].met) == (3.0, False)
    performance = f["performance_regression"]
    assert (performance.value, performance.numerator, performance.denominator) == (3.5, 1, 1)
    assert f["user_satisfaction"].trend == [None, 4.5, None, None]


def test_security_incidents_add_to_the_gate_findings_in_their_week(
    project, release, incident, gate_result
):
    Release.objects.filter(pk=release.pk).update(status="released", released_at=at(11))
    gate_result(release, "security-scan", 2, at(9))
    incident(at(3), security=True)  # week 0 (1–7 March)
    incident(at(16), resolved=at(17), security=True, severity="low")  # week 2, any severity
    incident(at(17))  # not a security incident
    incident(at(27, month=2), security=True)  # before the window
    figure = _figures(metrics_report(project=project, window=MARCH))["security_issues"]
    # 2 findings (shipped 11 March, week 1) + 2 security incidents in the window.
    assert (figure.value, figure.met) == (4.0, False)
    assert (figure.extra["findings"], figure.extra["security_incidents"]) == (2, 2)
    assert figure.count == 1  # releases measured
    assert figure.trend == [1.0, 2.0, 1.0, None]
