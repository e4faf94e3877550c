"""The only writes of metrics/: a project's targets and settings, a person's rating of a
shipped release (each with its audit record in the same transaction), and the version
of a project's figures that the events changing them bump (the cache's key)."""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from liftoff.audit import GENESIS_HASH, audit_record
from liftoff.celery import app as celery_app
from liftoff.errors import ValidationFailed
from liftoff.models import AuditChainHead
from liftoff.roles import Role, require_role
from metrics.evidence import canonical_json, compliance_document, sha256_hex
from metrics.models import (
    EvidenceSnapshot,
    MetricSettings,
    MetricsVersion,
    Rating,
    ReleaseSbom,
    RiskAssessment,
    RiskLevel,
    SbomStatus,
    SnapshotReason,
)
from metrics.sbom import SbomProblem, dependency_file_at, sbom_from_files
from releases.models import Release, ReleaseStatus

# The settings an admin edits (MetricSettingsForm's fields).
SETTINGS_FIELDS = (
    "success_rate_target",
    "rollback_rate_target",
    "deployment_minutes_target",
    "satisfaction_target",
    "security_issues_target",
    "performance_regression_target",
    "dora_year",
    "performance_gate_key",
)


@transaction.atomic
def metric_settings_update(*, project, actor, **values) -> MetricSettings:
    """Admins: the project's KPI targets and DORA report year."""
    require_role(actor, {Role.ADMIN}, "Only an admin changes a project's metric targets.")
    unknown = set(values) - set(SETTINGS_FIELDS)
    if unknown:
        raise ValidationFailed("Unknown setting.", errors={k: ["Unknown."] for k in unknown})
    before = MetricSettings.objects.filter(project=project).values(*SETTINGS_FIELDS).first()
    settings, _ = MetricSettings.objects.update_or_create(project=project, defaults=values)
    metrics_version_bump(project_id=project.pk)
    audit_record(
        actor=actor,
        action="project.metric_settings_changed",
        obj=project,
        before=before,
        after={name: getattr(settings, name) for name in SETTINGS_FIELDS},
    )
    return settings


@transaction.atomic
def release_rate(*, release, actor, score: int) -> Rating:
    """A stakeholder's rating of a shipped release, 1–5: once each; rating again changes
    it (the unique constraint rating_once_per_person keeps one row whatever raced)."""
    require_role(actor, {Role.STAKEHOLDER}, "Stakeholders rate shipped releases.")
    if release.status != ReleaseStatus.RELEASED:
        raise ValidationFailed(
            "Only a shipped release is rated.", errors={"score": ["This release has not shipped."]}
        )
    if score not in range(1, 6):
        raise ValidationFailed("A rating is 1 to 5.", errors={"score": ["Pick 1 to 5."]})
    before = Rating.objects.filter(release=release, user=actor).values_list("score", flat=True)
    previous = before.first()
    rating, _ = Rating.objects.update_or_create(
        release=release, user=actor, defaults={"score": score}
    )
    metrics_version_bump(project_id=release.project_id)
    audit_record(
        actor=actor,
        action="release.rated",
        obj=release,
        before={"score": previous} if previous is not None else None,
        after={"score": score},
    )
    return rating


@transaction.atomic
def risk_assessment_set(*, release, actor, likelihood: int, impact: int, note: str = ""):
    """The release manager's risk assessment matrix of a release (managers and admins),
    audited with the matrix before and after. One row a release, whoever raced: the
    release is locked first."""
    require_role(actor, {Role.RELEASE_MANAGER}, "Only a release manager or an admin assesses risk.")
    errors = {}
    for name, value in (("likelihood", likelihood), ("impact", impact)):
        if value not in RiskLevel.values:
            errors[name] = ["Pick low, medium or high."]
    note = (note or "").strip()
    if len(note) > 2000:
        errors["note"] = ["Keep the note under 2,000 characters."]
    if errors:
        raise ValidationFailed("The risk assessment is incomplete.", errors=errors)
    Release.objects.select_for_update().filter(pk=release.pk).first()
    previous = RiskAssessment.objects.filter(release=release).first()
    before = {"likelihood": previous.likelihood, "impact": previous.impact} if previous else None
    assessment, _ = RiskAssessment.objects.update_or_create(
        release=release,
        defaults={
            "likelihood": likelihood,
            "impact": impact,
            "note": note,
            "set_by": actor,
            "set_at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        action="release.risk_assessed",
        obj=release,
        before=before,
        after={"likelihood": likelihood, "impact": impact, "note": note[:500]},
    )
    return assessment


# The events after which a project's figures may differ (metrics.apps subscribes to them).
# Ratings and targets bump the version in their own services (metrics owns them). A
# change no event tells of is seen when the cached report expires
# (metrics.selectors.CACHE_SECONDS).
CHANGING_EVENTS = (
    "deployment.finished",
    "incident.opened",
    "incident.changed",
    "incident.resolved",
    "release.moved",
    "release.shipped",
    "gate.failed",
    "gate.passed",
    "gate.waived",
    "validation.finished",
)


def metrics_version_bump(*, project_id: int) -> None:
    """One more version of the project's figures, in the caller's transaction: a report
    computed before the change commits is cached under the old version, never read again.
    One upsert, so two changes at once never fail each other (ON CONFLICT: PostgreSQL and
    SQLite alike)."""
    table = MetricsVersion._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (project_id, version) VALUES (%s, 1) "  # noqa: S608
            f"ON CONFLICT (project_id) DO UPDATE SET version = {table}.version + 1",
            [project_id],
        )


def metrics_on_event(event) -> None:
    """The handler of `CHANGING_EVENTS`: bump the version of the subject's project (a
    release, an incident, or a deployment through its environment)."""
    subject = event.subject
    project_id = getattr(subject, "project_id", None)
    if project_id is None and getattr(subject, "environment_id", None):
        project_id = subject.environment.project_id
    if project_id is not None:
        metrics_version_bump(project_id=project_id)


# --- Evidence snapshots -----------------------------------------------------------------

# Who may take another snapshot of a release (admins may too: `has_role`).
SNAPSHOT_ROLES = {Role.RELEASE_MANAGER}
# A release that went through the process can be snapshotted; one still in flight has
# no settled record yet.
SNAPSHOT_STATUSES = {ReleaseStatus.RELEASED, ReleaseStatus.ROLLED_BACK}


@transaction.atomic
def evidence_snapshot_take(*, release, actor, reason: str = SnapshotReason.MANUAL):
    """Freeze the release's compliance record as a new snapshot (never replacing one).

    1. Lock the audit chain's head, so no event slips in between reading the head and
       building the document (audit_record below takes the same lock again).
    2. Build the document with the audit trail up to that head; store its canonical
       bytes, their SHA-256 and the head.
    3. Record the snapshot in the audit trail (after the head it names).
    """
    if reason == SnapshotReason.MANUAL:
        require_role(actor, SNAPSHOT_ROLES, "Only a release manager or an admin takes a snapshot.")
        if release.status not in SNAPSHOT_STATUSES:
            raise ValidationFailed(
                "Only a shipped release has evidence to freeze.",
                errors={"release": [f"v{release.version} is {release.status}."]},
            )
    head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    content = canonical_json(compliance_document(release=release, audit_until=head_seq))
    latest = EvidenceSnapshot.objects.filter(release=release).aggregate(n=Max("number"))["n"]
    snapshot = EvidenceSnapshot.objects.create(
        release=release,
        number=(latest or 0) + 1,
        reason=reason,
        taken_at=timezone.now(),
        taken_by=actor if getattr(actor, "is_authenticated", False) else None,
        document=content.decode(),
        sha256=sha256_hex(content),
        audit_head_seq=head_seq,
        audit_head_hash=head_hash,
    )
    audit_record(
        actor=actor,
        action="release.evidence_snapshot_taken",
        obj=release,
        after={
            "number": snapshot.number,
            "sha256": snapshot.sha256,
            "reason": reason,
            "audit_head_seq": head_seq,
        },
    )
    return snapshot


def evidence_on_shipped(event) -> None:
    """The handler of `release.shipped`, in the shipping transaction: freeze the record,
    and ask for the SBOM (a row now, made by a task after commit)."""
    evidence_snapshot_take(release=event.subject, actor=event.actor, reason=SnapshotReason.SHIPPED)
    sbom_request(release=event.subject)


# --- SBOMs --------------------------------------------------------------------------------

# A queued SBOM older than this was not sent (the broker was down): the sweeper sends it;
# one "being made" longer than this lost its worker: the sweeper queues it again.
SBOM_SWEEP_AFTER = timedelta(minutes=1)
SBOM_STALE_AFTER = timedelta(minutes=10)


logger = logging.getLogger(__name__)


def _sbom_send(sbom_id: int) -> None:
    """Ring the doorbell after commit. With the broker down this fails fast and the row
    stays queued for the sweeper: the shipping request never fails for it. Never raises."""
    try:
        # The broker of the settings as they are now; by name: metrics.tasks imports this.
        with celery_app.connection_for_write(settings.CELERY_BROKER_URL) as conn:
            celery_app.send_task("metrics.sbom_make", args=[sbom_id], connection=conn)
    except Exception as exc:
        logger.warning(
            "SBOM %s not dispatched (broker unavailable: %s); the sweeper will send it.",
            sbom_id,
            type(exc).__name__,
        )


def sbom_request(*, release) -> ReleaseSbom:
    """A queued SBOM row for the release's head, sent to a worker once the caller's
    transaction commits (none is sent for a change that rolled back)."""
    sbom = ReleaseSbom.objects.create(release=release, commit=release.head_commit or "")
    transaction.on_commit(lambda: _sbom_send(sbom.pk))
    return sbom


def sbom_make(*, sbom_id: int) -> ReleaseSbom | None:
    """The task's work: claim the row (a second delivery finds it claimed and returns),
    read the dependency file (a lock file first) at the commit, run cyclonedx-py, store the
    JSON. Git and the process run outside any transaction."""
    claimed = ReleaseSbom.objects.filter(pk=sbom_id, status=SbomStatus.QUEUED).update(
        status=SbomStatus.RUNNING, finished_at=timezone.now()
    )
    if not claimed:
        return None
    sbom = ReleaseSbom.objects.select_related("release__project").get(pk=sbom_id)
    fields = {"finished_at": timezone.now()}
    try:
        name, files = dependency_file_at(sbom.release, sbom.commit)
        document = sbom_from_files(name, files)
        fields |= {
            "status": SbomStatus.SUCCEEDED,
            "source_file": name,
            "document": document,
            "sha256": sha256_hex(document.encode()),
        }
    except SbomProblem as problem:
        fields |= {"status": SbomStatus.FAILED, "error": str(problem)}
    with transaction.atomic():
        ReleaseSbom.objects.filter(pk=sbom_id, status=SbomStatus.RUNNING).update(**fields)
        audit_record(
            actor=None,
            action="release.sbom_made",
            obj=sbom.release,
            after={k: fields.get(k, "") for k in ("status", "source_file", "sha256", "error")},
        )
    sbom.refresh_from_db()
    return sbom


def sboms_sweep() -> list[int]:
    """The SBOMs to send again: queued for a while, or claimed by a worker that died."""
    now = timezone.now()
    ReleaseSbom.objects.filter(
        status=SbomStatus.RUNNING, finished_at__lt=now - SBOM_STALE_AFTER
    ).update(status=SbomStatus.QUEUED)
    return list(
        ReleaseSbom.objects.filter(
            status=SbomStatus.QUEUED, created_at__lt=now - SBOM_SWEEP_AFTER
        ).values_list("pk", flat=True)
    )
