"""Email magic links: login-or-signup emails and the one-time tokens they carry.

No email is sent. Each email is an entry of the emulator's outbox
(``Emulator.outbox``; ``GET /_emulator/outbox`` over HTTP) holding its
``magic_links_token`` and the ``url`` a member would click, so a test logs a
member in by reading the token there. Invites carry a token too
(:mod:`._messages`). A token works once, until its ``expires_at``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from ._errors import EmulatorError, bad_request, not_found
from ._members import check_email, create_member
from ._params import Params
from ._sessions import create_session
from ._state import MemberRec, OrgRec, SessionRec, State
from ._time import rfc3339
from ._tokens import new_token
from ._wire import member_json, org_json

__all__ = [
    "authenticate",
    "issue_email",
    "jit_allowed",
    "login_or_signup",
    "magic_link_url",
    "take_token",
]

JSON = dict[str, Any]

#: Stytch's defaults: login and signup links last an hour, invites a week.
_DEFAULT_MINUTES = 60
_TOKEN_KINDS = ("login", "signup", "invite")


def magic_link_url(
    redirect_url: str | None, token: str, token_type: str = "multi_tenant_magic_links"
) -> str | None:
    """The link in the email: the redirect URL with Stytch's token query parameters."""
    if not redirect_url:
        return None
    query = urlencode({"stytch_token_type": token_type, "token": token})
    return f"{redirect_url}{'&' if '?' in redirect_url else '?'}{query}"


def issue_email(
    state: State,
    *,
    kind: str,
    email: str,
    organization_id: str | None,
    member_id: str | None,
    redirect_url: str | None,
    minutes: int,
    token_type: str = "multi_tenant_magic_links",
    locale: str | None = None,
) -> JSON:
    """Append an email carrying a fresh one-time token to the outbox; returns the entry."""
    token = new_token()
    with state.lock:
        now = state.now()
        entry: JSON = {
            "kind": kind,
            "organization_id": organization_id,
            "member_id": member_id,
            "email_address": email,
            "magic_links_token": token,
            "url": magic_link_url(redirect_url, token, token_type),
            "locale": locale,
            "created_at": rfc3339(now),
            "expires_at": rfc3339(now + 60 * minutes),
        }
        state.outbox.append(entry)
        state.changed()
        return entry


def jit_allowed(org: OrgRec, email: str) -> bool:
    """Whether Stytch would create a member for ``email`` by email JIT provisioning."""
    data = org.data
    domain = email.rpartition("@")[2]
    allowed = [d.lower() for d in data.get("email_allowed_domains") or []]
    return data.get("email_jit_provisioning") == "RESTRICTED" and domain in allowed


def login_or_signup(state: State, p: Params) -> JSON:
    """Send a login link to a member of the organization, or a signup link to a new one.

    An unknown address becomes a ``pending`` member when the organization allows
    email JIT provisioning for its domain; otherwise 403
    ``email_jit_provisioning_not_allowed``, as Stytch answers.
    """
    email = check_email(p.required("email_address"))
    minutes = p.opt_int("login_expiration_minutes") or _DEFAULT_MINUTES
    with state.lock:
        org = state.org(p.required("organization_id"))
        member = state.member_by_email(org, email)
        created = False
        if member is None or member.data["status"] == "deleted":
            if member is not None or not jit_allowed(org, email):
                raise EmulatorError(
                    403,
                    "email_jit_provisioning_not_allowed",
                    "This organization does not allow email JIT provisioning for this address.",
                )
            member = create_member(state, org, Params({"email_address": email}), status="pending")
            created = True
        kind = "signup" if created or member.data["status"] == "pending" else "login"
        issue_email(
            state,
            kind=kind,
            email=email,
            organization_id=org.organization_id,
            member_id=member.member_id,
            redirect_url=p.opt_str(
                "signup_redirect_url" if kind == "signup" else "login_redirect_url"
            ),
            minutes=minutes,
            locale=p.opt_str("locale"),
        )
        return {
            "member_id": member.member_id,
            "member_created": created,
            "member": member_json(org, member),
            "organization": org_json(state, org),
        }


def _expired(entry: JSON, now: float) -> bool:
    expires = entry.get("expires_at")
    if not isinstance(expires, str):
        return False
    return datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp() <= now


def take_token(state: State, token: str, *, kinds: tuple[str, ...] = _TOKEN_KINDS) -> JSON:
    """The outbox entry of an unused, unexpired token of one of ``kinds``, now marked used."""
    with state.lock:
        for entry in reversed(state.outbox):
            if entry.get("magic_links_token") == token and entry.get("kind") in kinds:
                if entry.get("used") or _expired(entry, state.now()):
                    break
                entry["used"] = True
                state.changed()
                return entry
    raise not_found(
        "magic_link_not_found", "The magic link could not be authenticated: unknown or used."
    )


def authenticate(
    state: State, token: str, *, duration_minutes: int | None
) -> tuple[OrgRec, MemberRec, SessionRec]:
    """Spend a magic-link token: its member is logged in (active, email verified)."""
    if not token:
        raise bad_request("magic_links_token is required.")
    with state.lock:
        entry = take_token(state, token)
        org = state.orgs.get(entry["organization_id"])
        member = state.members.get(entry["member_id"])
        if org is None or member is None or member.data["status"] == "deleted":
            raise not_found("member_not_found", "Member could not be found.")
        session = create_session(state, member, duration_minutes=duration_minutes or 60)
        return org, member, session
