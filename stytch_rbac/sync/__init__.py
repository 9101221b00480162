"""Sync code: the blocking :class:`StytchRBAC`, for scripts, admin tools, Flask and Django.

.. code-block:: python

    from stytch_rbac.sync import StytchRBAC

    with StytchRBAC.from_env() as rbac:
        principal = rbac.authenticate(session_jwt=jwt)
        if rbac.is_authorized(principal, P.documents.edit):
            ...
        rbac.as_member(principal).organizations.members.delete(
            organization_id=principal.organization_id, member_id=member_id
        )

The same engine as :class:`stytch_rbac.StytchRBAC` (it is one, running on a
private event loop in a daemon thread), the same methods, arguments, errors and
guarantees; a warm cache answers in the calling thread. See
``docs/guides/sync.md``.
"""

from __future__ import annotations

from ._facade import StytchRBAC
from ._member import MemberClient, MemberNamespace

__all__ = ["MemberClient", "MemberNamespace", "StytchRBAC"]
