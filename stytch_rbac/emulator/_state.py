"""The emulator's data: organizations, members, sessions, connections, policy and keys.

Everything lives in plain dicts guarded by one re-entrant lock: the ASGI app runs
in uvicorn's thread while tests seed from theirs. Wire-shaped fields are kept as
JSON-ready dicts so responses and snapshots are cheap to produce.
"""

from __future__ import annotations

import base64
import itertools
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..errors import PolicyError
from ..policy import CompiledPolicy, OrgPolicy, Policy
from ._defaults import compile_policy
from ._errors import EmulatorError, not_found
from ._time import ManualClock, ShiftedClock
from ._tokens import KeyRing

__all__ = ["MemberRec", "OrgRec", "SessionRec", "State"]

JSON = dict[str, Any]


@dataclass(slots=True)
class OrgRec:
    """One organization: its wire fields, custom roles and creation order."""

    organization_id: str
    data: JSON
    seq: int
    org_policy: OrgPolicy = field(default_factory=OrgPolicy)
    compiled: CompiledPolicy | None = None


@dataclass(slots=True)
class MemberRec:
    """One member: wire fields (without ``roles``/``is_admin``) and explicit role ids."""

    member_id: str
    organization_id: str
    data: JSON
    seq: int
    explicit_roles: list[str] = field(default_factory=list)
    email_id: str = ""


@dataclass(slots=True)
class SessionRec:
    """One live member session (revoked or expired sessions are removed)."""

    member_session_id: str
    member_id: str
    organization_id: str
    session_token: str
    started_at: float
    last_accessed_at: float
    expires_at: float
    custom_claims: JSON = field(default_factory=dict)
    factors: list[JSON] = field(default_factory=list)


_B2B_APP_FIELDS: tuple[str, ...] = (
    "connected_app_id",
    "name",
    "description",
    "client_type",
    "logo_url",
)


def default_project_domain(project_id: str) -> str:
    """A Stytch-shaped project domain derived from the project id (stable across restarts):
    ``project-test-1234abcd...`` -> ``1234abcd....customers.stytch.dev``."""
    live = project_id.startswith("project-live-")
    tail = project_id.removeprefix("project-live-").removeprefix("project-test-")
    label = "".join(c for c in tail.lower() if c.isalnum() or c == "-").strip("-")[:63]
    return f"{label or 'project'}.customers.stytch.{'com' if live else 'dev'}"


def encode_cursor(seq: int) -> str:
    """An opaque pagination cursor pointing after the record numbered ``seq``."""
    return base64.urlsafe_b64encode(f"seq:{seq}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The ``seq`` inside an :func:`encode_cursor` cursor (400 ``user_search_invalid_cursor``)."""
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
        if text.startswith("seq:"):
            return int(text[4:])
    except (ValueError, UnicodeDecodeError):
        pass
    raise EmulatorError(
        400, "user_search_invalid_cursor", "the cursor is not one this server returned"
    )


class State:
    """All emulator data plus the policy, the signing keys and the request counter."""

    def __init__(
        self,
        *,
        project_id: str,
        secret: str,
        policy: Policy,
        clock: ManualClock | ShiftedClock,
        fresh_keys: bool = False,
        project_domain: str | None = None,
    ) -> None:
        self.project_id = project_id
        #: The host Connected-App tokens name as issuer (``https://{project_domain}``).
        self.project_domain = project_domain or default_project_domain(project_id)
        self.secret = secret
        self.clock = clock
        self.lock = threading.RLock()
        self.keys = KeyRing(clock, fresh=fresh_keys)
        self.policy = policy
        self.compiled = compile_policy(policy)
        self.orgs: dict[str, OrgRec] = {}
        self.members: dict[str, MemberRec] = {}
        self.sessions: dict[str, SessionRec] = {}
        self.session_tokens: dict[str, str] = {}
        self.outbox: list[JSON] = []
        self.scim_groups: dict[str, list[JSON]] = {}
        self.sso: dict[str, JSON] = {}
        self.scim: dict[str, JSON] = {}
        self.connected_apps: dict[str, JSON] = {}
        # organization id -> member id -> connected app id -> granted scopes
        self.connected_grants: dict[str, dict[str, dict[str, list[str]]]] = {}
        # client id -> stored M2M client (secrets as hashes only; see _m2m.py)
        self.m2m_clients: dict[str, JSON] = {}
        # jti -> {"member_id", "client_id", "exp", "revoked"} of each minted agent token
        self.agent_tokens: dict[str, JSON] = {}
        self.requests: Counter[str] = Counter()
        self._seq = itertools.count(1)
        self.version = 0

    def now(self) -> float:
        """The emulator clock's time."""
        return self.clock.time()

    def next_seq(self) -> int:
        """A strictly increasing number used for ordering and cursors."""
        return next(self._seq)

    def reset_seq(self, start: int) -> None:
        """Continue numbering records from ``start`` (after loading a snapshot)."""
        self._seq = itertools.count(start)

    def changed(self) -> None:
        """Note a mutation (the snapshot writer saves when the version moves)."""
        self.version += 1

    # -- policy ---------------------------------------------------------------------

    def set_policy(self, policy: Policy) -> None:
        """Replace the project policy; org roles that no longer fit it stop granting."""
        compiled = compile_policy(policy)
        with self.lock:
            self.policy = policy
            self.compiled = compiled
            for org in self.orgs.values():
                org.compiled = None
            self.changed()

    def policy_for(self, org: OrgRec) -> CompiledPolicy:
        """The project policy merged with ``org``'s custom roles (cached per org)."""
        compiled = org.compiled
        if compiled is None:
            try:
                compiled = self.compiled.with_org(org.org_policy)
            except PolicyError:
                compiled = self.compiled  # roles invalid under the new policy grant nothing
            org.compiled = compiled
        return compiled

    def role_ids(self, org: OrgRec) -> set[str]:
        """Every role id assignable in ``org``: project roles and the org's custom roles."""
        return set(self.compiled.role_ids) | {r.role_id for r in org.org_policy.roles}

    # -- look-ups (an id, or a slug / external id where Stytch accepts one) ---------

    def org(self, ref: str) -> OrgRec:
        """The organization with this id, slug or external id; 404 otherwise."""
        org = self.orgs.get(ref)
        if org is not None:
            return org
        for candidate in self.orgs.values():
            data = candidate.data
            if ref in (data["organization_slug"], data.get("organization_external_id")):
                return candidate
        raise not_found("organization_not_found", "Organization could not be found.")

    def member(self, org: OrgRec, ref: str, *, include_deleted: bool = True) -> MemberRec:
        """The member of ``org`` with this id or external id; 404 otherwise."""
        member = self.members.get(ref)
        if member is None:
            member = next(
                (
                    m
                    for m in self.members.values()
                    if m.organization_id == org.organization_id and m.data.get("external_id") == ref
                ),
                None,
            )
        if member is None or member.organization_id != org.organization_id:
            raise not_found("member_not_found", "Member could not be found.")
        if not include_deleted and member.data["status"] == "deleted":
            raise not_found("member_not_found", "Member could not be found.")
        return member

    def member_by_email(self, org: OrgRec, email: str) -> MemberRec | None:
        """The member of ``org`` with this email address (case-insensitive), if any."""
        wanted = email.lower()
        for m in self.members.values():
            if m.organization_id == org.organization_id and m.data["email_address"] == wanted:
                return m
        return None

    def grants_of_org(self, org: OrgRec) -> list[dict[str, list[str]]]:
        """Each member's connected-app grants in ``org``."""
        return list(self.connected_grants.get(org.organization_id, {}).values())

    def app_json(self, app_id: str) -> JSON:
        """A connected app's B2B wire fields (the organization and member routes' shape)."""
        app = self.connected_apps[app_id]
        return {key: app.get(key) for key in _B2B_APP_FIELDS}

    @property
    def access_token_issuer(self) -> str:
        """The ``iss`` of Connected-App access tokens: ``https://{project_domain}``."""
        return f"https://{self.project_domain}"

    def revoke_agent_tokens(self, member_id: str, client_id: str) -> None:
        """Make every access token ``client_id`` holds for ``member_id`` inactive."""
        for token in self.agent_tokens.values():
            if token["member_id"] == member_id and token["client_id"] == client_id:
                token["revoked"] = True
        self.changed()

    def live_session(self, session: SessionRec | None) -> SessionRec | None:
        """``session`` if it has not expired; an expired one is dropped."""
        if session is None:
            return None
        if session.expires_at <= self.now():
            self.drop_session(session)
            return None
        return session

    def drop_session(self, session: SessionRec) -> None:
        """Forget a session (revocation or expiry)."""
        self.sessions.pop(session.member_session_id, None)
        self.session_tokens.pop(session.session_token, None)
        self.changed()
