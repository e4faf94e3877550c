"""Announcements in three tones: drafted from a real release (notes drafted from a real git
repository, a gate's real result), templates with safe placeholders only, a live preview,
and publishing once to the inbox, a webhook receiver and an SMTP server on 127.0.0.1."""

import json
from datetime import UTC, datetime

import git
import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook

from gates.models import GateResultSource, QualityGate
from gates.services import gate_result_record
from liftoff.audit import AuditEvent
from liftoff.errors import Conflict, NotAllowed, ValidationFailed
from notifications.announcements import DEFAULT_TEMPLATES, fill, placeholder_problems
from notifications.models import (
    Announcement,
    AnnouncementTemplate,
    Delivery,
    DeliveryStatus,
    Notification,
)
from notifications.selectors import announcement_drafts
from notifications.services import (
    announcement_publish,
    announcement_save,
    announcement_templates_update,
    delivery_send,
    project_announcement_templates_install,
)
from releases.notes import draft_notes
from releases.selectors import notes_template_of
from releases.services import project_create
from tests.factories import ReleaseFactory

HEAD = "a" * 40
HOSTILE = "{{ settings.SECRET_KEY }} {% load static %} <script>alert(1)</script>"


def _repo_notes(tmp_path, project) -> str:
    """Notes drafted the way Prepare drafts them, from a real repository."""
    repo = git.Repo.init(tmp_path / "code", initial_branch="main")
    author = git.Actor("Ada Lovelace", "ada@example.test")
    when = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for message in (
        "chore: initial commit",
        "feat(api): add project tokens",
        "fix(security): check a token's scope",
        "fix: handle an empty list",
    ):
        repo.index.commit(message, author=author, author_date=when, commit_date=when)
        if message.startswith("chore"):
            repo.create_tag("v1.0.0")
    return draft_notes(
        repo.working_dir,
        since="v1.0.0",
        until="main",
        project_name=project.name,
        version="2.0.0",
        codename="Nova",
        summary="Tokens for CI.",
        template=notes_template_of(project=project),
    )


@pytest.fixture
def shipped(project, manager, tmp_path):
    """A release in production with notes from a real repository and one passed gate."""
    release = ReleaseFactory(
        project=project,
        version="2.0.0",
        codename="Nova",
        release_manager=manager,
        status="production",
        summary="Tokens for CI.",
        head_commit=HEAD,
        notes=_repo_notes(tmp_path, project),
    )
    gate = QualityGate.objects.create(
        project=project, key="coverage", name="Coverage", kind="automated", unit="%",
        comparator="gte", threshold=90,
    )  # fmt: skip
    gate_result_record(
        release=release, gate=gate, source=GateResultSource.CI, value=95, commit=HEAD
    )
    return release


def drafts_by_tone(release):
    return {draft.tone: draft for draft in announcement_drafts(release=release)}


# --- Drafting --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_three_tones_are_drafted_from_the_releases_facts(shipped, project):
    drafts = drafts_by_tone(shipped)

    assert list(drafts) == ["oracle", "compliance", "cosmic"]
    oracle, compliance, cosmic = drafts.values()
    assert oracle.markdown.startswith("🔮 The Digital Oracle has awakened to new wisdom...")
    assert 'In this sacred release, v2.0.0 "Nova"' in oracle.markdown
    # Highlights are the features of the notes, without their commit references.
    assert "- **api:** add project tokens\n" in oracle.markdown
    assert '- **Version:** v2.0.0 "Nova"' in compliance.markdown
    assert "- **Classification:** ENHANCEMENT UPDATE" in compliance.markdown
    assert "- **Risk Level:** 🟢 LOW (every quality gate passed)" in compliance.markdown
    assert "## Executive Summary\nTokens for CI." in compliance.markdown
    assert "## Security Changes\n- **security:** check a token's scope" in compliance.markdown
    assert "handle an empty list" not in compliance.markdown  # a fix is no highlight
    assert f"Behold! A new star rises in the {project.name} galaxy!" in cosmic.markdown
    assert "{{" not in "".join(d.markdown for d in drafts.values())


@pytest.mark.django_db
def test_a_failed_gate_makes_the_risk_high(shipped):
    gate = QualityGate.objects.get(project=shipped.project, key="coverage")
    gate_result_record(
        release=shipped, gate=gate, source=GateResultSource.CI, value=50, commit=HEAD
    )

    assert "🔴 HIGH (a quality gate failed)" in drafts_by_tone(shipped)["compliance"].markdown


@pytest.mark.django_db
def test_a_new_project_gets_the_seeds_three_templates(tmp_path, admin_user):
    project = project_create(
        actor=admin_user, slug="fresh", name="Fresh", repo_url=str(tmp_path / "repo")
    )

    rows = {t.tone: t.markdown for t in AnnouncementTemplate.objects.filter(project=project)}
    assert rows == {str(tone): text for tone, text in DEFAULT_TEMPLATES.items()}
    assert project_announcement_templates_install(project=project) == 0  # again: nothing


@pytest.mark.django_db
def test_the_projects_template_is_used_and_a_saved_draft_wins(shipped, manager):
    announcement_templates_update(
        project=shipped.project,
        actor=manager,
        templates={"cosmic": "Stars align for {{ codename }} ({{ risk }})."},
    )
    assert drafts_by_tone(shipped)["cosmic"].markdown == "Stars align for Nova (🟢 LOW)."

    announcement_save(
        release=shipped, tone="cosmic", markdown="By hand, v{{version}}.", actor=manager
    )
    assert drafts_by_tone(shipped)["cosmic"].markdown == "By hand, v2.0.0."
    assert drafts_by_tone(shipped)["cosmic"].text == "By hand, v{{version}}."


# --- Placeholder safety ------------------------------------------------------------------


def test_only_known_placeholders_and_no_template_tags_are_accepted():
    problems = placeholder_problems(HOSTILE)

    assert problems[0].startswith("Unknown placeholder {{ settings.SECRET_KEY }}")
    assert problems[1].startswith("Template tags ({% … %}, {# … #}) are not supported")
    assert placeholder_problems("v{{ version }} {{codename}} <b>ok</b>") == []
    for attempt in ("{{ version.__class__ }}", "{{ version|upper }}", "{{ request }}"):
        assert placeholder_problems(attempt), attempt


def test_filling_puts_facts_in_once_and_leaves_anything_else_as_text():
    facts = {"version": "{{ codename }}", "codename": "Nova"}

    # A fact is never scanned again, and an unknown name stays as typed: no lookup runs.
    assert fill("v{{ version }} {{ settings.SECRET_KEY }}", facts) == (
        "v{{ codename }} {{ settings.SECRET_KEY }}"
    )


@pytest.mark.django_db
def test_hostile_templates_are_refused_and_nothing_is_saved(shipped, manager, settings):
    with pytest.raises(ValidationFailed) as refused:
        announcement_templates_update(
            project=shipped.project, actor=manager, templates={"oracle": HOSTILE}
        )
    assert "Unknown placeholder" in refused.value.errors["oracle"][0]
    with pytest.raises(ValidationFailed):
        announcement_save(release=shipped, tone="oracle", markdown=HOSTILE, actor=manager)
    assert not Announcement.objects.exists()
    assert settings.SECRET_KEY not in drafts_by_tone(shipped)["oracle"].markdown


@pytest.mark.django_db
def test_a_hostile_stored_template_and_commit_text_render_inert(
    shipped, client_as, stakeholder, settings
):
    # A row written before validation existed, or straight into the database.
    AnnouncementTemplate.objects.create(project=shipped.project, tone="oracle", markdown=HOSTILE)
    type(shipped).objects.filter(pk=shipped.pk).update(codename="{{ version }} <img src=x>")
    shipped.refresh_from_db()

    page = client_as(stakeholder).get(reverse("announcements:release", args=[shipped.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert settings.SECRET_KEY not in html
    assert "<script>alert(1)" not in html and "<img src=x>" not in html
    assert "{{ settings.SECRET_KEY }}" in html  # plain text, as typed
    assert "{ { version } }" in drafts_by_tone(shipped)["cosmic"].markdown


# --- Publishing --------------------------------------------------------------------------


@pytest.mark.django_db
def test_publishing_reaches_the_inbox_a_webhook_and_an_smtp_server(
    shipped, manager, stakeholder, receiver, add_webhook, smtp_server, settings,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    settings.LIFTOFF_BASE_URL = "https://liftoff.example.test"
    _, secret = add_webhook(receiver.url("/ok"), events=["announcement.published"])

    with django_capture_on_commit_callbacks(execute=False):
        announcement_publish(
            release=shipped, tone="compliance", channels=["in_app", "email", "webhook"],
            actor=manager,
        )  # fmt: skip

    [note] = Notification.objects.filter(user=stakeholder)
    assert note.event == "announcement.published"
    assert note.title == f"Announcement: {shipped} “Nova”"
    assert "📊 RELEASE COMPLIANCE REPORT" in note.body
    assert not Notification.objects.filter(user=manager).exists()  # not told what they did
    deliveries = list(Delivery.objects.order_by("pk"))
    for delivery in deliveries:
        assert delivery_send(delivery_id=delivery.pk) == DeliveryStatus.DELIVERED

    [request] = receiver.seen("/ok")
    data = Webhook(secret).verify(request.body, request.headers)
    assert data["type"] == "announcement.published"
    assert data["data"]["tone"] == "compliance"
    assert "🟢 LOW" in data["data"]["markdown"]
    mail = {tuple(to): message for to, message in smtp_server.messages}
    message = mail[(stakeholder.email,)]
    assert message["Subject"] == f"[Liftoff] Announcement: {shipped} “Nova”"
    assert "## Key Improvements" in message.get_body(("plain",)).get_content()
    event = AuditEvent.objects.get(action="announcement.published")
    assert event.actor_id == manager.pk


@pytest.mark.django_db
def test_only_the_chosen_channels_are_used(shipped, manager, stakeholder, receiver, add_webhook):
    add_webhook(receiver.url("/ok"))

    announcement_publish(release=shipped, tone="cosmic", channels=["in_app"], actor=manager)

    assert Notification.objects.filter(user=stakeholder).count() == 1
    assert not Delivery.objects.exists()  # no e-mail, no webhook


@pytest.mark.django_db
def test_publishing_twice_is_refused_and_tells_nobody_again(shipped, manager, stakeholder):
    announcement_publish(release=shipped, tone="oracle", channels=["in_app"], actor=manager)
    published = Announcement.objects.get(release=shipped, tone="oracle")

    # The conditional UPDATE is the guard: the second call changes no row.
    with pytest.raises(Conflict, match="published already"):
        announcement_publish(release=shipped, tone="oracle", channels=["in_app"], actor=manager)
    with pytest.raises(Conflict, match="published already"):
        announcement_save(release=shipped, tone="oracle", markdown="Changed", actor=manager)

    assert Notification.objects.filter(user=stakeholder).count() == 1
    assert AuditEvent.objects.filter(action="announcement.published").count() == 1
    again = Announcement.objects.get(pk=published.pk)
    assert again.published_at == published.published_at
    assert again.markdown == published.markdown


@pytest.mark.django_db
def test_only_release_managers_and_admins_publish(shipped, approver, stakeholder, admin_user):
    for user in (approver, stakeholder):
        with pytest.raises(NotAllowed):
            announcement_publish(release=shipped, tone="oracle", channels=["in_app"], actor=user)
        with pytest.raises(NotAllowed):
            announcement_save(release=shipped, tone="oracle", markdown="x", actor=user)
    assert not Announcement.objects.exists()
    announcement_publish(release=shipped, tone="oracle", channels=["in_app"], actor=admin_user)


@pytest.mark.django_db
@pytest.mark.parametrize("channels", [[], ["fax"]])
def test_publishing_needs_known_channels(shipped, manager, channels):
    with pytest.raises(ValidationFailed) as refused:
        announcement_publish(release=shipped, tone="oracle", channels=channels, actor=manager)
    assert "channels" in refused.value.errors
    assert not Announcement.objects.exists()


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_release_page_links_its_announcements(shipped, client_as, stakeholder):
    page = client_as(stakeholder).get(reverse("releases:release-detail", args=[shipped.pk]))

    url = reverse("announcements:release", args=[shipped.pk])
    assert f'<li><a href="{url}">Announcements</a></li>' in page.content.decode()


@pytest.mark.django_db
def test_a_stakeholder_reads_the_drafts_but_gets_no_editor(shipped, client_as, stakeholder):
    page = client_as(stakeholder).get(reverse("announcements:release", args=[shipped.pk]))

    html = page.content.decode()
    assert page.status_code == 200
    assert "RELEASE COMPLIANCE REPORT" in html and "THE COSMOS CELEBRATES" in html
    assert "<textarea" not in html and "Publish" not in html


@pytest.mark.django_db
@pytest.mark.parametrize("action", ["save", "preview", "publish"])
def test_editing_previewing_and_publishing_are_for_managers(
    shipped, client_as, stakeholder, approver, client, action
):
    url = reverse(f"announcements:{action}", args=[shipped.pk, "oracle"])
    data = {"markdown": "Hello", "channels": ["in_app"]}

    assert client.post(url, data).status_code == 302  # anonymous: to the login page
    for user in (stakeholder, approver):
        assert client_as(user).post(url, data).status_code == 403
    assert not Announcement.objects.exists()


@pytest.mark.django_db
def test_the_live_preview_fills_the_facts_and_names_bad_placeholders(
    shipped, client_as, manager, django_assert_max_num_queries
):
    client = client_as(manager)
    url = reverse("announcements:preview", args=[shipped.pk, "cosmic"])
    client.get("/")  # the session and roles are warm

    with django_assert_max_num_queries(10):
        answer = client.post(
            url, {"markdown": "# v{{ version }}\n\n{{ oops }} <script>x</script>"},
            headers={"HX-Request": "true"},
        )  # fmt: skip

    html = answer.content.decode()
    assert html.startswith('<div id="preview-cosmic" class="markdown"')
    assert "<h1>v2.0.0</h1>" in html
    assert "Unknown placeholder {{ oops }}" in html
    assert "<script>" not in html


@pytest.mark.django_db
def test_the_preview_and_the_page_cost_the_same_queries_with_more_gates_and_notes(
    shipped, client_as, manager, django_assert_max_num_queries
):
    client = client_as(manager)
    page = reverse("announcements:release", args=[shipped.pk])
    preview = reverse("announcements:preview", args=[shipped.pk, "oracle"])
    counts = []
    for size in (1, 30):
        for n in range(size):
            gate = QualityGate.objects.create(
                project=shipped.project, key=f"g{size}-{n}", name=f"G {n}", kind="automated",
                unit="%", comparator="gte", threshold=1,
            )  # fmt: skip
            gate_result_record(
                release=shipped, gate=gate, source=GateResultSource.CI, value=5, commit=HEAD
            )
        notes = shipped.notes + "".join(f"\n- **api:** more {n}" for n in range(size * 10))
        type(shipped).objects.filter(pk=shipped.pk).update(notes=notes)
        client.get(page)  # what a first view reads once (the header's counts) is warm
        with django_assert_max_num_queries(14) as page_queries:
            assert client.get(page).status_code == 200
        with django_assert_max_num_queries(10) as preview_queries:
            assert client.post(preview, {"markdown": "x"}).status_code == 200
        counts.append((len(page_queries.captured_queries), len(preview_queries)))
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_a_manager_saves_and_publishes_from_the_page(shipped, client_as, manager, stakeholder):
    client = client_as(manager)
    save_url = reverse("announcements:save", args=[shipped.pk, "oracle"])
    publish_url = reverse("announcements:publish", args=[shipped.pk, "oracle"])

    bad = client.post(save_url, {"markdown": "{{ settings.DEBUG }}"})
    assert bad.status_code == 400
    assert "Unknown placeholder {{ settings.DEBUG }}" in bad.content.decode()
    assert "{{ settings.DEBUG }}</textarea>" in bad.content.decode()  # kept to fix it

    assert client.post(save_url, {"markdown": "Draft of v{{ version }}"}).status_code == 302
    nothing = client.post(publish_url, {"markdown": "Draft of v{{ version }}"})
    assert nothing.status_code == 400
    assert "One or more of in_app, email, webhook." in nothing.content.decode()

    done = client.post(publish_url, {"markdown": "Out: v{{ version }}", "channels": ["in_app"]})
    assert done.status_code == 302
    assert done["Location"].endswith("/announcements/#tone-oracle")
    assert Notification.objects.get(user=stakeholder).body == "Out: v2.0.0"
    page = client.get(done["Location"]).content.decode()
    assert "Published on" in page and 'id="markdown-oracle"' not in page
    again = client.post(publish_url, {"markdown": "Again", "channels": ["in_app"]})
    assert again.status_code == 400 and "published already" in again.content.decode()
    trail = client.get(reverse("releases:release-audit", args=[shipped.pk])).content.decode()
    assert "published the oracle announcement to in_app" in trail
    assert "edited the oracle announcement’s draft" in trail


@pytest.mark.django_db
def test_the_settings_page_edits_the_notes_and_announcement_templates(
    project, client_as, manager, stakeholder
):
    url = reverse("announcements:communication", args=[project.slug])
    assert client_as(stakeholder).get(url).status_code == 403
    client = client_as(manager)
    page = client.get(url).content.decode()
    assert "## ✨ Cosmic Highlights | feat | _No new features in this release._" in page
    assert "🔮 The Digital Oracle has awakened" in page

    bad = client.post(url, {"sections": "Highlights | feat", "contributors_heading": ""})
    assert bad.status_code == 400
    assert "Line 1: start with ## or ### and the heading." in bad.content.decode()
    good = client.post(
        url,
        {"sections": "## Oracle | (oracle)\n## Rest | *", "quote": "Hi", "footer": "",
         "contributors_heading": "People"},
    )  # fmt: skip
    assert good.status_code == 302
    template = notes_template_of(project=project)
    assert [s.heading for s in template.sections] == ["Oracle", "Rest"]
    assert template.contributors is False  # the box was not ticked

    templates_url = reverse("announcements:communication-announcements", args=[project.slug])
    tones = {"oracle": "O {{ version }}", "compliance": "C", "cosmic": "{% load x %}"}
    refused = client.post(templates_url, tones)
    assert refused.status_code == 400
    assert "Template tags" in refused.content.decode()
    assert not AnnouncementTemplate.objects.filter(project=project).exists()
    tones["cosmic"] = "Cosmic {{ codename }}"
    assert client.post(templates_url, tones).status_code == 302
    saved = dict(AnnouncementTemplate.objects.values_list("tone", "markdown"))
    assert saved == tones


# --- API -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_api_lists_one_draft_per_tone_and_publishes(shipped, client_as, stakeholder, manager):
    url = f"/api/v1/releases/{shipped.pk}/announcements/"
    answer = client_as(stakeholder).get(url)
    assert answer.status_code == 200
    body = answer.json()
    assert [a["tone"] for a in body] == ["oracle", "compliance", "cosmic"]
    assert "🟢 LOW" in body[1]["markdown"] and body[1]["published"] is False

    publish = f"{url}cosmic/publish/"
    data = json.dumps({"channels": ["in_app"]})
    refused = client_as(stakeholder).post(publish, data, content_type="application/json")
    assert refused.status_code == 403
    client = client_as(manager)
    bad = client.post(publish, json.dumps({"channels": ["fax"]}), content_type="application/json")
    assert bad.status_code == 400
    assert [key.split("[")[0] for key in bad.json()["errors"]] == ["channels"]
    unknown = client.post(f"{url}jazz/publish/", data, content_type="application/json")
    assert unknown.status_code == 400 and "tone" in unknown.json()["errors"]
    done = client.post(publish, data, content_type="application/json")
    assert done.status_code == 200
    assert done.json()["published"] is True and done.json()["channels"] == ["in_app"]
    twice = client.post(publish, data, content_type="application/json")
    assert twice.status_code == 409 and "published already" in twice.json()["detail"]
    document = client.get("/api/v1/openapi.json").json()["paths"]
    documented = document["/api/v1/releases/{release_id}/announcements/{tone}/publish/"]
    assert {"200", "400", "403", "409"} <= set(documented["post"]["responses"])
    assert "/api/v1/releases/{release_id}/announcements/" in document


@pytest.mark.django_db
def test_the_settings_page_costs_the_same_queries_with_more_sections(
    project, client_as, manager, django_assert_max_num_queries
):
    client = client_as(manager)
    url = reverse("announcements:communication", args=[project.slug])
    client.get(url)  # what a first view reads once (the header's counts) is warm
    counts = []
    for size in (1, 40):
        sections = "\n".join(f"## Section {n} | (scope{n})" for n in range(size))
        client.post(url, {"sections": sections, "contributors_heading": "People"})
        with django_assert_max_num_queries(9) as queries:
            page = client.get(url)
        assert f"## Section {size - 1} | (scope{size - 1})" in page.content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db
def test_only_release_managers_and_admins_change_the_announcement_templates(
    project, approver, stakeholder, admin_user
):
    for user in (approver, stakeholder):
        with pytest.raises(NotAllowed):
            announcement_templates_update(
                project=project, actor=user, templates={"oracle": "v{{ version }}"}
            )
    assert not AnnouncementTemplate.objects.filter(project=project).exists()
    announcement_templates_update(
        project=project, actor=admin_user, templates={"oracle": "v{{ version }}"}
    )
    assert AnnouncementTemplate.objects.get(project=project).markdown == "v{{ version }}"
