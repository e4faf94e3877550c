"""A release's audit trail in words: the whole of it, filtered and paginated (the release
page shows the latest entries through this template's `events` partial)."""

from django.core.paginator import Paginator
from django.shortcuts import render

from liftoff.audit import audit_entries, audit_kinds, audit_people, audit_trail
from liftoff.roles import READ_ROLES, role_required
from releases.forms import AuditFilterForm
from releases.sections import release_page_tabs
from releases.selectors import release_get

PAGE_SIZE = 50


@role_required(*READ_ROLES)
def release_audit(request, release_id: int):
    release = release_get(release_id=release_id)
    people = audit_people(audit_trail(obj=release))
    form = AuditFilterForm(request.GET or None, kinds=audit_kinds(), people=people)
    chosen = form.cleaned_data if form.is_valid() else {}
    events = audit_trail(obj=release, kind=chosen.get("kind", ""), person=chosen.get("person", ""))
    page = Paginator(events, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "release": release,
        "form": form,
        "page": page,
        "entries": audit_entries(page.object_list, subject=release),
        "filtered": bool(chosen.get("kind") or chosen.get("person")),
        "tabs": release_page_tabs(release),
        "current_tab": "audit",
    }
    return render(request, "releases/release_audit.html", context)
