"""What the contract test cannot see on its own: the served document is the one the
contract test reads, unknown URLs answer the JSON error shape, and the list is paginated."""

import json
import re

import pytest

from liftoff.api import ApiSchemaGenerator
from liftoff.roles import Role
from tests.factories import ReleaseFactory
from tests.helpers import ROOT


@pytest.mark.django_db
def test_the_served_document_is_the_one_the_contract_test_checks(client):
    served = client.get("/api/v1/openapi.json").json()
    assert served == ApiSchemaGenerator().get_schema(request=None, public=True)
    refusals = served["paths"]["/api/v1/releases/{release_id}/prepare/"]["post"]["responses"]
    assert {"401", "403", "404", "409"} <= set(refusals)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/releases/abc/", "/api/v1/x\ny"])
def test_an_unknown_api_url_answers_the_json_error_shape(client, path):
    response = client.post(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail", "errors"}
    assert response.json()["detail"].startswith("No endpoint at /api/v1/")


@pytest.mark.django_db
def test_the_release_list_is_a_documented_page(client_as, make_user):
    ReleaseFactory(version="1.0.0")
    ReleaseFactory(version="1.1.0")
    body = client_as(make_user(Role.STAKEHOLDER)).get("/api/v1/releases/?limit=1").json()
    assert body["count"] == 2 and len(body["results"]) == 1
    assert body["next"].endswith("limit=1&offset=1") and body["previous"] is None
    served = client_as(make_user(Role.STAKEHOLDER)).get("/api/v1/openapi.json").json()
    page = served["paths"]["/api/v1/releases/"]["get"]["responses"]["200"]["content"]
    assert page["application/json"]["schema"] == {"$ref": "#/components/schemas/ReleasePage"}


def _json_blocks(markdown: str) -> list:
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", markdown, re.S)]


@pytest.mark.django_db
def test_the_release_examples_in_docs_api_md_have_the_answers_keys(client_as, make_user):
    """docs/api.md's page of releases and its 409 before the first sync keep the shape the
    API answers: a field added or renamed there fails here until the example follows."""
    blocks = _json_blocks((ROOT / "docs" / "api.md").read_text())
    page = next(b for b in blocks if isinstance(b, dict) and "count" in b)
    ReleaseFactory(version="1.0.0")
    answer = client_as(make_user(Role.STAKEHOLDER)).get("/api/v1/releases/").json()
    assert set(page) == set(answer)
    assert set(page["results"][0]) == set(answer["results"][0])
    not_synced = next(b for b in blocks if isinstance(b, dict) and "yet." in b.get("detail", ""))
    assert set(not_synced) == {"detail", "errors", "missing"}
    assert not_synced["missing"][0].startswith("The repository has not been synced yet: ")
