"""liftoff.kept: the digest of rows changes with every write to them (whoever makes it) and
with nothing else; a kept page is served until its rows change or its moment passes, and
each answer carries its own request's CSRF token."""

from datetime import timedelta

import pytest
import time_machine
from django.middleware.csrf import _unmask_cipher_token
from django.test import RequestFactory
from django.utils import timezone

from liftoff.kept import CSRF_PLACEHOLDER, Rows, kept_html, not_kept, rows_version, valid_until
from releases.models import Project
from tests.factories import ProjectFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def projects():
    return [ProjectFactory(slug=f"p{i}", name=f"P{i}") for i in range(3)]


def _one(project) -> Rows:
    return Rows(Project, "id = %s", (project.pk,))


def test_the_digest_changes_with_an_update_an_insert_and_a_delete_of_its_rows(projects):
    watched = Rows(Project, "slug LIKE %s", ("p%",))
    before = rows_version([watched])
    assert rows_version([watched]) == before  # reading changes nothing

    Project.objects.filter(pk=projects[0].pk).update(name="Renamed")  # not through a service
    after_update = rows_version([watched])
    assert after_update != before

    ProjectFactory(slug="p9", name="P9")
    after_insert = rows_version([watched])
    assert after_insert != after_update

    Project.objects.filter(slug="p9").delete()
    assert rows_version([watched]) != after_insert


def test_rows_outside_the_sets_do_not_change_it(projects):
    before = rows_version([_one(projects[0])])
    Project.objects.filter(pk=projects[1].pk).update(name="Elsewhere")
    ProjectFactory(slug="other", name="Other")
    assert rows_version([_one(projects[0])]) == before


def test_the_same_row_read_by_another_set_is_another_digest(projects):
    a, b = _one(projects[0]), _one(projects[1])
    assert rows_version([a, b]) != rows_version([b, a])
    assert rows_version([]) == ""


def _request(rf_session_client):
    request = RequestFactory().get("/")
    request.META["CSRF_COOKIE"] = "a" * 32
    return request


def test_a_kept_part_is_rendered_once_and_gets_each_requests_token():
    renders = []

    def render(token):
        renders.append(token)
        return f'<form><input name="csrfmiddlewaretoken" value="{token}"></form>'

    first, second = _request(None), _request(None)
    second.META["CSRF_COOKIE"] = "b" * 32
    html_first = kept_html(first, key=("k", 1), render=render)
    html_second = kept_html(second, key=("k", 1), render=render)
    assert renders == [CSRF_PLACEHOLDER]  # rendered once, with the placeholder
    assert CSRF_PLACEHOLDER not in html_first + html_second
    token_first = html_first.split('value="')[1].split('"')[0]
    token_second = html_second.split('value="')[1].split('"')[0]
    assert _unmask_cipher_token(token_first) == "a" * 32
    assert _unmask_cipher_token(token_second) == "b" * 32
    kept_html(first, key=("k", 2), render=render)  # another key renders anew
    assert len(renders) == 2


def test_a_part_that_shows_something_live_is_never_kept():
    renders = []

    def render(token):
        renders.append(token)
        not_kept()
        return "live"

    for _ in range(2):
        kept_html(_request(None), key=("live",), render=render)
    assert len(renders) == 2


def test_a_kept_part_is_served_until_the_moment_it_named():
    renders = []
    until = timezone.now() + timedelta(minutes=5)

    def render(token):
        renders.append(token)
        valid_until(until)
        valid_until(None)  # "no limit" from another part does not lift the first
        return "frozen at 18:00"

    kept_html(_request(None), key=("t",), render=render)
    with time_machine.travel(until - timedelta(seconds=1)):
        kept_html(_request(None), key=("t",), render=render)
    assert len(renders) == 1
    with time_machine.travel(until + timedelta(seconds=1)):
        kept_html(_request(None), key=("t",), render=render)
    assert len(renders) == 2


def test_valid_until_outside_a_kept_render_does_nothing():
    valid_until(timezone.now())
    not_kept()
