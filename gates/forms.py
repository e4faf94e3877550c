"""Forms of the gate and approval pages. They only clean what was posted: the rules (who
may sign, how long a reason must be) live in the services, so a page, the API and the
command line refuse the same things with the same words."""

from django import forms
from django.utils.http import url_has_allowed_host_and_scheme


class DecisionForm(forms.Form):
    decision = forms.CharField(required=False)
    comment = forms.CharField(required=False, strip=True)
    next = forms.CharField(required=False)


class WaiverForm(forms.Form):
    reason = forms.CharField(required=False, strip=True)
    next = forms.CharField(required=False)


def safe_next(request, value: str) -> str | None:
    """The `next` page to go back to, if it is one of ours."""
    if value and url_has_allowed_host_and_scheme(
        value, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return value
    return None
