"""API authentication: bearer tokens (per user or per project) and the browser session.

Kept apart from `liftoff.api` because DRF imports these while `rest_framework.views` is
still loading.
"""

from rest_framework import authentication, exceptions

from liftoff.tokens import token_authenticate


class ProjectPrincipal:
    """Who a per-project (CI) token acts as: that project, with no user roles."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_superuser = False
    is_project_token = True
    pk = None

    def __init__(self, token):
        self.token = token
        self.project = token.project

    def get_username(self):
        return f"project:{self.project.slug}"

    def __str__(self):
        return f"token {self.token.prefix} of project {self.project.slug}"


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                "Send the header as 'Authorization: Bearer <token>'."
            )
        try:
            raw = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        token = token_authenticate(raw)
        if token is None:
            raise exceptions.AuthenticationFailed("The token is unknown, revoked or expired.")
        if token.project_id:
            return ProjectPrincipal(token), token
        return token.user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (not 403) to a request without valid credentials.
        return self.keyword
