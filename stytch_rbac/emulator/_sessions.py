"""Sessions: creation, JWT minting, authenticate (with ``authorization_check``), get, revoke."""

from __future__ import annotations

import json
from typing import Any

from ..auth.claims import NON_CUSTOM_CLAIMS, ORGANIZATION_CLAIM, SESSION_CLAIM
from ._errors import EmulatorError, bad_request, not_found
from ._params import Params
from ._routing import Req, Route
from ._state import MemberRec, SessionRec, State
from ._time import rfc3339
from ._tokens import JWT_LIFETIME, new_id, new_token
from ._wire import member_json, org_json, session_json, session_role_ids

__all__ = [
    "ROUTES",
    "create_session",
    "decide",
    "mint_jwt",
    "resolve_session",
    "revoke_sessions",
]

JSON = dict[str, Any]

MIN_MINUTES, MAX_MINUTES = 5, 527040


def _session_not_found() -> EmulatorError:
    return not_found("session_not_found", "Session could not be found.")


def check_minutes(minutes: int) -> int:
    """``minutes`` if within Stytch's 5..527040, else 400 ``invalid_session_duration_minutes``."""
    if not MIN_MINUTES <= minutes <= MAX_MINUTES:
        raise bad_request(
            f"session_duration_minutes must be between {MIN_MINUTES} and {MAX_MINUTES}.",
            "invalid_session_duration_minutes",
        )
    return minutes


def merge_claims(current: JSON, update: JSON) -> JSON:
    """Stytch's custom-claims merge: ``null`` deletes, reserved names are ignored, 4 KB max."""
    merged = dict(current)
    for key, value in update.items():
        if key in NON_CUSTOM_CLAIMS:
            continue
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(json.dumps(merged)) > 4096:
        raise bad_request("session_custom_claims may not exceed 4 KB.", "custom_claims_too_large")
    return merged


def create_session(
    state: State,
    member: MemberRec,
    *,
    duration_minutes: int = 60,
    custom_claims: JSON | None = None,
) -> SessionRec:
    """Start a session for ``member`` as a magic-link login would (email now verified)."""
    check_minutes(duration_minutes)
    with state.lock:
        if member.data["status"] == "deleted" or member.member_id not in state.members:
            raise not_found("member_not_found", "Member could not be found.")
        now = state.now()
        if member.data["status"] in ("pending", "invited"):
            member.data["status"] = "active"
        member.data["email_address_verified"] = True
        factor = {
            "type": "magic_link",
            "delivery_method": "email",
            "last_authenticated_at": rfc3339(now),
            "created_at": rfc3339(now),
            "updated_at": rfc3339(now),
            "email_factor": {
                "email_id": member.email_id,
                "email_address": member.data["email_address"],
            },
        }
        session = SessionRec(
            member_session_id=new_id("session"),
            member_id=member.member_id,
            organization_id=member.organization_id,
            session_token=new_token(),
            started_at=now,
            last_accessed_at=now,
            expires_at=now + duration_minutes * 60,
            custom_claims=merge_claims({}, custom_claims or {}),
            factors=[factor],
        )
        state.sessions[session.member_session_id] = session
        state.session_tokens[session.session_token] = session.member_session_id
        state.changed()
        return session


def mint_jwt(state: State, session: SessionRec) -> str:
    """A fresh session JWT with Stytch's claim layout (reference 3.2)."""
    with state.lock:
        org = state.orgs[session.organization_id]
        member = state.members[session.member_id]
        iat = int(state.now())
        claims: JSON = {
            k: v for k, v in session.custom_claims.items() if k not in NON_CUSTOM_CLAIMS
        }
        claims.update(
            {
                "sub": session.member_id,
                "iss": f"stytch.com/{state.project_id}",
                "aud": [state.project_id],
                "iat": iat,
                "nbf": iat,
                "exp": iat + JWT_LIFETIME,
                SESSION_CLAIM: {
                    "id": session.member_session_id,
                    "started_at": rfc3339(session.started_at),
                    "last_accessed_at": rfc3339(session.last_accessed_at),
                    "expires_at": rfc3339(session.expires_at),
                    "authentication_factors": session.factors,
                    "roles": session_role_ids(org, member),
                },
                ORGANIZATION_CLAIM: {
                    "organization_id": org.organization_id,
                    "slug": org.data["organization_slug"],
                },
            }
        )
    return state.keys.sign(claims)


def resolve_session(
    state: State, *, session_token: str | None = None, session_jwt: str | None = None
) -> SessionRec:
    """The live session a token or JWT names; 404 ``session_not_found`` when gone.

    A JWT must carry this project's signature; its ``exp`` is not checked (the
    session's own expiry is what counts).
    """
    with state.lock:
        if session_token is not None:
            session_id = state.session_tokens.get(session_token)
        elif session_jwt is not None:
            claims = state.keys.verify(session_jwt, project_id=state.project_id)
            session_id = str(claims[SESSION_CLAIM].get("id"))
        else:
            raise bad_request(
                "Either session_token or session_jwt is required.", "no_session_arguments"
            )
        session = state.live_session(state.sessions.get(session_id or ""))
        if session is None:
            raise _session_not_found()
        member = state.members.get(session.member_id)
        if member is None or member.data["status"] == "deleted":
            state.drop_session(session)
            raise _session_not_found()
        return session


def decide(state: State, session: SessionRec, resource: str, action: str) -> list[str]:
    """The session's roles granting ``action`` on ``resource`` in its org (Stytch's rule).

    The project policy merged with the org's custom roles decides, by Stytch's
    own scan (``CompiledPolicy.stytch_decide``): a role naming the action or
    ``*`` on that resource grants it, whether or not the policy lists the
    action, as the member-session enforcement of built-in calls does.
    """
    with state.lock:
        org = state.orgs[session.organization_id]
        roles = session_role_ids(org, state.members[session.member_id])
        granted = state.policy_for(org).stytch_decide(frozenset(roles), resource, action)
        return sorted(granted.granted_by)


def revoke_sessions(state: State, sessions: list[SessionRec]) -> None:
    """Revoke every session in ``sessions``."""
    with state.lock:
        for session in sessions:
            state.drop_session(session)


# -- handlers -----------------------------------------------------------------------


def _check(p: Params) -> tuple[str, str, str] | None:
    check = p.opt_dict("authorization_check")
    if check is None:
        return None
    values = tuple(check.get(k) for k in ("organization_id", "resource_id", "action"))
    if not all(isinstance(v, str) and v for v in values):
        raise bad_request(
            "authorization_check needs string organization_id, resource_id and action."
        )
    return (str(values[0]), str(values[1]), str(values[2]))


def _authenticate(state: State, req: Req) -> JSON:
    p = req.params
    token, jwt_ = p.opt_str("session_token"), p.opt_str("session_jwt")
    if token is not None and jwt_ is not None:
        raise bad_request(
            "Pass either session_token or session_jwt, not both.", "too_many_session_arguments"
        )
    minutes = p.opt_int("session_duration_minutes")
    claims = p.opt_dict("session_custom_claims")
    check = _check(p)
    with state.lock:
        session = resolve_session(state, session_token=token, session_jwt=jwt_)
        verdict: JSON | None = None
        if check is not None:
            org_id, resource, action = check
            if org_id != session.organization_id:
                raise EmulatorError(
                    403,
                    "session_authorization_tenancy_error",
                    "OrganizationID in AuthorizationCheck request does not match session's "
                    "Organization ID",
                )
            granting = decide(state, session, resource, action)
            if not granting:
                raise EmulatorError(
                    403,
                    "session_authorization_error",
                    "The Member is not authorized to perform the requested action on that "
                    "resource.",
                )
            verdict = {"authorized": True, "granting_roles": granting}
        now = state.now()
        if minutes is not None:
            session.expires_at = now + check_minutes(minutes) * 60
        if claims is not None:
            session.custom_claims = merge_claims(session.custom_claims, claims)
        session.last_accessed_at = now
        state.changed()
        org = state.orgs[session.organization_id]
        member = state.members[session.member_id]
        body: JSON = {
            "member_session": session_json(state, session),
            "session_token": session.session_token,
            "session_jwt": mint_jwt(state, session),
            "member": member_json(org, member),
            "organization": org_json(state, org),
        }
        if verdict is not None:
            body["verdict"] = verdict
        return body


def _get(state: State, req: Req) -> JSON:
    p = req.params
    with state.lock:
        org = state.org(p.required("organization_id"))
        member = state.member(org, p.required("member_id"))
        live = [
            s
            for s in list(state.sessions.values())
            if s.member_id == member.member_id and state.live_session(s) is not None
        ]
        return {"member_sessions": [session_json(state, s) for s in live]}


def revoke_targets(state: State, p: Params) -> tuple[str, list[SessionRec], MemberRec]:
    """What a revoke request selects: the selector used, the sessions, and their member."""
    selectors = p.given("member_session_id", "session_token", "session_jwt", "member_id")
    if not selectors:
        raise bad_request(
            "One of member_session_id, session_token, session_jwt or member_id is required.",
            "no_session_revoke_arguments",
        )
    if len(selectors) > 1:
        raise bad_request(
            "Pass only one of member_session_id, session_token, session_jwt or member_id.",
            "too_many_session_revoke_arguments",
        )
    selector = selectors[0]
    with state.lock:
        if selector == "member_id":
            member = state.members.get(p.required("member_id"))
            if member is None:
                raise not_found("member_not_found", "Member could not be found.")
            sessions = [s for s in state.sessions.values() if s.member_id == member.member_id]
            return selector, sessions, member
        if selector == "member_session_id":
            session = state.live_session(state.sessions.get(p.required("member_session_id")))
            if session is None:
                raise _session_not_found()
        else:
            session = resolve_session(
                state,
                session_token=p.opt_str("session_token"),
                session_jwt=p.opt_str("session_jwt"),
            )
        return selector, [session], state.members[session.member_id]


def _revoke(state: State, req: Req) -> JSON:
    with state.lock:
        _, sessions, _ = revoke_targets(state, req.params)
        revoke_sessions(state, sessions)
        return {}


def _jwks(state: State, req: Req) -> JSON:
    if req.path["project_id"] != state.project_id:
        raise not_found("project_not_found", "Project could not be found.")
    return {"keys": state.keys.jwks()}


ROUTES = [
    Route("POST", "/v1/b2b/sessions/authenticate", "sessions.authenticate", _authenticate),
    Route("GET", "/v1/b2b/sessions", "sessions.get", _get),
    Route("POST", "/v1/b2b/sessions/revoke", "sessions.revoke", _revoke),
    Route("GET", "/v1/b2b/sessions/jwks/{project_id}", "sessions.jwks", _jwks, auth=False),
]
