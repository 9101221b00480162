"""``/_emulator/``: seeding and control over HTTP, for clients that are not Python.

Every route needs the same Basic auth as the Stytch API. Bodies are JSON; the
answers use Stytch's envelope (``status_code``, ``request_id``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import PolicyError
from ._errors import bad_request
from ._routing import Req, Route
from ._seed import SeedError
from ._state import State

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["admin_routes"]

JSON = dict[str, Any]


def admin_routes(emu: Emulator) -> list[Route]:
    """The ``/_emulator/`` routes, bound to ``emu``."""

    def organizations(state: State, req: Req) -> JSON:
        # The body is a field mapping, never keyword arguments: a key such as "name" or
        # "self" is an unknown field (400), not a clash with a Python parameter.
        org = emu._create_organization(dict(req.params.items()))
        return {"organization": dict(org.json)}

    def members(state: State, req: Req) -> JSON:
        member = emu._create_member(dict(req.params.items()))
        return {"member_id": member.member_id, "member": dict(member.json)}

    def sessions(state: State, req: Req) -> JSON:
        p = req.params
        claims = p.opt_dict("custom_claims")
        session = emu.create_session(
            p.required("member_id"),
            duration_minutes=p.opt_int("duration_minutes") or 60,
            custom_claims=claims,
        )
        return {
            "member_session_id": session.member_session_id,
            "member_id": session.member_id,
            "organization_id": session.organization_id,
            "session_token": session.session_token,
            "session_jwt": session.session_jwt,
            "roles": list(session.roles),
        }

    def policy(state: State, req: Req) -> JSON:
        body = req.params.opt_dict("policy")
        if body is None:
            raise bad_request("policy is required.")
        try:
            emu.set_policy(body)
        except PolicyError as exc:
            raise bad_request(f"policy: {exc}") from None
        return {"policy": emu.policy.to_json()}

    def seed(state: State, req: Req) -> JSON:
        try:
            created = emu.load_seed(dict(req.params.items()))
        except SeedError as exc:
            raise bad_request(f"seed: {exc}") from None
        return {
            "organizations": [
                {"organization": dict(o.json), "members": [dict(m.json) for m in ms]}
                for o, ms in created
            ]
        }

    def rotate(state: State, req: Req) -> JSON:
        grace = req.params.opt_int("grace_seconds")
        return {"kid": emu.rotate_keys(3600 if grace is None else grace)}

    def advance(state: State, req: Req) -> JSON:
        seconds = req.params.raw("seconds")
        try:
            emu.advance_time(seconds)
        except ValueError as exc:  # not a number, negative, or past the year 9999
            raise bad_request(f"{exc}.") from None
        return {"now": emu.clock.time()}

    def add_fault(state: State, req: Req) -> JSON:
        p = req.params
        kind = p.choice("kind", ("fail", "latency", "hang", "garbage", "truncated"))
        endpoint = p.required("endpoint")
        times, duration = p.opt_int("times"), p.raw("duration")
        if duration is not None and (
            isinstance(duration, bool) or not isinstance(duration, (int, float))
        ):
            raise bad_request("duration must be a number of seconds.")
        try:
            if kind == "fail":
                retry = p.raw("retry_after")
                emu.faults.fail(
                    endpoint,
                    p.opt_int("status") or 500,
                    times=times,
                    duration=duration,
                    retry_after=float(retry) if retry is not None else None,
                )
            elif kind == "latency":
                seconds = p.raw("seconds")
                if not isinstance(seconds, (int, float)) or isinstance(seconds, bool):
                    raise bad_request("seconds must be a number.")
                emu.faults.latency(endpoint, float(seconds), times=times, duration=duration)
            elif kind == "hang":
                emu.faults.hang(endpoint, times=times, duration=duration)
            elif kind == "garbage":
                emu.faults.garbage(
                    endpoint, status=p.opt_int("status") or 200, times=times, duration=duration
                )
            elif kind == "truncated":
                emu.faults.truncated(
                    endpoint, status=p.opt_int("status") or 200, times=times, duration=duration
                )
            else:
                raise bad_request("kind is required.")
        except (TypeError, ValueError) as exc:
            raise bad_request(str(exc)) from None
        return {"faults": len(emu.faults.active)}

    def clear_faults(state: State, req: Req) -> JSON:
        emu.faults.clear()
        return {"faults": 0}

    def agent_token(state: State, req: Req) -> JSON:
        p = req.params
        scopes = p.opt_str_list("scopes")
        expires_in = p.opt_int("expires_in")
        token = emu.mint_connected_app_token(
            p.required("member_id"),
            p.required("client_id"),
            scopes or [],
            expires_in=3600 if expires_in is None else expires_in,
            issuer=p.opt_str("issuer"),
        )
        return {"access_token": token, "token_type": "bearer"}

    def requests(state: State, req: Req) -> JSON:
        with state.lock:
            return {"requests": dict(state.requests)}

    def outbox(state: State, req: Req) -> JSON:
        return {"outbox": emu.outbox}

    base = "/_emulator"
    return [
        Route("POST", base + "/organizations", "_emulator.organizations", organizations),
        Route("POST", base + "/members", "_emulator.members", members),
        Route("POST", base + "/sessions", "_emulator.sessions", sessions),
        Route("PUT", base + "/policy", "_emulator.policy", policy),
        Route("POST", base + "/seed", "_emulator.seed", seed),
        Route("POST", base + "/keys/rotate", "_emulator.keys.rotate", rotate),
        Route("POST", base + "/time/advance", "_emulator.time.advance", advance),
        Route("POST", base + "/faults", "_emulator.faults.add", add_fault),
        Route("DELETE", base + "/faults", "_emulator.faults.clear", clear_faults),
        Route(
            "POST",
            base + "/connected_apps/tokens",
            "_emulator.connected_apps.tokens",
            agent_token,
        ),
        Route("GET", base + "/requests", "_emulator.requests", requests),
        Route("GET", base + "/outbox", "_emulator.outbox", outbox),
    ]
