"""Member-session enforcement on Stytch's built-in endpoints (reference 2.9, 4.10-4.12, 5).

When a request to one of the 40 member-session-capable endpoints carries
``X-Stytch-Member-Session`` and/or ``X-Stytch-Member-SessionJWT``, the session
must be live, belong to the target organization, and hold the permission that
:mod:`stytch_rbac.policy.builtin_calls` (the single table of what each call needs) demands,
by Stytch's rule (``*`` grants every action of a resource, listed or not). Where
Stytch documents no permission the table's choice is enforced (its
``documented=False`` needs). The emulator knows the real target member (the
owner of a password, of a session, of an email address), so the ``stytch.self``
alternative is decided exactly. Without a header the call is a plain
secret-authenticated call and nothing is checked.
"""

from __future__ import annotations

from typing import Any

from ..policy.builtin_calls import BUILTIN_METHODS, check, requirement
from ._errors import EmulatorError
from ._members import password_owner
from ._messages import reset_target
from ._routing import Req, Route
from ._sessions import resolve_session
from ._state import MemberRec, OrgRec, SessionRec, State
from ._wire import session_role_ids

__all__ = ["enforce"]

JSON = dict[str, Any]


def _header_session(state: State, req: Req) -> SessionRec:
    """The session the headers name; both headers must name the same session."""
    sessions = []
    if req.session_token is not None:
        sessions.append(resolve_session(state, session_token=req.session_token))
    if req.session_jwt is not None:
        sessions.append(resolve_session(state, session_jwt=req.session_jwt))
    if len({s.member_session_id for s in sessions}) != 1:
        raise EmulatorError(
            400,
            "too_many_session_arguments",
            "X-Stytch-Member-Session and X-Stytch-Member-SessionJWT name different sessions.",
        )
    return sessions[0]


def _org_id(state: State, ref: Any) -> str | None:
    """The id of the organization ``ref`` names (id, slug or external id), else ``ref``."""
    if not isinstance(ref, str):
        return None
    try:
        return state.org(ref).organization_id
    except EmulatorError:
        return ref


def _member(state: State, org_ref: str | None, ref: Any) -> MemberRec | None:
    if not isinstance(ref, str):
        return None
    org: OrgRec | None = state.orgs.get(org_ref or "")
    if org is None:
        return state.members.get(ref)
    try:
        return state.member(org, ref)
    except EmulatorError:
        return None


def _resolved(state: State, route: Route, req: Req, session_org: str) -> tuple[JSON, str | None]:
    """The call's parameters with ids resolved, and the member it acts on.

    ``session_org`` is the caller's organization: ``require_reset`` by email alone
    acts on the member with that address there.
    """
    params: JSON = dict(req.params.items())
    org_id = _org_id(state, params.get("organization_id"))
    target: MemberRec | None = None
    raw_target = params.get("member_id")
    name = route.name
    if name == "organizations.members.delete_password":
        org = state.orgs.get(org_id or "")
        if org is not None:
            try:
                target = password_owner(state, org, req.path["member_password_id"])
            except EmulatorError:
                target = None
    elif name == "sessions.revoke":
        target = _revoke_target(state, req)
        if target is not None:
            org_id = target.organization_id
    elif name == "passwords.email.require_reset":
        try:
            found = reset_target(state, req.params, session_org)
        except EmulatorError:
            found = None
        if found is not None:
            org_id, target = found[0].organization_id, found[1]
        elif org_id is None:
            target = _member(state, None, raw_target)
            org_id = target.organization_id if target is not None else None
    else:
        target = _member(state, org_id, raw_target)
    if org_id is not None:
        params["organization_id"] = org_id
    if name == "organizations.members.search":
        refs = params.get("organization_ids")
        if isinstance(refs, list):
            params["organization_ids"] = [_org_id(state, r) for r in refs]
    if target is not None:
        return params, target.member_id
    return params, raw_target if isinstance(raw_target, str) else None


def _revoke_target(state: State, req: Req) -> MemberRec | None:
    p = req.params
    try:
        if p.opt_str("member_id") is not None:
            return state.members.get(p.required("member_id"))
        session_id = p.opt_str("member_session_id")
        if session_id is not None:
            session = state.live_session(state.sessions.get(session_id))
        else:
            session = resolve_session(
                state,
                session_token=p.opt_str("session_token"),
                session_jwt=p.opt_str("session_jwt"),
            )
    except EmulatorError:
        return None
    return None if session is None else state.members.get(session.member_id)


def enforce(state: State, route: Route, req: Req) -> None:
    """Raise the error Stytch answers when the member session may not make this call."""
    if not req.has_session_header or route.name not in BUILTIN_METHODS:
        return
    with state.lock:
        session = _header_session(state, req)
        org = state.orgs[session.organization_id]
        member = state.members[session.member_id]
        params, target = _resolved(state, route, req, session.organization_id)
        refusal = check(
            requirement(route.name, params),
            policy=state.policy_for(org),
            roles=frozenset(session_role_ids(org, member)),
            member_id=session.member_id,
            organization_id=session.organization_id,
            target_member_id=target,
        )
    if refusal is not None:
        raise EmulatorError(refusal.status_code, refusal.error_type, refusal.message)
