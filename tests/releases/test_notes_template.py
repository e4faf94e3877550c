"""Release notes templates are data: a project's sections (by commit type and by scope),
quote, footer and contributors decide how its notes read; the seed's is the default."""

from importlib import import_module

import pytest
from django.apps import apps

from liftoff.audit import AuditEvent
from liftoff.errors import NotAllowed, ValidationFailed
from notifications.announcements import DEFAULT_TEMPLATES
from notifications.models import AnnouncementTemplate
from releases.models import NotesTemplate
from releases.notes import (
    DEFAULT_TEMPLATE,
    FOOTER,
    Template,
    contributors_from,
    group_commits,
    notes_items,
    render_notes,
    sections_from_text,
    sections_to_text,
    template_from_data,
    template_to_data,
)
from releases.selectors import notes_template_of
from releases.services import (
    notes_template_update,
    project_create,
    release_create,
    release_prepare,
)
from runs.models import RunStatus
from tests.factories import ProjectFactory
from tests.releases.test_notes import info
from tests.releases.test_releases import _final, _project, remote  # noqa: F401 - a fixture

# The seed's Oracle / Compliance / Cosmic sections (RELEASE_PROCESS.md), picked by scope,
# under one "Cosmic Highlights" heading; fixes in their own section; chores left out.
SEED_SCOPES = """
## ✨ Cosmic Highlights
### 🔮 Oracle Enhancements | (oracle)
### 📊 Compliance Evolutions | (compliance)
### 🌠 Cosmic Manifestations | (cosmic) feat | _Nothing new under the stars._
## 🛡️ Security Fortifications | security, (security)
## 🐛 Bug Exorcisms | fix
"""

COMMITS = [
    info("chore: tidy", sha="7" * 40),
    info("fix(oracle): off by one", sha="6" * 40),
    info("fix: crash", sha="5" * 40),
    info("feat(security): key rotation", sha="4" * 40),
    info("feat(compliance): SOC 2 mapping", sha="3" * 40, name="Grace", email="g@example.test"),
    info("feat(oracle): deeper insight", sha="2" * 40),
    info("feat: plain feature", sha="1" * 40),
]


def seed_template(**overrides) -> Template:
    fields = {
        "sections": sections_from_text(SEED_SCOPES),
        "quote": "Ask, and the universe of knowledge shall unfold.",
        "footer": "_Shipped with care._",
        "contributors": False,
    }
    return Template(**(fields | overrides))


def render(template, commits=COMMITS, **overrides):
    kwargs = {
        "project_name": "PepeluGPT",
        "version": "0.3.0",
        "codename": "Digital Oracle",
        "summary": "",
        "groups": group_commits(commits, template),
        "contributors": contributors_from(commits),
        "compare_url_base": None,
        "commit_url_base": None,
        "template": template,
    }
    return render_notes(**(kwargs | overrides))


def test_sections_by_scope_quote_and_footer_of_a_custom_template_and_no_contributors():
    markdown = render(seed_template())

    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert headings == [
        '# 🌟 PepeluGPT v0.3.0 "Digital Oracle"',
        "## ✨ Cosmic Highlights",
        "### 🔮 Oracle Enhancements",
        "### 📊 Compliance Evolutions",
        "### 🌠 Cosmic Manifestations",
        "## 🛡️ Security Fortifications",
        "## 🐛 Bug Exorcisms",
    ]
    # A scope rule is more specific than a type rule: fix(oracle) is an Oracle item.
    assert "### 🔮 Oracle Enhancements\n\n- **oracle:** deeper insight (2222222)\n" in markdown
    assert "- **oracle:** off by one (6666666)" in markdown
    assert "### 📊 Compliance Evolutions\n\n- **compliance:** SOC 2 mapping (3333333)" in markdown
    assert "### 🌠 Cosmic Manifestations\n\n- plain feature (1111111)\n" in markdown
    assert "## 🛡️ Security Fortifications\n\n- **security:** key rotation (4444444)" in markdown
    assert "## 🐛 Bug Exorcisms\n\n- crash (5555555)\n" in markdown
    # No rule takes a chore: it is left out. Contributors off: no Gratitude section.
    assert "tidy" not in markdown
    assert "Gratitude" not in markdown and "Grace" not in markdown
    assert '> *"Ask, and the universe of knowledge shall unfold."*' in markdown
    assert markdown.rstrip().endswith("---\n\n_Shipped with care._")
    assert FOOTER not in markdown


def test_an_empty_section_with_a_text_still_shows_and_no_quote_or_footer_means_none():
    markdown = render(seed_template(quote="", footer=""), commits=[info("fix: one", sha="1" * 40)])

    assert "### 🌠 Cosmic Manifestations\n\n_Nothing new under the stars._\n" in markdown
    assert "### 🔮 Oracle Enhancements\n\n### 📊" not in markdown  # empty: left out
    assert "> *" not in markdown
    assert "---" not in markdown


def test_contributors_on_use_the_templates_heading():
    markdown = render(seed_template(contributors=True, contributors_heading="Crew"))

    assert "## Crew\n\n- Ada Lovelace (6 commits)\n- Grace (1 commit)\n" in markdown


def test_the_default_template_is_the_seeds_and_survives_being_stored():
    stored = template_from_data(template_to_data(DEFAULT_TEMPLATE))

    assert stored == DEFAULT_TEMPLATE
    assert render(stored, summary="") == render(DEFAULT_TEMPLATE, summary="")
    assert sections_from_text(sections_to_text(DEFAULT_TEMPLATE.sections)) == tuple(
        s.__class__(f"section-{n}", s.heading, s.match, s.level, s.empty)
        for n, s in enumerate(DEFAULT_TEMPLATE.sections, start=1)
    )


def test_hostile_text_in_a_template_is_inert():
    template = seed_template(
        sections=sections_from_text("## <script>alert(1)</script> | *"),
        quote="<img src=x onerror=alert(1)>",
        footer="<iframe src=//evil>",
    )

    markdown = render(template)

    assert "<script" not in markdown and "<img" not in markdown and "<iframe" not in markdown
    assert "## &lt;script&gt;alert(1)&lt;/script&gt;" in markdown


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Highlights | feat", "Line 1: start with ## or ### and the heading."),
        ("## Features | feat;drop", "Line 1: feat;drop is not a rule"),
        ("## | feat", "Line 1: the heading is missing."),
        ("## Group | | shown when empty", "Line 1: a heading without rules has no text"),
        ("\n\n", "Give at least one section."),
    ],
)
def test_bad_sections_are_refused_line_by_line(text, problem):
    with pytest.raises(ValidationFailed) as refused:
        sections_from_text(text)

    assert any(p.startswith(problem) for p in refused.value.errors["sections"])


def test_notes_items_read_back_the_sections_without_commit_links():
    template = seed_template()
    markdown = render(template, commit_url_base="https://git.example.test/a/b/commit")

    items = notes_items(markdown, template)

    by_heading = {s.heading: items[s.key] for s in template.sections}
    assert by_heading["🔮 Oracle Enhancements"] == [
        "**oracle:** deeper insight",
        "**oracle:** off by one",
    ]
    assert by_heading["🛡️ Security Fortifications"] == ["**security:** key rotation"]


# --- Stored per project -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_new_project_gets_the_default_template_through_the_project_hook(tmp_path, admin_user):
    project = project_create(
        actor=admin_user, slug="fresh", name="Fresh", repo_url=str(tmp_path / "repo")
    )

    row = NotesTemplate.objects.get(project=project)
    assert template_from_data(template_to_data(notes_template_of(project=project))) == (
        DEFAULT_TEMPLATE
    )
    assert row.quote == DEFAULT_TEMPLATE.quote
    # A project with no row (made before the migration's install) reads the default too.
    assert notes_template_of(project=ProjectFactory()) == DEFAULT_TEMPLATE


@pytest.mark.django_db
def test_a_manager_changes_the_template_and_it_is_audited(manager):
    project = ProjectFactory()

    notes_template_update(
        project=project,
        actor=manager,
        sections=SEED_SCOPES,
        quote="  Ask,\n and see. ",
        footer="_Bye._",
        contributors=False,
        contributors_heading="",
    )

    template = notes_template_of(project=project)
    assert [s.heading for s in template.sections][:2] == [
        "✨ Cosmic Highlights",
        "🔮 Oracle Enhancements",
    ]
    assert (template.quote, template.footer, template.contributors) == (
        "Ask, and see.",
        "_Bye._",
        False,
    )
    event = AuditEvent.objects.filter(action="project.notes_template_changed").get()
    assert event.actor_id == manager.pk


@pytest.mark.django_db
def test_only_release_managers_and_admins_change_the_template(approver, stakeholder):
    project = ProjectFactory()
    for user in (approver, stakeholder):
        with pytest.raises(NotAllowed):
            notes_template_update(
                project=project,
                actor=user,
                sections="## All | *",
                quote="",
                footer="",
                contributors=True,
                contributors_heading="People",
            )
    assert not NotesTemplate.objects.filter(project=project).exists()


@pytest.mark.django_db
def test_the_data_migrations_frozen_copies_are_the_defaults():
    """Projects that existed before templates got, from the data migrations, exactly what
    a new project gets from the hooks (the migrations keep frozen copies)."""
    project = ProjectFactory()
    import_module("releases.migrations.0009_default_notes_template").install(apps, None)
    import_module("notifications.migrations.0003_default_announcement_templates").install(
        apps, None
    )

    assert notes_template_of(project=project) == DEFAULT_TEMPLATE
    assert NotesTemplate.objects.filter(project=project).exists()
    rows = dict(
        AnnouncementTemplate.objects.filter(project=project).values_list("tone", "markdown")
    )
    assert rows == {str(tone): text for tone, text in DEFAULT_TEMPLATES.items()}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_prepare_drafts_the_notes_with_the_projects_template(remote, manager, start_worker):  # noqa: F811
    bare, _ = remote
    project = _project(bare)
    notes_template_update(
        project=project,
        actor=manager,
        sections="## 📊 Compliance Evolutions | (api)\n## 🐛 Bug Exorcisms | fix",
        quote="",
        footer="",
        contributors=False,
        contributors_heading="",
    )
    release = release_create(actor=manager, project=project, release_type="minor")
    start_worker()

    run = _final(release_prepare(release=release, actor=manager))

    assert run.status == RunStatus.SUCCEEDED, run.error
    release.refresh_from_db()
    assert "## 📊 Compliance Evolutions\n\n- **api:** compliance reports (" in release.notes
    assert "## 🐛 Bug Exorcisms\n\n- typo in the cosmic mode (" in release.notes
    assert "Cosmic Highlights" not in release.notes and "Gratitude" not in release.notes
    assert "---" not in release.notes and "> *" not in release.notes
