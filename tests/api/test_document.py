"""What the contract test cannot see on its own: the served document is the one the
contract test reads, unknown URLs answer the JSON error shape, and the list is paginated."""

import pytest

from liftoff.api import ApiSchemaGenerator
from liftoff.roles import Role
from tests.factories import ReleaseFactory


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
