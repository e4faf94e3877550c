"""How the releases app's actions read in the audit trail (registered at start-up by
liftoff.apps via autodiscovery; see liftoff.audit)."""

from liftoff.audit import register_audit_context, register_audit_kind, register_describer
from releases.models import Release

RELEASE = Release._meta.label_lower

register_audit_kind("phase", "Phase moves", order=10)
register_audit_kind("notes", "Notes", order=50)
register_audit_kind("git", "Git", order=60)


def _releases(events, subject) -> dict:
    """Version and tag of the releases the events are about (one query, or none: when they
    are all about the release whose trail is read)."""
    ids = {e.object_id for e in events if e.object_type == RELEASE}
    if not ids:
        return {}
    if isinstance(subject, Release) and ids == {str(subject.pk)}:
        rows = [(subject.pk, subject.version, subject.tag)]
    else:
        rows = Release.objects.filter(pk__in=ids).values_list("pk", "version", "tag")
    return {"releases": {str(pk): {"version": v, "tag": t} for pk, v, t in rows}}


def _version(event, ctx) -> str:
    release = ctx.get("releases", {}).get(event.object_id)
    return f"v{release['version']}" if release else "the release"


def _created(event, ctx):
    after = event.after
    codename = f" “{after['codename']}”" if after.get("codename") else ""
    return f"planned v{after['version']}{codename} ({after['type']})"


def _moved(event, ctx):
    text = f"moved {_version(event, ctx)} to {event.after['status']}"
    if skipped := event.after.get("checks_skipped"):
        text += f" without the checks: {skipped}"
    return text


def _git_recorded(event, ctx):
    after = event.after
    release = ctx.get("releases", {}).get(event.object_id, {})
    done = []
    if "base_commit" in after:
        done.append(f"branched from {after['base_commit'][:10]}")
    if "head_commit" in after:
        done.append(f"pushed the release branch at {after['head_commit'][:10]}")
    if "prepared_at" in after:
        since = after.get("previous_tag") or "the first commit"
        done.append(f"read the commits since {since}")
    if "tagged_at" in after:
        done.append(f"pushed tag {release.get('tag') or 'the tag'}")
    return ", ".join(done) or "recorded git facts"


def _impact(event, ctx):
    after = event.after
    since = after.get("previous_tag") or "the first commit"
    if after.get("error"):
        return f"could not analyse the change since {since}: {after['error']}"
    totals = after.get("totals", {})
    return (
        f"analysed the change since {since}: {totals.get('files', 0)} files "
        f"(+{totals.get('added', 0)} −{totals.get('removed', 0)}), "
        f"{after.get('migrations', 0)} migrations, {after.get('dependencies', 0)} dependency "
        f"files, {after.get('security', 0)} security-sensitive paths"
    )


def _recorded(event, ctx):
    return f"recorded v{event.after['version']} as released at tag {event.after['tag']}"


register_audit_context(_releases)
register_describer("release.created", _created, kind="phase")
register_describer("release.transition", _moved, kind="phase")
register_describer("release.recorded", _recorded, kind="phase")
register_describer("release.notes_edited", lambda e, ctx: "edited the release notes", kind="notes")
register_describer("release.git_recorded", _git_recorded, kind="git")
register_describer("release.impact_analysed", _impact, kind="git")
register_describer(
    "project.security_patterns_changed",
    lambda e, ctx: "changed the security-sensitive path patterns",
    kind="git",
)
register_describer(
    "project.notes_template_changed",
    lambda e, ctx: "changed how the release notes read (their template)",
    kind="notes",
)
