"""Reads of the notifications app, and who may see what."""

from dataclasses import dataclass

from django.conf import settings
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from gates.selectors import release_risk
from notifications.announcements import DEFAULT_TEMPLATES, fill
from notifications.models import (
    Announcement,
    AnnouncementTemplate,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Notification,
    Preference,
    Tone,
    WebhookEndpoint,
)
from notifications.rules import RULES, default_channels
from releases.models import Project, Release, ReleaseType
from releases.notes import Section, notes_items
from releases.selectors import notes_template_of


def unread_count(*, user) -> int:
    """The header's count: one query on the (user, read_at) index."""
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def inbox(*, user):
    """A user's notifications, newest first (the page paginates, the API slices)."""
    return Notification.objects.filter(user=user)


def preferences_table(*, user) -> list[dict]:
    """Every notifying event with the user's channels (their choice or the default)."""
    chosen = {p.event: p for p in Preference.objects.filter(user=user)}
    rows = []
    for event, rule in RULES.items():
        pref = chosen.get(event)
        channels = {"in_app": pref.in_app, "email": pref.email} if pref else default_channels(event)
        rows.append({"event": event, "label": rule.label, **channels})
    return rows


def webhooks_of(*, project: Project):
    return WebhookEndpoint.objects.filter(project=project)


def webhook_get(*, project: Project, endpoint_id: int) -> WebhookEndpoint:
    """404 for an endpoint of another project."""
    return get_object_or_404(WebhookEndpoint, project=project, pk=endpoint_id)


def deliveries_failed():
    """The admin's page: what gave up or was stopped, newest first."""
    return Delivery.objects.filter(
        status__in=[DeliveryStatus.FAILED, DeliveryStatus.DISABLED]
    ).select_related("endpoint__project", "user")


def delivery_get(*, delivery_id: int) -> Delivery:
    return get_object_or_404(Delivery, pk=delivery_id)


def delivery_with_target(*, delivery_id: int) -> Delivery:
    """A delivery with its endpoint's project or its user (the delivery's page)."""
    return get_object_or_404(
        Delivery.objects.select_related("endpoint__project", "user"), pk=delivery_id
    )


def delivery_attempts(*, delivery: Delivery):
    """Every attempt of one delivery, oldest first (the FK's index)."""
    return DeliveryAttempt.objects.filter(delivery=delivery).order_by("at", "pk")


def endpoint_attempts(*, endpoint: WebhookEndpoint):
    """The attempts of an endpoint's deliveries, newest first, with the delivery each
    belongs to (the webhook's attempt log; the page paginates)."""
    return (
        DeliveryAttempt.objects.filter(delivery__endpoint=endpoint)
        .select_related("delivery")
        .order_by("-at", "-pk")
    )


# --- Announcements -----------------------------------------------------------------------
CLASSIFICATION = {
    ReleaseType.MAJOR: "MAJOR RELEASE",
    ReleaseType.MINOR: "ENHANCEMENT UPDATE",
    ReleaseType.PATCH: "MAINTENANCE UPDATE",
    ReleaseType.HOTFIX: "HOTFIX",
}
LIST_MAX = 10


def _kind(section: Section) -> str:
    """What an announcement calls a notes section: breaking, security, highlight (features
    and the sections picked by scope, like the seed's Oracle / Compliance / Cosmic) or
    other (fixes, docs, chores)."""
    rules = set(section.match)
    if "!" in rules:
        return "breaking"
    if rules & {"security", "(security)"} or any(r.endswith("(security)") for r in rules):
        return "security"
    if any(r == "feat" or r.startswith(("feat(", "(")) for r in rules):
        return "highlight"
    return "other"


def _bullets(items: list[str], none: str) -> str:
    if not items:
        return none
    lines = [f"- {item}" for item in items[:LIST_MAX]]
    if len(items) > LIST_MAX:
        lines.append(f"- …and {len(items) - LIST_MAX} more")
    return "\n".join(lines)


def announcement_facts(*, release: Release) -> dict[str, str]:
    """What an announcement's placeholders hold for `release` (the keys are
    notifications.announcements.PLACEHOLDERS): its facts, the items of its notes by kind
    of section (as the project's notes template names them), the risk from its gates."""
    template = notes_template_of(project=release.project)
    by_kind: dict[str, list[str]] = {"highlight": [], "security": [], "breaking": []}
    items = notes_items(release.notes, template)
    for section in template.sections:
        by_kind.setdefault(_kind(section), []).extend(items[section.key])
    risk = release_risk(release=release)
    when = release.released_at or timezone.now()
    facts = {
        "project": release.project.name,
        "version": release.version,
        "codename": release.codename,
        "type": release.type,
        "classification": CLASSIFICATION.get(release.type, release.type.upper()),
        "summary": release.summary or "_No summary given._",
        "highlights": _bullets(by_kind["highlight"], "_No new features in this release._"),
        "security": _bullets(by_kind["security"], "_No security changes in this release._"),
        "breaking": _bullets(by_kind["breaking"], "_No breaking changes._"),
        "risk": risk.label,
        "risk_reason": risk.reason,
        "date": when.date().isoformat(),
        "url": f"{settings.LIFTOFF_BASE_URL}{release.get_absolute_url()}",
    }
    # A commit or codename that reads "{{ x }}" would look like a placeholder in the draft
    # the manager edits (and be refused when saved): it is broken up, as text.
    return {name: _braces_broken(value) for name, value in facts.items()}


def _braces_broken(value: str) -> str:
    return value.replace("{{", "{ {").replace("}}", "} }").replace("{%", "{ %").replace("{#", "{ #")


def announcement_templates_of(*, project: Project) -> dict[str, str]:
    """Each tone's template: the project's, or the seed's where it has none."""
    rows = AnnouncementTemplate.objects.filter(project=project)
    mine = {row.tone: row.markdown for row in rows}
    return {tone: mine.get(tone, DEFAULT_TEMPLATES[tone]) for tone in Tone.values}


@dataclass
class Draft:
    tone: str
    label: str
    # The text the manager edits: the saved draft, or the template with the facts in.
    text: str
    # What would be published: `text` with its placeholders filled (the published text
    # once published).
    markdown: str
    announcement: Announcement | None

    @property
    def published(self) -> bool:
        return self.announcement is not None and self.announcement.published


def announcement_drafts(*, release: Release) -> list[Draft]:
    """One draft per tone (a constant number of queries: the templates, the saved
    announcements, the facts)."""
    saved = {
        a.tone: a
        for a in Announcement.objects.filter(release=release).select_related(
            "published_by", "edited_by"
        )
    }
    templates = announcement_templates_of(project=release.project)
    facts = announcement_facts(release=release)
    drafts = []
    for tone, label in Tone.choices:
        row = saved.get(tone)
        if row is not None and row.published:
            text = markdown = row.markdown
        else:
            text = row.markdown if row is not None else fill(templates[tone], facts)
            markdown = fill(text, facts)
        drafts.append(Draft(tone, label, text, markdown, row))
    return drafts


def announcement_draft(*, release: Release, tone: str) -> Draft:
    """One tone's draft; 404 for a tone that does not exist."""
    for draft in announcement_drafts(release=release):
        if draft.tone == tone:
            return draft
    raise Http404("No such tone.")
