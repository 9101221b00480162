"""Discovery: an email proven by a magic link, before choosing (or creating) an organization.

``magicLinks.email.discovery.send`` writes a ``discovery`` email (token and link) to the
outbox; spending its token gives an *intermediate session token* (IST) naming the
email address, valid ten minutes as Stytch's. With it, the frontend lists the
organizations the address belongs to (or may join by its email domain), exchanges
it for a member session in one of them, or creates a new organization whose first
member is a ``stytch_admin``. ISTs live in memory only (not in state snapshots).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from ._errors import EmulatorError, bad_request, not_found
from ._magic_links import issue_email, jit_allowed, take_token
from ._members import check_email, create_member
from ._orgs import create_org
from ._params import Params
from ._sessions import create_session
from ._state import MemberRec, OrgRec, SessionRec, State
from ._tokens import new_token
from ._wire import member_json, org_json

__all__ = ["Discovery"]

JSON = dict[str, Any]

IST_SECONDS = 10 * 60
"""How long an intermediate session token lasts (Stytch: ten minutes)."""


@dataclass(frozen=True, slots=True)
class _Intermediate:
    email: str
    expires_at: float


def _ist_not_found() -> EmulatorError:
    return not_found("intermediate_session_not_found", "Intermediate session could not be found.")


class Discovery:
    """The intermediate sessions of one emulator, and the discovery calls over them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Intermediate] = {}

    def issue(self, state: State, email: str) -> str:
        """A new intermediate session token for ``email``."""
        token = new_token()
        with self._lock:
            self._sessions[token] = _Intermediate(email, state.now() + IST_SECONDS)
        return token

    def email_of(self, state: State, token: str | None, *, spend: bool = False) -> str:
        """The email an unexpired IST names (404 ``intermediate_session_not_found``)."""
        if not token:
            raise bad_request("intermediate_session_token is required.")
        with self._lock:
            found = self._sessions.get(token)
            if found is None or found.expires_at <= state.now():
                self._sessions.pop(token, None)
                raise _ist_not_found()
            if spend:
                del self._sessions[token]
            return found.email

    # -- the calls ------------------------------------------------------------------

    def send(self, state: State, p: Params) -> JSON:
        """``magicLinks.email.discovery.send``: a discovery email to the outbox."""
        email = check_email(p.required("email_address"))
        issue_email(
            state,
            kind="discovery",
            email=email,
            organization_id=None,
            member_id=None,
            redirect_url=p.opt_str("discovery_redirect_url"),
            token_type="discovery",
            minutes=p.opt_int("discovery_expiration_minutes") or 60,
        )
        return {}

    def authenticate(self, state: State, p: Params) -> JSON:
        """``magicLinks.discovery.authenticate``: spend the email's token for an IST."""
        entry = take_token(state, p.required("discovery_magic_links_token"), kinds=("discovery",))
        email = entry["email_address"]
        return {
            "intermediate_session_token": self.issue(state, email),
            "email_address": email,
            "discovered_organizations": self.discovered(state, email),
        }

    def discovered(self, state: State, email: str) -> list[JSON]:
        """The organizations ``email`` is a member of, or may join by its email domain."""
        out: list[JSON] = []
        with state.lock:
            for org in sorted(state.orgs.values(), key=lambda o: o.seq):
                member = state.member_by_email(org, email)
                if member is not None and member.data["status"] != "deleted":
                    membership: JSON = {
                        # active_member, pending_member or invited_member, as Stytch's
                        "type": f"{member.data['status']}_member",
                        "details": None,
                        "member": member_json(org, member),
                    }
                elif member is None and jit_allowed(org, email):
                    membership = {
                        "type": "eligible_to_join_by_email_domain",
                        "details": {"domain": email.rpartition("@")[2]},
                        "member": None,
                    }
                else:
                    continue
                out.append(
                    {
                        "organization": org_json(state, org),
                        "membership": membership,
                        "member_authenticated": False,
                        "primary_required": None,
                        "mfa_required": None,
                    }
                )
        return out

    def list_organizations(self, state: State, email: str) -> JSON:
        """``discovery.organizations.list`` for ``email`` (from the IST or the session)."""
        return {
            "email_address": email,
            "discovered_organizations": self.discovered(state, email),
            "organization_id_hint": None,
        }

    def exchange(self, state: State, p: Params) -> tuple[OrgRec, MemberRec, SessionRec]:
        """``discovery.intermediateSessions.exchange``: a session in a discovered organization."""
        email = self.email_of(state, p.opt_str("intermediate_session_token"))
        minutes = p.opt_int("session_duration_minutes") or 60
        with state.lock:
            org = state.org(p.required("organization_id"))
            member = state.member_by_email(org, email)
            if member is None and jit_allowed(org, email):
                member = create_member(state, org, Params({"email_address": email}))
            if member is None or member.data["status"] == "deleted":
                raise EmulatorError(
                    400,
                    "invalid_intermediate_session_token_for_organization",
                    "The intermediate session's email cannot join this organization.",
                )
            self.email_of(state, p.opt_str("intermediate_session_token"), spend=True)
            return org, member, create_session(state, member, duration_minutes=minutes)

    def create(self, state: State, p: Params) -> tuple[OrgRec, MemberRec, SessionRec]:
        """``discovery.organizations.create``: a new organization, its creator its admin."""
        email = self.email_of(state, p.opt_str("intermediate_session_token"))
        minutes = p.opt_int("session_duration_minutes") or 60
        fields = {
            k: v
            for k, v in p.items()
            if k not in ("intermediate_session_token", "session_duration_minutes")
        }
        with state.lock:
            org = create_org(state, Params(fields))
            member = create_member(
                state, org, Params({"email_address": email, "roles": ["stytch_admin"]})
            )
            self.email_of(state, p.opt_str("intermediate_session_token"), spend=True)
            return org, member, create_session(state, member, duration_minutes=minutes)
