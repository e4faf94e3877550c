"""The small template filters: what they print is what the slower built-ins print."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template
from django.utils import timezone


@pytest.mark.parametrize("zone", ["UTC", "Europe/Madrid", "America/New_York"])
def test_timestamp_prints_what_the_date_filter_prints_in_the_current_time_zone(zone):
    moment = datetime(2026, 11, 29, 21, 55, 43, tzinfo=UTC)
    with timezone.override(zone):
        fast = Template("{{ t|timestamp }}").render(Context({"t": moment}))
        slow = Template('{{ t|date:"Y-m-d H:i:s" }}').render(Context({"t": moment}))
    assert fast == slow
    assert fast != "2026-11-29 21:55:43" or zone == "UTC"


def test_timestamp_of_nothing_is_empty():
    assert Template("[{{ t|timestamp }}]").render(Context({"t": None})) == "[]"
