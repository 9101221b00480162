"""The full-stack example's backend: the document service, the page, and its configuration.

One origin serves the page (``/``, ``/app.js``), the configuration the page reads
(``/config.json``: the emulator's URL and public token) and the document service's
guarded API (examples/fastapi_app), so the session cookies the Stytch SDK sets
in the browser reach the guards with every same-origin ``fetch``. ``/dev/outbox``
shows the emulator's emails (magic links) so a person can log in without email.
"""

# No ``from __future__ import annotations``: FastAPI resolves the Annotated guard
# aliases below from the live annotations.

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse, JSONResponse

from examples.fastapi_app.app import create_app
from examples.permissions import P
from stytch_rbac import Principal, StytchRBAC, path
from stytch_rbac.emulator import Emulator

from .frontend import BUNDLE, FRONTEND

__all__ = ["Person", "create_fullstack_app"]


@dataclass(frozen=True)
class Person:
    """A member the page offers to log in as."""

    email_address: str
    roles: tuple[str, ...]


def create_fullstack_app(
    rbac: StytchRBAC,
    emulator: Emulator,
    *,
    stytch_url: str,
    organization_id: str,
    people: Sequence[Person] = (),
    open_rbac: bool = False,
) -> FastAPI:
    """The document service plus the page, for ``emulator`` served at ``stytch_url``."""
    app = create_app(rbac, open_rbac=open_rbac)
    can_read_audit_log = Annotated[
        Principal,
        Depends(rbac.require(P.audit_logs.read, organization_id=path("organization_id"))),
    ]

    @app.get("/orgs/{organization_id}/audit-log")
    async def audit_log(organization_id: str, reader: can_read_audit_log) -> dict[str, Any]:
        """The organization's audit log (``audit_logs:read``): owners and auditors only."""
        return {"organization_id": organization_id, "read_by": reader.member_id, "entries": []}

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(FRONTEND / "index.html", media_type="text/html")

    @app.get("/app.js", include_in_schema=False)
    async def bundle() -> FileResponse:
        return FileResponse(BUNDLE, media_type="text/javascript")

    @app.get("/config.json", include_in_schema=False)
    async def config() -> JSONResponse:
        return JSONResponse(
            {
                "public_token": emulator.public_token,
                "stytch_url": stytch_url,
                "organization_id": organization_id,
                "people": [
                    {"email_address": p.email_address, "roles": list(p.roles)} for p in people
                ],
            }
        )

    @app.get("/dev/outbox", include_in_schema=False)
    async def outbox() -> JSONResponse:
        """The emulator's emails (kind, address, link): a local stand-in for an inbox."""
        return JSONResponse(
            [
                {"kind": m["kind"], "email_address": m["email_address"], "url": m.get("url")}
                for m in emulator.outbox
                if m.get("magic_links_token")
            ]
        )

    return app
