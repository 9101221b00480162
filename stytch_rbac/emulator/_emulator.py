"""``Emulator``: the Python API over the emulator's state, app and server."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.routing import Route as StarletteRoute

from ..clock import Clock
from ..policy import OrgPolicy, Policy
from ..serving import ThreadServer
from . import (
    _connected_apps,
    _m2m,
    _members,
    _messages,
    _oauth,
    _orgs,
    _rbac,
    _scim,
    _sessions,
    _sso,
)
from ._admin import admin_routes
from ._app import build_app
from ._body import DEFAULT_MAX_REQUEST_BYTES
from ._defaults import default_policy
from ._enforce import enforce
from ._errors import bad_request, not_found
from ._faults import Faults
from ._fields import (
    MEMBER_CREATE_FIELDS,
    MEMBER_SEED_FIELDS,
    ORGANIZATION_CREATE_FIELDS,
    check_fields,
    check_member_seed_fields,
)
from ._management import ROUTE_NAMES as MANAGEMENT_ROUTE_NAMES
from ._management import Workspace, management_routes
from ._params import Params
from ._public_tokens import PublicTokens
from ._records import (
    ConnectedAppRecord,
    M2MClientRecord,
    MemberRecord,
    OrganizationRecord,
    SessionRecord,
)
from ._routing import Route
from ._sdk_api import SdkApi
from ._sdk_routes import PREFIX as SDK_PREFIX
from ._seed import apply_seed
from ._snapshot import dump, load, read, remove_orphans, write_atomic
from ._state import MemberRec, OrgRec, SessionRec, State
from ._time import ManualClock, ShiftedClock, check_advance, movable_clock
from ._wire import member_json, org_json, session_role_ids

__all__ = ["Emulator"]

PolicySource = str | Path | Mapping[str, Any] | Policy | None
SDK_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]

ROUTES: list[Route] = [
    *_rbac.ROUTES,
    *_sessions.ROUTES,
    *_orgs.ROUTES,
    *_members.ROUTES,
    *_messages.ROUTES,
    *_sso.ROUTES,
    *_scim.ROUTES,
    *_m2m.ROUTES,
    *_connected_apps.ROUTES,
    *_oauth.ROUTES,
]


def _load_policy(policy: PolicySource) -> Policy:
    if policy is None:
        return default_policy()
    if isinstance(policy, Policy):
        return policy
    if isinstance(policy, (str, Path)):
        return Policy.from_file(policy)
    return Policy.parse(policy)


class Emulator:
    """A local, offline Stytch B2B API: state, an ASGI app, and a way to serve it.

    ``policy`` is a file path, a decoded JSON object or a :class:`Policy`; ``None``
    gives Stytch's default resources with ``stytch_member`` and ``stytch_admin``.
    ``clock`` (default: the system clock) is the time every expiry is measured
    against; :meth:`advance_time` moves it. Seeding methods may be called from
    any thread while the app serves requests. A request body over
    ``max_request_bytes`` (default 1 MiB) is refused with a 413 while it is read.

    The app also serves the Management API's projects, environments and RBAC
    policy (``/pwa/v3/...``, for ``stytch-rbac pull / plan / push``), authenticated
    with ``workspace_key_id`` / ``workspace_key_secret`` (generated unless given),
    never the project secret: one project, ``project_slug``, with one environment,
    :attr:`environment_slug`, whose runtime project id is :attr:`project_id`.

    The same app serves Stytch's
    frontend SDK under ``/sdk/v1``: ``public_token`` (default: derived from the
    project id) and ``allowed_origins`` (default: any port of ``localhost`` and
    ``127.0.0.1``) configure it (docs/guides/fullstack.md).

    Signing keys are shared by the emulators of a process (each under a ``kid`` of
    its own, and :meth:`rotate_keys` always switches to a key this emulator never
    held), because generating an RSA key costs more than everything else together;
    ``fresh_keys=True`` generates keys of this emulator's own instead.
    """

    def __init__(
        self,
        policy: PolicySource = None,
        *,
        project_id: str | None = None,
        secret: str | None = None,
        clock: Clock | None = None,
        workspace_key_id: str | None = None,
        workspace_key_secret: str | None = None,
        project_slug: str = "emulator",
        public_token: str | None = None,
        allowed_origins: Iterable[str] | None = None,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        fresh_keys: bool = False,
        project_domain: str | None = None,
    ) -> None:
        limit: object = max_request_bytes  # checked at run time: callers may not be typed
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(
                f"max_request_bytes must be a positive number of bytes, got {max_request_bytes!r}"
            )
        self.project_id: str = project_id or f"project-test-{uuid.uuid4()}"
        self.secret: str = secret or f"secret-test-{secrets.token_urlsafe(24)}"
        #: The Management API's key (``/pwa/v3/...``), not the project's credentials.
        self.workspace_key_id: str = workspace_key_id or f"workspace-key-test-{uuid.uuid4()}"
        self.workspace_key_secret: str = (
            workspace_key_secret or f"workspace-secret-test-{secrets.token_urlsafe(24)}"
        )
        #: The Management API's slugs of this emulator's one project and environment.
        self.project_slug: str = project_slug
        self.environment_slug: str = (
            "production" if self.project_id.startswith("project-live-") else "test"
        )
        self.clock: ManualClock | ShiftedClock = movable_clock(clock)
        self._state = State(
            project_id=self.project_id,
            secret=self.secret,
            policy=_load_policy(policy),
            clock=self.clock,
            fresh_keys=fresh_keys,
            project_domain=_check_domain(project_domain),
        )
        self._state_path: Path | None = None
        self._saved_version = -1
        self._public_tokens = PublicTokens(self.project_id, public_token, allowed_origins)
        sdk = SdkApi(self._state, self._public_tokens, ROUTES, enforce, self._autosave)
        self._sdk = sdk
        names = {r.name for r in ROUTES} | {r.name for r in sdk.routes if r.name != "sdk.events"}
        self.faults: Faults = Faults(self.clock, names | MANAGEMENT_ROUTE_NAMES)
        sdk.faults = self.faults
        workspace = Workspace(
            self.workspace_key_id,
            self.workspace_key_secret,
            self.project_slug,
            self.environment_slug,
        )
        self.app: Starlette = build_app(
            self._state,
            self.faults,
            [*ROUTES, *admin_routes(self)],
            enforce=enforce,
            on_change=self._autosave,
            mounts=[
                *management_routes(
                    workspace, self._state, self.faults, self._autosave, max_request_bytes
                ),
                StarletteRoute(SDK_PREFIX + "/{path:path}", sdk.handle, methods=SDK_METHODS),
            ],
            max_request_bytes=max_request_bytes,
        )

    def __repr__(self) -> str:
        return f"<Emulator project_id={self.project_id!r}>"

    # -- introspection -------------------------------------------------------------

    @property
    def project_domain(self) -> str:
        """The project's domain (a host such as ``1234.customers.stytch.dev``): Connected-App
        tokens name ``https://{project_domain}`` as issuer. Derived from the project id
        unless given."""
        return self._state.project_domain

    @property
    def access_token_issuer(self) -> str:
        """The ``iss`` of Connected-App access tokens: ``https://`` + :attr:`project_domain`."""
        return self._state.access_token_issuer

    @property
    def requests(self) -> Counter[str]:
        """Requests served so far, by endpoint name (``"rbac.policy"``, ``"sessions.jwks"``...)."""
        return self._state.requests

    @property
    def public_token(self) -> str:
        """The public token a frontend SDK is created with (``public-token-test-...``).

        Derived from the project id unless given, so it survives a restart from a
        state file or with the same ``project_id``.
        """
        return self._public_tokens.public_token

    @property
    def allowed_origins(self) -> list[str]:
        """The page origins the frontend SDK API answers (CORS with credentials).

        Default: ``http://localhost:*`` and ``http://127.0.0.1:*`` (any port).
        """
        return self._public_tokens.allowed_origins

    def set_allowed_origins(self, origins: Iterable[str]) -> None:
        """Replace the allowed page origins (``[]``: no page may call the SDK API)."""
        self._public_tokens.set_allowed_origins(origins)

    def allow_origin(self, origin: str) -> None:
        """Let pages served from ``origin`` (``http://host:port``, ``:*`` for any port) call."""
        self._public_tokens.allow_origin(origin)

    @property
    def policy(self) -> Policy:
        """The current project policy."""
        return self._state.policy

    @property
    def outbox(self) -> list[dict[str, Any]]:
        """Every email the emulator would have sent, oldest first (``kind``: ``invite``,
        ``email_update``, ``password_reset_required``)."""
        with self._state.lock:
            return [dict(m) for m in self._state.outbox]

    @property
    def invites(self) -> list[dict[str, Any]]:
        """Every ``magic_links.email.invite`` recorded (no email is sent)."""
        return [m for m in self.outbox if m["kind"] == "invite"]

    # -- records -------------------------------------------------------------------

    def _org_record(self, org: OrgRec) -> OrganizationRecord:
        data = org_json(self._state, org)
        return OrganizationRecord(
            org.organization_id, data["organization_slug"], data["organization_name"], data
        )

    def _member_record(self, org: OrgRec, member: MemberRec) -> MemberRecord:
        data = member_json(org, member)
        roles = tuple(r["role_id"] for r in data["roles"])
        return MemberRecord(
            member.member_id, member.organization_id, data["email_address"], roles, data
        )

    def _session_record(self, session: SessionRec) -> SessionRecord:
        state = self._state
        with state.lock:
            org = state.orgs[session.organization_id]
            roles = tuple(session_role_ids(org, state.members[session.member_id]))
            jwt = _sessions.mint_jwt(state, session)
        return SessionRecord(
            session.member_session_id,
            session.member_id,
            session.organization_id,
            session.expires_at,
            roles,
            session.session_token,
            jwt,
        )

    def _member(self, member_id: str) -> MemberRec:
        member = self._state.members.get(member_id)
        if member is None:
            raise not_found("member_not_found", "Member could not be found.")
        return member

    # -- seeding -------------------------------------------------------------------

    def create_organization(
        self, name: str, slug: str | None = None, **fields: Any
    ) -> OrganizationRecord:
        """Create an organization; ``fields`` are any ``organizations.create`` parameters
        (plus a fixed ``organization_id``). Any other field is an ``invalid_argument`` error."""
        return self._create_organization(
            {**fields, "organization_name": name, "organization_slug": slug}
        )

    def _create_organization(self, fields: Mapping[str, Any]) -> OrganizationRecord:
        """Seeding from a field mapping: the Python API, ``/_emulator/organizations``, seeds."""
        check_fields(fields, ORGANIZATION_CREATE_FIELDS, "an organization")
        params = dict(fields)
        fixed_id = params.pop("organization_id", None)
        if fixed_id is not None and not isinstance(fixed_id, str):
            raise bad_request("organization_id must be a string.")
        with self._state.lock:
            org = _orgs.create_org(self._state, Params(params), organization_id=fixed_id)
            record = self._org_record(org)
        self._autosave()
        return record

    def organizations(self) -> list[OrganizationRecord]:
        """Every organization, in creation order."""
        with self._state.lock:
            ordered = sorted(self._state.orgs.values(), key=lambda o: o.seq)
            return [self._org_record(o) for o in ordered]

    def get_organization(self, organization_id: str) -> OrganizationRecord:
        """The organization with this id, slug or external id."""
        with self._state.lock:
            return self._org_record(self._state.org(organization_id))

    def create_member(
        self,
        organization_id: str,
        email_address: str,
        roles: Iterable[str] = (),
        name: str = "",
        **fields: Any,
    ) -> MemberRecord:
        """Create an active member with explicit ``roles`` (``stytch_member`` is implicit).

        ``fields`` are ``organizations.members.create`` parameters, plus seed-only
        ``member_id``, ``email_address_verified``, ``mfa_phone_number_verified``,
        ``status`` and ``member_password_id`` / ``totp_registration_id`` (``True``
        generates an id). Any other field is an ``invalid_argument`` error.
        """
        return self._create_member(
            {
                **fields,
                "organization_id": organization_id,
                "email_address": email_address,
                "name": name,
                "roles": list(roles),
            }
        )

    def _create_member(self, fields: Mapping[str, Any]) -> MemberRecord:
        """Seeding from a field mapping: the Python API, ``/_emulator/members``, seeds."""
        check_fields(fields, MEMBER_CREATE_FIELDS, "a member")
        check_member_seed_fields(fields)
        organization_id = Params(dict(fields)).required("organization_id")
        fixed_id = fields.get("member_id")
        seed_only = {
            k: v
            for k, v in fields.items()
            if k in MEMBER_SEED_FIELDS and k != "member_id" and v is not None
        }
        params = {
            k: v
            for k, v in fields.items()
            if k not in MEMBER_SEED_FIELDS and k != "organization_id"
        }
        state = self._state
        with state.lock:
            org = state.org(organization_id)
            member = _members.create_member(state, org, Params(params), member_id=fixed_id)
            for key, value in seed_only.items():
                if key in ("member_password_id", "totp_registration_id") and value is True:
                    value = _new_secondary_id(key)
                member.data[key] = value
            record = self._member_record(org, member)
        self._autosave()
        return record

    def set_password(self, member_id: str, password: str) -> str:
        """Give a member a password for the frontend SDK's ``passwords.authenticate``.

        Kept as a salted hash in memory only (not in state snapshots); sets and
        returns the member's ``member_password_id``. ``ValueError`` under 8 characters.
        """
        with self._state.lock:
            password_id = self._sdk.passwords.set(self._state, self._member(member_id), password)
        self._autosave()
        return password_id

    def get_member(self, member_id: str) -> MemberRecord:
        """The member with this id (deleted members included)."""
        with self._state.lock:
            member = self._member(member_id)
            return self._member_record(self._state.orgs[member.organization_id], member)

    def members(self) -> list[MemberRecord]:
        """Every member, in creation order (deleted ones included)."""
        with self._state.lock:
            ordered = sorted(self._state.members.values(), key=lambda m: m.seq)
            return [self._member_record(self._state.orgs[m.organization_id], m) for m in ordered]

    def create_session(
        self,
        member_id: str,
        duration_minutes: int = 60,
        custom_claims: Mapping[str, Any] | None = None,
    ) -> SessionRecord:
        """Log ``member_id`` in (as a magic link would) and return the session's token and JWT."""
        with self._state.lock:
            session = _sessions.create_session(
                self._state,
                self._member(member_id),
                duration_minutes=duration_minutes,
                custom_claims=dict(custom_claims or {}),
            )
            record = self._session_record(session)
        self._autosave()
        return record

    def session_jwt(self, member_session_id: str) -> str:
        """A freshly minted JWT for a live session."""
        with self._state.lock:
            session = self._state.live_session(self._state.sessions.get(member_session_id))
            if session is None:
                raise not_found("session_not_found", "Session could not be found.")
            return _sessions.mint_jwt(self._state, session)

    def revoke_session(
        self,
        member_session_id: str | None = None,
        *,
        session_token: str | None = None,
        session_jwt: str | None = None,
        member_id: str | None = None,
    ) -> None:
        """Revoke one session (by id, token or JWT) or every session of ``member_id``."""
        params = {
            "member_session_id": member_session_id,
            "session_token": session_token,
            "session_jwt": session_jwt,
            "member_id": member_id,
        }
        with self._state.lock:
            _, sessions, _ = _sessions.revoke_targets(self._state, Params(params))
            _sessions.revoke_sessions(self._state, sessions)
        self._autosave()

    def create_connected_app(
        self,
        name: str,
        *,
        description: str = "",
        client_type: str = "third_party",
        logo_url: str | None = None,
        **fields: Any,
    ) -> ConnectedAppRecord:
        """Register a Connected App (as ``connected_apps.clients.create`` would).

        ``client_type`` is ``first_party``, ``first_party_public``, ``third_party`` or
        ``third_party_public``; ``fields`` are other ``ConnectedApp`` client fields
        (``redirect_urls``, ``access_token_expiry_minutes``...). The record's
        ``client_id`` is the id the organization and member routes use.
        """
        params = Params(
            {
                **fields,
                "client_name": name,
                "client_description": description,
                "logo_url": logo_url,
            }
        )
        unknown = set(fields) - set(_connected_apps.CLIENT_FIELDS)
        if unknown:
            raise bad_request(f"Unknown Connected App fields: {', '.join(sorted(unknown))}.")
        wire = _connected_apps.create_app(
            self._state, client_type, _connected_apps.client_fields(params)
        )
        self._autosave()
        return _app_record(wire)

    def grant_connected_app(
        self,
        member_id: str,
        connected_app_id: str | ConnectedAppRecord,
        scopes: Iterable[str] = (),
    ) -> None:
        """Record that ``member_id`` authorized ``connected_app_id`` with ``scopes`` (as they
        are: use :meth:`mint_connected_app_token` for a consent that checks them)."""
        app_id = _app_id(connected_app_id)
        state = self._state
        with state.lock:
            member = self._member(member_id)
            if app_id not in state.connected_apps:
                raise not_found("connected_app_not_found", "Connected app could not be found.")
            grants = state.connected_grants.setdefault(member.organization_id, {})
            grants.setdefault(member_id, {})[app_id] = list(scopes)
            state.changed()
        self._autosave()

    def mint_connected_app_token(
        self,
        member_id: str,
        client_id: str | ConnectedAppRecord,
        scopes: Iterable[str],
        *,
        expires_in: int = 3600,
        issuer: str | None = None,
    ) -> str:
        """A Connected-App access token ``client_id`` holds for ``member_id``, as if the member
        consented to ``scopes`` (the grant is recorded: ``connected_apps.revoke`` ends it).

        Refuses (``EmulatorError`` 400 ``oauth_invalid_scope_requested``, naming them) the
        custom scopes the member's roles do not cover: a policy scope is covered iff the
        member's roles, the organization's custom roles included, grant every permission
        it lists. OIDC scopes (``openid``, ``email``, ``profile``, ``phone``,
        ``offline_access``) are always allowed. ``issuer`` defaults to
        :attr:`access_token_issuer`; ``expires_in`` is in seconds (at most a day).
        """
        token = _connected_apps.mint_agent_token(
            self._state,
            member_id,
            _app_id(client_id),
            list(scopes),
            expires_in=expires_in,
            issuer=issuer,
        )
        self._autosave()
        return token

    def revoke_connected_app(self, member_id: str, client_id: str | ConnectedAppRecord) -> None:
        """End ``member_id``'s grant to a Connected App (``members.connected_apps.revoke``):
        its access tokens are inactive at introspection from now on."""
        app_id = _app_id(client_id)
        state = self._state
        with state.lock:
            member = self._member(member_id)
            grants = state.connected_grants.get(member.organization_id, {}).get(member_id, {})
            if grants.pop(app_id, None) is None:
                raise not_found("connected_app_not_found", "Connected app could not be found.")
            state.revoke_agent_tokens(member_id, app_id)
        self._autosave()

    def create_m2m_client(
        self,
        client_name: str = "",
        scopes: Iterable[str] = (),
        custom_claims: Mapping[str, Any] | None = None,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        client_description: str = "",
        trusted_metadata: Mapping[str, Any] | None = None,
    ) -> M2MClientRecord:
        """Create an active M2M client (as ``m2m.clients.create`` would); the record holds
        its secret, which no later call shows.

        ``custom_claims`` are put at the top level of every access token minted for it
        (Stytch's custom-claims template); the registered claims, ``scope``,
        ``client_id`` and Stytch's session and organization claims are refused.
        """
        claims = dict(custom_claims or {})
        reserved = sorted(set(claims) & _oauth.RESERVED_CLAIMS)
        if reserved:
            raise bad_request(f"custom_claims may not set {', '.join(reserved)}.")
        with self._state.lock:
            wire = _m2m.create_client(
                self._state,
                scopes=list(scopes),
                client_id=client_id,
                client_secret=client_secret,
                client_name=client_name,
                client_description=client_description,
                trusted_metadata=trusted_metadata,
            )
            self._state.m2m_clients[wire["client_id"]]["custom_claims"] = claims
        self._autosave()
        return M2MClientRecord(
            wire["client_id"],
            wire["client_name"],
            tuple(wire["scopes"]),
            claims,
            wire["client_secret"],
            {k: v for k, v in wire.items() if k != "client_secret"},
        )

    def m2m_token(self, client_id: str, scopes: Iterable[str] | None = None) -> str:
        """An M2M access token for an active client, as the client-credentials endpoint
        mints it (all of the client's scopes unless ``scopes``, which must be among them;
        ``EmulatorError`` 401 ``invalid_client`` / 400 ``invalid_scope`` otherwise)."""
        return _oauth.mint_m2m(self._state, client_id, None if scopes is None else list(scopes))

    def introspect(self, token: str) -> dict[str, Any]:
        """What ``oauth2/introspect`` answers for ``token``: ``{"active": False}``, or its
        claims with ``active: True``."""
        return _oauth.introspect(self._state, token)

    def add_scim_group(
        self, organization_id: str, connection_id: str, group_name: str
    ) -> dict[str, Any]:
        """Record a group the identity provider pushed over SCIM (``get_groups`` lists it)."""
        with self._state.lock:
            org = self._state.org(organization_id)
            group = _scim.add_group(self._state, org, connection_id, group_name)
        self._autosave()
        return group

    # -- policy, keys, time --------------------------------------------------------

    def set_policy(self, policy: str | Path | Mapping[str, Any] | Policy) -> None:
        """Replace the project policy (``rbac.policy`` answers it from now on)."""
        self._state.set_policy(_load_policy(policy))
        self._autosave()

    def set_org_policy(
        self, organization_id: str, org_policy: OrgPolicy | Mapping[str, Any]
    ) -> OrgPolicy:
        """Replace an organization's custom roles (validated against the project policy)."""
        source = org_policy if isinstance(org_policy, OrgPolicy) else dict(org_policy)
        with self._state.lock:
            saved = _rbac.set_org_policy(self._state, self._state.org(organization_id), source)
        self._autosave()
        return saved

    def rotate_keys(self, grace_seconds: float = 3600.0) -> str:
        """Sign with a new key from now on; old keys stay in the JWKS for ``grace_seconds``.

        Returns the new ``kid``.
        """
        kid = self._state.keys.rotate(grace_seconds)
        self._state.changed()
        self._autosave()
        return kid

    @property
    def kid(self) -> str:
        """The ``kid`` of the key currently signing JWTs."""
        return self._state.keys.active_kid

    def advance_time(self, seconds: float) -> None:
        """Move the emulator's clock forward: sessions, JWTs and timed faults expire.

        ``seconds`` must be a finite number >= 0 that keeps the clock before the
        year 10000 (``ValueError`` otherwise). The move is saved with the state.
        """
        check_advance(self.clock.time(), seconds)
        self.clock.advance(seconds)
        self._state.changed()
        self._autosave()

    # -- seed files and state snapshots -------------------------------------------

    def load_seed(
        self, source: str | Path | Mapping[str, Any]
    ) -> list[tuple[OrganizationRecord, list[MemberRecord]]]:
        """Create the organizations and members of a seed file (see ``examples/seed.json``).

        Raises ``SeedError`` (a ``ValueError``) naming the entry that cannot be created.
        """
        return apply_seed(self, source)

    def save_state(self, path: str | Path) -> None:
        """Write every record, key and setting, and how far the clock was advanced, to
        ``path`` atomically (a temporary file beside it, then a rename)."""
        with self._state.lock:
            write_atomic(path, dump(self._state))
            self._saved_version = self._state.version

    def load_state(self, path: str | Path) -> None:
        """Replace this emulator's content with a snapshot written by :meth:`save_state`.

        The project id and secret stay this emulator's; use :meth:`from_state` to
        take them from the file as well.
        """
        load(self._state, read(path))

    @classmethod
    def from_state(
        cls,
        path: str | Path,
        *,
        clock: Clock | None = None,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> Emulator:
        """An emulator restored from a snapshot, with the snapshot's project id, secret,
        keys and clock offset."""
        data = read(path)
        emu = cls(
            data["policy"],
            project_id=data["project_id"],
            secret=data["secret"],
            clock=clock,
            project_domain=data.get("project_domain"),
            max_request_bytes=max_request_bytes,
        )
        load(emu._state, data)
        return emu

    def persist_to(self, path: str | Path | None) -> None:
        """Save the state to ``path`` after every change from now on (``None`` stops it).

        Over HTTP the file is written before the response is sent, so a change
        the client saw acknowledged survives a crash. Temporary files a killed
        writer left beside ``path`` (its process gone) are removed first.
        """
        self._state_path = None if path is None else Path(path)
        if self._state_path is not None:
            remove_orphans(self._state_path)
        self._saved_version = -1
        self._autosave()

    def _autosave(self) -> None:
        path = self._state_path
        if path is None:
            return
        with self._state.lock:
            if self._state.version != self._saved_version:
                self.save_state(path)

    # -- serving -------------------------------------------------------------------

    @contextlib.contextmanager
    def serve_in_thread(self, *, port: int = 0, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve over real HTTP from a background thread; yields the base URL (sync form)."""
        server = ThreadServer(self.app, host=host, port=port)
        server.start()
        try:
            yield server.base_url
        finally:
            self.faults.release_hangs()
            server.stop()

    @contextlib.asynccontextmanager
    async def serve(self, *, port: int = 0, host: str = "127.0.0.1") -> AsyncIterator[str]:
        """Serve over real HTTP (uvicorn in its own thread); yields the base URL.

        Works under asyncio and trio: the server has its own loop and thread.
        """
        server = ThreadServer(self.app, host=host, port=port)
        await anyio.to_thread.run_sync(server.start)
        try:
            yield server.base_url
        finally:
            self.faults.release_hangs()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(server.stop)


def _check_domain(domain: str | None) -> str | None:
    """A project domain is a bare host: ``https://`` and a trailing ``/`` are dropped."""
    if domain is None:
        return None
    if not isinstance(domain, str):
        raise TypeError(f"project_domain must be a host name, got {domain!r}")
    host = domain.removeprefix("https://").rstrip("/")
    if not host or any(c.isspace() or c in "/?#@" for c in host) or "://" in host:
        raise ValueError(
            f"project_domain must be a host such as acme.customers.stytch.dev, got {domain!r}"
        )
    return host


def _app_id(app: str | ConnectedAppRecord) -> str:
    return app.client_id if isinstance(app, ConnectedAppRecord) else app


def _app_record(wire: Mapping[str, Any]) -> ConnectedAppRecord:
    return ConnectedAppRecord(
        wire["client_id"],
        wire["client_name"],
        wire["client_type"],
        wire.get("client_secret"),
        {k: v for k, v in wire.items() if k != "client_secret"},
    )


def _new_secondary_id(key: str) -> str:
    return f"{'member-password' if key == 'member_password_id' else 'totp'}-test-{uuid.uuid4()}"
