"""The API document tells the truth: schemathesis generates requests for every operation
of /api/v1/openapi.json, as each role and anonymously, sends them through Django's WSGI
app in-process (the real database), and fails on a server error, an answer that breaks
its schema, a status code or a content type the document does not list.

The operations come from the document itself, so an endpoint a later issue adds is
tested here without anyone listing it.
"""

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from checklists.models import ChecklistItem
from deployments.models import Deployment, DeploymentStatus
from deployments.services import environment_create
from gates.models import QualityGate
from incidents.services import incident_open
from liftoff.api import ApiSchemaGenerator
from liftoff.roles import Role
from liftoff.tokens import token_create
from releases.policy import project_created
from releases.services import project_sync
from tests.factories import ProjectFactory, ReleaseFactory

# Per operation, per role: 23 operations x 5 principals x this, in about a minute.
MAX_EXAMPLES = 6

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The document as the API serves it (the same generator as /api/v1/openapi.json, which
# tests/api/test_openapi.py compares), loaded without a database at collection time.
schema = schemathesis.openapi.from_dict(ApiSchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes the database connection after each request; Django's own
    test client stops it from doing so (the test's transaction lives on that connection),
    and so must this in-process client."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def world(admin_user, manager, settings):
    """Something for the generated requests to find: a project made through the service
    (with its default gates and checklist templates, and the first sync run it starts),
    a release planned on it with its checklists, and one without a manager."""
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis' WSGI client's Host
    project = ProjectFactory(slug="contract")
    project_created(project=project, actor=admin_user)  # the defaults project_create adds
    release = ReleaseFactory(project=project, version="1.0.0", release_manager=manager)
    ReleaseFactory(project=project, version="1.1.0")
    # An environment with a deployment verified there (deployments/api.py's paths).
    staging, _ = environment_create(
        project=project, actor=admin_user, name="staging", deploy_commands=[["true"]]
    )
    deployment = Deployment.objects.create(
        environment=staging,
        release=release,
        status=DeploymentStatus.SUCCEEDED,
        strategy=staging.strategy,
        version=release.version,
        verified=True,
        finished_at=timezone.now(),
    )
    incident = incident_open(
        project=project, environment=staging, severity="high", title="Slow", actor=manager
    )
    return {
        "incident_id": incident.pk,
        "name": staging.name,
        "deployment_id": deployment.pk,
        "slug": project.slug,
        "release_id": release.pk,
        "item_id": ChecklistItem.objects.filter(release=release).values_list("pk", flat=True)[0],
        "run_id": project_sync(project=project, actor=admin_user).pk,
        "gate_key": QualityGate.objects.filter(project=project).values_list("key", flat=True)[0],
    }


@pytest.fixture
def principal(request, make_user, admin_user, manager):
    """The Authorization header of the role under test (None: anonymous)."""
    role = request.param
    if role is None:
        return {}
    user = {Role.ADMIN: admin_user, Role.RELEASE_MANAGER: manager}.get(role) or make_user(role)
    _, secret = token_create(actor=user, name="contract", user=user)
    return {"Authorization": f"Bearer {secret}"}


def _aim_at_real_objects(case, world):
    """Path parameters the generator picks are mostly ids of nothing (a 404). An even
    generated number, or a generated key of even length, is replaced by an object that
    exists, so that the answers of found objects are checked too; deterministically."""
    for name, value in (case.path_parameters or {}).items():
        if name in world and len(str(value)) % 2 == 0:
            case.path_parameters[name] = world[name]


@pytest.mark.parametrize(
    "principal",
    [Role.ADMIN, Role.RELEASE_MANAGER, Role.APPROVER, Role.STAKEHOLDER, None],
    ids=["admin", "release_manager", "approver", "stakeholder", "anonymous"],
    indirect=True,
)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_documented(case, world, principal):
    _aim_at_real_objects(case, world)
    response = case.call(headers=principal)
    case.validate_response(response, checks=CHECKS, headers=principal)
