"""A service's refusal (a `DomainError`) as a page shows it: on the form, or as one line
for a toast. Every view uses these two, so a refusal reads the same everywhere; the API
has its own edge (`liftoff.api.exception_handler`)."""

from liftoff.errors import DomainError


def form_add_refusal(form, exc: DomainError) -> None:
    """Field errors on their fields (those the form lacks on the form itself), and the
    message on the form when no field was named."""
    for field, errors in exc.errors.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
    if not exc.errors:
        form.add_error(None, exc.message)


def refusal_text(exc: DomainError) -> str:
    """The message, its field errors and what is missing, as one line (a toast)."""
    details = [error for errors in exc.errors.values() for error in errors]
    return " ".join([exc.message, *details, *(exc.extra.get("missing") or [])])
