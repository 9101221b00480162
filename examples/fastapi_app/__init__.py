"""A small multi-tenant document service guarded by stytch-rbac.

Run it against an embedded Stytch emulator (no network, no Stytch account)::

    python -m examples.fastapi_app

or against a real Stytch project (``STYTCH_PROJECT_ID``, ``STYTCH_SECRET``)::

    uvicorn --factory examples.fastapi_app:create_app
"""

from .app import DocumentStore, create_app

__all__ = ["DocumentStore", "create_app"]
