"""The seam: the only package that speaks HTTP to Stytch or imports the ``stytch`` SDK at run time.

* :mod:`.http`: the pooled ``httpx.AsyncClient``, GET retries, one-shot sends.
* :mod:`.sdk`: the adapter the unmodified ``stytch.B2BClient`` runs over.
* :mod:`.endpoints`: the calls the facade and the CLI make (policy, org policy,
  JWKS, a member's roles, ``sessions/authenticate``), the base URL, credentials from
  the environment.
* :mod:`.errors`: the one translator from Stytch's answers and the SDK's,
  httpx's and PyJWT's exceptions to :mod:`stytch_rbac.errors`.

Importing this package imports neither httpx nor the SDK; its modules do, when used.
"""

from .endpoints import (
    DEFAULT_TIMEOUT,
    LIVE_API,
    TEST_API,
    Connection,
    Credentials,
    authenticate_session,
    fetch_jwks,
    fetch_member,
    fetch_org_policy,
    fetch_policy,
    fetch_policy_body,
    open_connection,
    resolve_base_url,
)
from .errors import ErrorContext, error_from_stytch, translate_errors

__all__ = [
    "DEFAULT_TIMEOUT",
    "LIVE_API",
    "TEST_API",
    "Connection",
    "Credentials",
    "ErrorContext",
    "authenticate_session",
    "error_from_stytch",
    "fetch_jwks",
    "fetch_member",
    "fetch_org_policy",
    "fetch_policy",
    "fetch_policy_body",
    "open_connection",
    "resolve_base_url",
    "translate_errors",
]
