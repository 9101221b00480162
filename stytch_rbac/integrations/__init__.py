"""Web-framework glue: the framework-free guard core, the HTTP answers, FastAPI and Starlette.

* :mod:`.guard`: ``require()`` guards, credentials, tenancy sources (no framework).
* :mod:`.csrf`: the cross-site request check of cookie credentials (no framework).
* :mod:`.responses`: the one table of HTTP statuses, error bodies and headers.
* :mod:`.fastapi`, :mod:`.starlette`: the only modules that import a web framework.

This package module imports no framework.
"""

from .responses import HTTP_ERRORS, error_body, error_headers, handback_headers, status_for

__all__ = [
    "HTTP_ERRORS",
    "error_body",
    "error_headers",
    "handback_headers",
    "status_for",
]
