"""Analysing a release's change again, on its own run: a failed or stale analysis is a
visible state with its way out on the compliance report (and the API), for release
managers only, never without a head to analyse."""

import pytest
from rest_framework.test import APIClient

from liftoff.errors import NotAllowed
from releases.selectors import release_change_impact
from releases.services import release_change_analyse, release_change_analysis_start
from runs.models import Run, RunStatus
from tests.releases.test_change_impact import ReleaseFactoryLite, _final, _project, history  # noqa: F401

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_failed_analysis_is_run_again_from_the_report(
    history,  # noqa: F811
    settings,
    tmp_path,
    manager,
    stakeholder,
    client_as,
    start_worker,
):
    settings.DATA_DIR = tmp_path / "data"
    bare, work, base = history
    release = ReleaseFactoryLite.make(_project(bare), head_commit=work.head.commit.hexsha)
    release_change_analyse(release=release, repo_path=work.working_dir, head="f" * 40)
    report = f"/metrics/releases/{release.pk}/compliance/"
    reader = client_as(stakeholder).get(report).content.decode()
    assert "The change could not be analysed." in reader
    assert "Analyse the change again" not in reader  # not theirs to start
    refused = client_as(stakeholder).post(f"/releases/{release.pk}/impact/analyse/")
    assert refused.status_code == 403
    page = client_as(manager).get(report).content.decode()
    assert "Analyse the change again</button>" in page
    start_worker()
    answer = client_as(manager).post(f"/releases/{release.pk}/impact/analyse/")
    assert answer.status_code == 302
    run = _final(Run.objects.get(kind="release.analyse"))
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert [s.key for s in run.steps.all()] == ["fetch", "impact"]
    impact = release_change_impact(release=release)
    assert impact["state"] == "analysed"
    assert (impact["previous_tag"], impact["base_commit"]) == ("v1.0.0", base)
    after = client_as(manager).get(report).content.decode()
    assert "Analyse the change" not in after


def test_the_api_starts_it_for_managers_and_refuses_without_a_head(
    history,  # noqa: F811
    settings,
    tmp_path,
    manager,
    approver,
):
    settings.DATA_DIR = tmp_path / "data"
    bare, work, _ = history
    project = _project(bare)
    release = ReleaseFactoryLite.make(project, head_commit=work.head.commit.hexsha)
    with pytest.raises(NotAllowed):  # the service's own check, whoever calls it
        release_change_analysis_start(release=release, actor=approver)
    api = APIClient()
    api.force_authenticate(approver)
    assert api.post(f"/api/v1/releases/{release.pk}/impact/").status_code == 403
    api.force_authenticate(manager)
    started = api.post(f"/api/v1/releases/{release.pk}/impact/")
    assert started.status_code == 202 and started.json()["status"] == "queued"
    # One at a time: the release's git lock is held by the queued run.
    again = api.post(f"/api/v1/releases/{release.pk}/impact/")
    assert again.status_code == 409
    from tests.factories import ReleaseFactory

    headless = ReleaseFactory(project=project, version="1.2.0", head_commit="")
    refused = api.post(f"/api/v1/releases/{headless.pk}/impact/")
    assert refused.status_code == 409 and "no head commit" in refused.json()["detail"]
