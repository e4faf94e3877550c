"""The authorisation table, read off the URL configuration (`manage.py authorization_table`).

Every view states its roles through `liftoff.roles`; this walks the URLs and reports
what each one needs, and which ones state nothing (a test keeps that list empty).
"""

from django.urls import URLPattern, URLResolver, get_resolver

from liftoff.roles import PUBLIC

# Views that carry their own, stronger check and are therefore not decorated.
EXTERNALLY_GUARDED = {"admin": "staff (Django admin)"}


def _describe(callback) -> str | None:
    roles = getattr(callback, "required_roles", None)
    cls = getattr(callback, "cls", None)
    if roles is None and cls is not None:  # A DRF view: read its permission classes.
        perms = [getattr(p, "required_roles", None) for p in cls.permission_classes]
        perms = [p for p in perms if p is not None]
        if not perms:
            return None
        spec = perms[0]
        if isinstance(spec, dict):
            read = ", ".join(sorted(spec["read"])) or "nobody"
            write = ", ".join(sorted(spec["write"])) or "nobody"
            token = " (+ project token)" if spec["project_token"] else ""
            return f"read: {read}; write: {write}{token}"
        return "nobody"
    if roles is None:
        return None
    if roles == PUBLIC:
        return "public"
    return ", ".join(sorted(roles))


def authorization_table() -> list[tuple[str, str, str | None]]:
    """(URL pattern, URL name, who may use it) for every URL; None means undeclared."""
    rows = []

    def walk(patterns, prefix, namespace, guarded):
        for entry in patterns:
            route = prefix + str(entry.pattern)
            if isinstance(entry, URLResolver):
                ns = entry.namespace or namespace
                walk(
                    entry.url_patterns,
                    route,
                    ns,
                    guarded or EXTERNALLY_GUARDED.get(entry.app_name or ""),
                )
            elif isinstance(entry, URLPattern):
                name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
                rows.append((route, name or "", guarded or _describe(entry.callback)))

    walk(get_resolver().url_patterns, "/", None, None)
    return rows
