"""Release pages: list, new (with the proposal), detail, phase moves, prepare, ship, notes."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from liftoff.audit import audit_latest
from liftoff.errors import Conflict, DomainError
from liftoff.forms import form_add_domain_errors
from liftoff.kept import CSRF_PLACEHOLDER, Rows, kept_html, rows_version
from liftoff.markdown import render_markdown
from liftoff.models import AuditEvent
from liftoff.roles import READ_ROLES, Role, has_role, role_required, user_roles
from releases.forms import NotesForm, ReleaseFilterForm, ReleaseForm
from releases.models import (
    RELEASE_NEXT_PHASE,
    RELEASE_PHASES,
    RELEASE_TRANSITIONS,
    Project,
    Release,
    ReleaseStatus,
)
from releases.policy import (
    MUST_ACT_LABELS,
    MUST_ACT_RELEASE_MANAGER,
    policy_snapshot,
    release_blockers,
)
from releases.sections import (
    PageAction,
    release_actions,
    release_page_rows,
    release_page_tabs,
    release_sections,
)
from releases.selectors import (
    project_latest_sync,
    project_list,
    release_facts,
    release_get,
    release_latest_run,
    release_list,
    release_upcoming,
)
from releases.services import (
    release_change_analysis_start,
    release_create,
    release_notes_update,
    release_prepare,
    release_proposal,
    release_ship,
    release_transition,
)
from runs.models import Run
from runs.selectors import runs_for
from runs.views import progress_context


@role_required(*READ_ROLES)
def release_index(request):
    projects = list(project_list())
    form = ReleaseFilterForm(request.GET or None, projects=projects)
    f = form.cleaned_data if form.is_valid() else {}
    releases = release_list(
        project_slug=f.get("project", ""),
        status=f.get("status", ""),
        release_type=f.get("type", ""),
        query=f.get("q", ""),
        date_from=f.get("date_from"),
        date_to=f.get("date_to"),
        manager=request.user if f.get("mine") else None,
    )
    upcoming = request.GET.get("view") == "upcoming"
    if upcoming:
        # What comes next, by target date: only the project filter applies.
        releases = release_upcoming(project_slug=f.get("project", ""))
    page = Paginator(releases, 25).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "projects": projects, "upcoming": upcoming}
    return render(request, "releases/index.html", context)


def _new_form(request, data=None):
    """The plan form with the proposal, or, before the project's first sync has finished,
    why there is none yet and that sync's live progress (the form reloads when it ends).

    A "propose" post (the type or the project changed, or a type's button; the buttons
    post the same without JavaScript) proposes again for what it names, and keeps what
    was typed: the summary, the target date and the codename (unless it was only the
    proposal, which follows the project)."""
    asked = request.POST if request.method == "POST" else request.GET
    projects = project_list()
    project = projects.filter(slug=asked.get("project") or "").first() or projects.first()
    # A type's button names its type; the type select sends an empty "propose".
    release_type = asked.get("propose") or asked.get("type") or None
    proposal, context = None, {}
    if project:
        try:
            proposal = release_proposal(project=project, release_type=release_type)
        except Conflict as exc:
            context["waiting"] = {"project": project, "missing": exc.extra.get("missing", [])}
            if run := project_latest_sync(project=project):
                context.update(progress_context(run, user=request.user))
        except DomainError as exc:
            # No such type, or nothing to propose for it (a hotfix before any release):
            # the suggestion instead, and why.
            context["proposal_problem"] = exc.summary()
            proposal = release_proposal(project=project)
    initial = {"project": project.slug if project else None}
    if proposal:
        initial.update(
            type=proposal["type"], version=proposal["version"], codename=proposal["codename"]
        )
    if asked is request.POST:
        codename = asked.get("codename", "").strip()
        if codename and codename != asked.get("proposed_codename"):
            initial["codename"] = codename[:100]
        initial.update(
            {name: asked[name][:300] for name in ("summary", "target_date") if asked.get(name)}
        )
    form = ReleaseForm(data, initial=initial, projects=projects)
    return form, {"form": form, "proposal": proposal, **context}


@role_required(Role.RELEASE_MANAGER)
def release_new(request):
    # A "propose" post only proposes again (the typed fields kept): no release, no errors.
    proposing = request.method == "POST" and "propose" in request.POST
    form, context = _new_form(request, None if proposing else request.POST or None)
    if request.method == "POST" and not proposing and form.is_valid():
        data = form.cleaned_data
        try:
            release = release_create(
                actor=request.user,
                project=data["project"],
                release_type=data["type"],
                version=data["version"],
                codename=data["codename"],
                summary=data["summary"],
                target_date=data["target_date"],
            )
        except DomainError as exc:
            form_add_domain_errors(form, exc)
        else:
            messages.success(request, f"Release v{release.version} planned.")
            return redirect("releases:release-detail", release_id=release.pk)
    template = "releases/release_new.html#form" if request.htmx else "releases/release_new.html"
    status = 400 if request.method == "POST" and not proposing else 200
    return render(request, template, context, status=status)


# Audit entries the release page shows (the rest is on its audit tab).
AUDIT_SUMMARY = 10

# Moves that cannot be undone: the page asks first, and the views refuse them unconfirmed.
_IRREVERSIBLE = {ReleaseStatus.CANCELLED, ReleaseStatus.ROLLED_BACK}


def _blocker_groups(blockers, release, user) -> list[tuple[str, list]]:
    """What is left, grouped by who must act, in the order of MUST_ACT_LABELS."""
    groups = []
    for who, label in MUST_ACT_LABELS.items():
        entries = [b for b in blockers if b.who == who]
        if not entries:
            continue
        if who == MUST_ACT_RELEASE_MANAGER and release.release_manager_id == user.pk:
            label = "You"
        groups.append((label, entries))
    return groups


def _cockpit(release, user, run=None) -> dict:
    """The release's action bar and what is left before its next phase: one primary
    button (the step the phase waits for), the forward move with its count, the way back,
    and the moves that cannot be undone behind "More", each asked for first."""
    next_phase = RELEASE_NEXT_PHASE.get(release.status)
    blockers = release_blockers(release=release, to=next_phase) if next_phase else []
    busy = run is not None and not run.is_final
    actions, more = [], []
    if has_role(user, {Role.RELEASE_MANAGER}):
        pk = release.pk
        if release.status == ReleaseStatus.PLANNED:
            url = reverse("releases:release-prepare", args=[pk])
            actions.append(PageAction("prepare", "Prepare", url, next_step=True, order=10))
        elif release.status == ReleaseStatus.PREPARING and not busy:
            url = reverse("releases:release-prepare", args=[pk])
            again = PageAction(
                "prepare", "Prepare again", url, next_step=not release.prepared_at, order=10
            )
            actions.append(again)
        elif release.status == ReleaseStatus.PRODUCTION:
            url = reverse("releases:release-confirm", args=[pk, "ship"])
            ship = PageAction("ship", f"Ship (tag {release.tag})", url, True, 10, ask_first=True)
            actions.append(ship)
        transition = reverse("releases:release-transition", args=[pk])
        for to in sorted(RELEASE_TRANSITIONS[release.status]):
            phase = ReleaseStatus(to)
            if to in _IRREVERSIBLE:
                url = reverse("releases:release-confirm", args=[pk, _CONFIRM_FOR[to]])
                label = _CONFIRM[_CONFIRM_FOR[to]]["button"]
                more.append(PageAction(to, label, url, ask_first=True))
            elif to == next_phase and to not in {ReleaseStatus.PREPARING, ReleaseStatus.RELEASED}:
                label = f"Move to {phase.label.lower()}"
                if blockers:
                    label += f" — {len(blockers)} left"
                actions.append(
                    PageAction(to, label, transition, not blockers, 30, fields={"to": to})
                )
            elif to != next_phase:
                label = f"Back to {phase.label.lower()}"
                actions.append(PageAction(to, label, transition, order=90, fields={"to": to}))
        actions += release_actions(user=user, release=release)
    actions.sort(key=lambda a: a.order)
    # One primary button: the first next step, none while a run works on the release.
    primary = None if busy else next((a for a in actions if a.next_step), None)
    return {
        "next_phase": ReleaseStatus(next_phase) if next_phase else None,
        "blockers": blockers,
        "blocker_groups": _blocker_groups(blockers, release, user),
        "actions": actions,
        "primary_action": primary,
        "more_actions": more,
        "busy": busy,
    }


def _detail_context(release, user):
    """The page, its sections (gates, checklists, …: registered by their apps) and what
    blocks the next phase, all read once inside one policy snapshot."""
    run = release_latest_run(release=release)
    with policy_snapshot():
        section_templates, context = release_sections(user=user, release=release)
        context.update(_cockpit(release, user, run))
    context.update(
        {
            "section_templates": section_templates,
            "release": release,
            "phases": RELEASE_PHASES,
            "phase_index": RELEASE_PHASES.index(release.status)
            if release.status in RELEASE_PHASES
            else -1,
            "notes_html": render_markdown(release.notes),
            "audit_entries": audit_latest(obj=release, limit=AUDIT_SUMMARY),
            "tabs": release_page_tabs(release),
            "current_tab": "overview",
        }
    )
    if run:
        context.update(progress_context(run, user=user, compact=True))
    return context


def _page_rows(release) -> list[Rows] | None:
    """Every row the release page reads (liftoff.kept): the release's own (itself, its
    project, its runs, the people it names and their roles) and those of each app's
    section, blockers and actions; None while an app has not said which.

    The audit summary counts as the newest audit event of all: events are only ever
    added (liftoff.audit), and finding which of them belong to the release is the audit
    tab's work, not worth a digest's time. Any event anywhere renders the page anew."""
    sections = release_page_rows(release)
    if sections is None:
        return None
    user_model = get_user_model()
    return [
        Rows(Release, "id = %s", (release.pk,)),
        Rows(Project, "id = %s", (release.project_id,)),
        Rows(Run, "subject_type_id = %s AND subject_id = %s", (_release_type(), str(release.pk))),
        Rows(AuditEvent, tail="ORDER BY id DESC LIMIT 1"),
        Rows(user_model),
        Rows(user_model.groups.through),
        *sections,
    ]


def _release_type() -> int:
    return ContentType.objects.get_for_model(Release).pk  # cached per process by Django


@role_required(*READ_ROLES)
def release_detail(request, release_id: int):
    """The release page. Kept rendered per process under the version of every row it reads
    (`liftoff.kept`), for this reader (their roles, whether they manage it, their time
    zone): a view that finds nothing changed reads one digest instead of the page's rows."""
    facts = release_facts(release_id=release_id)  # what the digest needs, 0.3 ms
    user = request.user
    rows = _page_rows(facts)

    def main(csrf_token: str) -> str:
        # Read after the digest: what is kept is never older than its key.
        context = _detail_context(release_get(release_id=release_id), user)
        # Forms get `csrf_token` (a placeholder when kept); `kept` tells inner caches.
        context.update(csrf_token=csrf_token, kept=csrf_token == CSRF_PLACEHOLDER)
        return render_to_string("releases/release_detail.html#main", context, request)

    if rows is None:
        kept = mark_safe(main(get_token(request)))  # noqa: S308 - our template's output
    else:
        key = (
            "release-page",
            release_id,
            rows_version(rows),
            user.pk,
            tuple(sorted(user_roles(user))),
            timezone.get_current_timezone_name(),
        )
        kept = kept_html(request, key=key, render=main)
    return render(request, "releases/release_detail.html", {"release": facts, "main": kept})


@role_required(*READ_ROLES)
def release_cockpit(request, release_id: int):
    """The action bar and what is left, re-rendered (htmx) whenever something on the page
    changes it: a tick, a result, an approval, a waiver (their answers trigger
    `liftoff:release-changed`) or a run that ends."""
    release = release_get(release_id=release_id)
    with policy_snapshot():
        context = _cockpit(release, request.user, release_latest_run(release=release))
    return render(request, "releases/release_detail.html#cockpit", {"release": release, **context})


# What each irreversible step does, said before it is done.
_CONFIRM = {
    "cancel": {
        "to": ReleaseStatus.CANCELLED,
        "button": "Cancel the release…",
        "title": "Cancel v{version}?",
        "what": [
            "v{version} stops here: it can never move to another phase again.",
            "Its branch {branch} stays on the remote; its checklists, gates and audit trail "
            "are kept as they are.",
        ],
        "yes": "Cancel v{version}",
    },
    "roll-back": {
        "to": ReleaseStatus.ROLLED_BACK,
        "button": "Mark as rolled back…",
        "title": "Mark v{version} as rolled back?",
        "what": [
            "v{version} is recorded as rolled back and can never move to another phase again.",
            "Liftoff does not redeploy anything: put the previous version back first.",
        ],
        "yes": "Mark v{version} as rolled back",
    },
    "ship": {
        "to": None,
        "button": "Ship",
        "title": "Ship v{version}?",
        "what": [
            "Liftoff creates the annotated tag {tag} on {commit} and pushes it to the "
            "project's remote; the release becomes released once the tag is there.",
            "A pushed tag is public: Liftoff never moves or deletes it.",
        ],
        "yes": "Tag and push {tag}",
    },
}
_CONFIRM_FOR = {to["to"]: name for name, to in _CONFIRM.items() if to["to"]}


@role_required(Role.RELEASE_MANAGER)
def release_confirm(request, release_id: int, what: str):
    """Asks before an irreversible step: a page of its own (no JavaScript needed), or the
    same panel swapped into the release page's action bar (htmx)."""
    release = release_get(release_id=release_id)
    if what not in _CONFIRM:
        raise Http404("No such step.")
    spec = _CONFIRM[what]
    facts = {
        "version": release.version,
        "tag": release.tag,
        "branch": release.branch,
        "commit": (release.head_commit or "the release's head")[:10],
    }
    url = (
        reverse("releases:release-ship", args=[release.pk])
        if what == "ship"
        else reverse("releases:release-transition", args=[release.pk])
    )
    context = {
        "release": release,
        "confirm": {
            "what": what,
            "title": spec["title"].format(**facts),
            "lines": [line.format(**facts) for line in spec["what"]],
            "yes": spec["yes"].format(**facts),
            "url": url,
            "to": spec["to"] or "",
            "danger": what != "ship",
        },
    }
    template = "releases/release_confirm.html"
    return render(request, f"{template}#confirm" if request.htmx else template, context)


def _act(request, release, action, success):
    try:
        result = action()
    except Conflict as exc:
        # What is left is listed once, in the page's panel; the toast only says so.
        left = exc.extra.get("missing") or []
        messages.error(request, f"{exc.message} See what is left." if left else exc.message)
    except DomainError as exc:
        messages.error(request, exc.summary())
    else:
        messages.success(request, success(result))
    return redirect("releases:release-detail", release_id=release.pk)


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_prepare_view(request, release_id: int):
    release = release_get(release_id=release_id)
    return _act(
        request,
        release,
        lambda: release_prepare(release=release, actor=request.user),
        lambda run: f"Preparing v{release.version} (run #{run.pk}).",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_impact_analyse_view(request, release_id: int):
    release = release_get(release_id=release_id)
    return _act(
        request,
        release,
        lambda: release_change_analysis_start(release=release, actor=request.user),
        lambda run: f"Analysing the change of v{release.version} (run #{run.pk}).",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_ship_view(request, release_id: int):
    release = release_get(release_id=release_id)
    if request.POST.get("confirmed") != "1":
        return redirect("releases:release-confirm", release_id=release.pk, what="ship")
    return _act(
        request,
        release,
        lambda: release_ship(release=release, actor=request.user),
        lambda run: f"Tagging v{release.version} (run #{run.pk}).",
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_transition_view(request, release_id: int):
    release = release_get(release_id=release_id)
    to = request.POST.get("to", "")
    if to in _IRREVERSIBLE and request.POST.get("confirmed") != "1":
        return redirect("releases:release-confirm", release_id=release.pk, what=_CONFIRM_FOR[to])
    return _act(
        request,
        release,
        lambda: release_transition(release=release, to=to, actor=request.user),
        lambda r: f"v{r.version} is now {r.get_status_display().lower()}.",
    )


@role_required(*READ_ROLES)
def release_notes(request, release_id: int):
    """The release notes as a page of their own, for anyone who reads releases."""
    release = release_get(release_id=release_id)
    context = {
        "release": release,
        "notes_html": render_markdown(release.notes),
        "tabs": release_page_tabs(release),
        "current_tab": "notes",
    }
    return render(request, "releases/release_notes.html", context)


@role_required(*READ_ROLES)
def release_runs(request, release_id: int):
    """Every run about the release (prepare, validate, ship), newest first."""
    release = release_get(release_id=release_id)
    page = Paginator(runs_for(subject=release), 25).get_page(request.GET.get("page"))
    context = {
        "release": release,
        "page": page,
        "tabs": release_page_tabs(release),
        "current_tab": "runs",
    }
    return render(request, "releases/release_runs.html", context)


@role_required(Role.RELEASE_MANAGER)
def release_notes_edit(request, release_id: int):
    release = release_get(release_id=release_id)
    form = NotesForm(request.POST or None, initial={"markdown": release.notes})
    if request.method == "POST" and form.is_valid():
        release_notes_update(
            release=release, actor=request.user, markdown=form.cleaned_data["markdown"]
        )
        messages.success(request, "Release notes saved.")
        return redirect("releases:release-detail", release_id=release.pk)
    return render(
        request,
        "releases/release_notes_edit.html",
        {"release": release, "form": form, "preview": render_markdown(release.notes)},
    )


@role_required(Role.RELEASE_MANAGER)
@require_POST
def release_notes_preview(request, release_id: int):
    release_get(release_id=release_id)
    return render(
        request,
        "releases/release_notes_edit.html#preview",
        {"preview": render_markdown(request.POST.get("markdown", ""))},
    )


@role_required(*READ_ROLES)
def release_notes_download(request, release_id: int):
    release = release_get(release_id=release_id)
    response = HttpResponse(release.notes, content_type="text/markdown; charset=utf-8")
    filename = f"{release.project.slug}-v{release.version}-release-notes.md"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
