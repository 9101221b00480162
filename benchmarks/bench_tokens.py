"""M2M and Connected-App tokens verified and decided: stytch-rbac vs the stytch SDK. One run.

Issue 13 item 8. Four comparisons, each on the SAME tokens for both sides, printed with
their median ratio, target and OK/MISS (exit status 1 if a target is missed):

(a) M2M token, fresh: ``rbac.authenticate_access_token(token)`` + the decision
    ``documents:edit``, against the SDK's ``m2m.authenticate_token(token,
    required_scopes=["edit:documents"])``; target >= 5x (median).
(b) M2M token, repeated: the same token again; target >= 50x.
(c) Connected-App token, fresh: ours against the SDK's
    ``idp.introspect_access_token_local(token, authorization_check=AuthorizationCheck(
    organization_id, "documents", "edit"))``; target >= 5x.
(d) Connected-App token, repeated; target >= 50x.

"Fresh" is a token neither side has seen (``--fresh`` distinct tokens of each kind are
minted in advance, each verified once by each side), with the JWKS (and, for Connected
Apps, the project policy) already cached on both sides: ours is one RS256 verification,
the claim checks, a memo insertion and the decision; the SDK's is PyJWT's ``decode`` with
its key from its PyJWKClient's cached key set, its pydantic models and its check.
"Repeated" is one token presented again and again, each time as its own copy of the
string (as a web request brings it, so its hash is computed every time): ours answers
from the memo of verified tokens; the SDK has no memo and verifies it again.

The decision, both sides, for one ``documents:edit`` check:

* M2M: the SDK's rule (``m2m_authorization.perform_authorization_check``: the scope
  ``edit:documents``, or ``edit:*``); ours is ``rbac.is_authorized(principal,
  "documents:edit")`` under the facade's default ``m2m_scopes="policy"``: a held scope of
  the project policy must grant it. The client holds ``edit:documents`` and the policy
  scope ``write:documents``, so the token is allowed by Stytch's rule and by the policy's
  scopes alike; the refused client holds ``read:documents`` only, which neither rule lets
  edit (checked before timing).
* Connected App: the policy's scopes (``rbac_local.perform_scope_authorization_check``:
  the organization claim must be the check's organization, then a held scope of the
  project policy must grant the permission); ours is ``rbac.is_authorized(principal,
  "documents:edit", organization_id=...)``: the same tenancy test and the same scope
  rule on the cached project policy.

Against the emulator, honestly:

* Both sides talk to one emulator over real loopback HTTP (``Emulator.serve_in_thread``:
  the SDK's ``introspect_access_token_local`` and ``authenticate_token`` are synchronous,
  and ``introspect_access_token_local`` fetches the policy synchronously through
  ``policy_cache.get()``, so the server must not run on the caller's event loop). The SDK
  is an unmodified ``stytch.B2BClient(project_id, secret, environment=base_url)``.
* The SDK accepts two issuers only, ``stytch.com/{project_id}`` and its own base URL
  (``jwt_helpers._authenticate_jwt_local``), so Stytch's documented way to verify a
  Connected-App token with it is a client whose base URL is the project domain
  (``custom_base_url="https://{project_domain}"``), whose tokens name that domain as
  issuer. Here the served emulator plays the project domain: the SDK's base URL is the
  emulator's URL (``environment=``: ``custom_base_url`` accepts https only), and the
  Connected-App tokens are minted with that URL as ``iss``
  (``mint_connected_app_token(..., issuer=base_url)``; docs/emulator.md, "The Python SDK
  and the issuer"). Our facade gets the same base URL (an accepted issuer, as for the
  SDK) and ``project_domain`` too, as an application would configure it. M2M tokens
  name ``stytch.com/{project_id}``, which both accept as they are.
* Nothing of the SDK is patched. Its PyJWKClient keeps the key set for 300 s: the run
  takes less, so no sample refetches it (a refetch would be a synchronous HTTP call).

Method: ``time.perf_counter_ns`` around each call; blocks of ours and of the SDK's
calls alternate (50 calls a block), so machine load hits both alike; medians and p99
are over calls. Ours is awaited inside one coroutine (asyncio), the SDK's is called
directly (its synchronous path: no thread hop, its fastest; its ``authenticate_token_async``
adds ``asyncio.to_thread``). The garbage collector stays enabled; ``gc.collect()`` runs
before each series.

Run: ``.venv/bin/python benchmarks/bench_tokens.py [--fresh 2000] [--repeated 5000]``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from _results import save  # benchmarks/_results.py, beside this script

from stytch_rbac import AgentPrincipal, AnyPrincipal, ServicePrincipal, StytchRBAC
from stytch_rbac.emulator import Emulator

POLICY_FILE = Path(__file__).resolve().parent.parent / "examples" / "policy.json"
RESOURCE, ACTION = "documents", "edit"
PERMISSION = f"{RESOURCE}:{ACTION}"
#: The M2M client's scopes: Stytch's ``action:resource`` scope for documents:edit, and the
#: policy scope granting it (so either rule for services allows it).
M2M_SCOPES = ("edit:documents", "write:documents", "read:documents")
#: The Connected-App token's scopes: OIDC ones and the policy scopes an editor covers.
AGENT_SCOPES = ("openid", "email", "read:documents", "write:documents")
#: What the SDK's M2M check is given for documents:edit (Stytch's ``action:resource``).
M2M_REQUIRED = f"{ACTION}:{RESOURCE}"
BLOCK = 50
FRESH_TARGET, REPEATED_TARGET = 5.0, 50.0
RESULTS: list[tuple[str, str, str, bool]] = []  # (item, measured, target, met)
DATA: dict[str, Any] = {}  # the numbers behind RESULTS, for run_all.py


def record(item: str, measured: str, target: str, met: bool) -> None:
    """Keep one result row and print it."""
    RESULTS.append((item, measured, target, met))
    print(f"  -> {'OK  ' if met else 'MISS'} {measured}   (target: {target})", flush=True)


def us(ns: float) -> str:
    """Nanoseconds as microseconds, for printing."""
    return f"{ns / 1000:.2f} µs" if ns < 10_000 else f"{ns / 1000:.1f} µs"


def p99(values: list[int]) -> float:
    """99th percentile."""
    return statistics.quantiles(values, n=100)[98]


def copy(token: str) -> str:
    """An equal string that is another object (its hash not computed yet), as each
    request brings its own."""
    return token[:1] + token[1:]


async def decide(rbac: StytchRBAC, principal: AnyPrincipal, organization_id: str) -> bool:
    """Our side's decision of ``documents:edit`` for an agent or a service principal: the
    facade's own ``is_authorized`` (a service project-wide, an agent in its organization)."""
    if isinstance(principal, ServicePrincipal):
        return await rbac.is_authorized(principal, PERMISSION)
    if isinstance(principal, AgentPrincipal):
        return await rbac.is_authorized(principal, PERMISSION, organization_id=organization_id)
    return False


def sdk_client(emu: Emulator, base_url: str) -> Any:
    """The stytch SDK as its users build it (own HTTP sessions, own PyJWKClient)."""
    import stytch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # aiohttp's BasicAuth deprecation
        return stytch.B2BClient(emu.project_id, emu.secret, environment=base_url)


async def interleaved(
    ours: Callable[[int], Awaitable[bool]],
    theirs: Callable[[int], object],
    n: int,
) -> tuple[list[int], list[int]]:
    """Per-call ns of ``await ours(i)`` and ``theirs(i)``, i in range(n), in alternating
    blocks; each must answer allowed (truthy)."""
    a: list[int] = []
    b: list[int] = []
    clock = time.perf_counter_ns
    gc.collect()
    for start in range(0, n, BLOCK):
        block = range(start, min(n, start + BLOCK))
        for i in block:
            began = clock()
            allowed = await ours(i)
            a.append(clock() - began)
            assert allowed, "stytch-rbac denied a token the benchmark expects allowed"
        for i in block:
            began = clock()
            answer = theirs(i)
            b.append(clock() - began)
            assert answer is not None, "the stytch SDK refused a token the benchmark expects"
    return a, b


def compare(label: str, key: str, a: list[int], b: list[int], target: float) -> None:
    """Print and keep one comparison (medians and p99 of both sides, the median ratio)."""
    ours, theirs = statistics.median(a), statistics.median(b)
    ratio = theirs / ours
    print(f"  stytch-rbac median {us(ours):>10}  p99 {us(p99(a)):>10}")
    print(f"  stytch SDK  median {us(theirs):>10}  p99 {us(p99(b)):>10}")
    DATA[key] = {
        "calls": len(a),
        "ours_median_us": ours / 1000,
        "ours_p99_us": p99(a) / 1000,
        "sdk_median_us": theirs / 1000,
        "sdk_p99_us": p99(b) / 1000,
    }
    record(label, f"{ratio:.1f}x faster (median)", f">= {target:g}x", ratio >= target)


async def run(fresh: int, repeated: int) -> None:
    """Every comparison against one served emulator."""
    from stytch.b2b.models.sessions import AuthorizationCheck
    from stytch.shared.rbac_local import RBACPermissionError

    emu = Emulator(policy=POLICY_FILE)
    org = emu.create_organization(name="Acme", slug="acme").organization_id
    editor = emu.create_member(org, email_address="ed@acme.test", roles=["editor"]).member_id
    viewer = emu.create_member(org, email_address="vi@acme.test", roles=["viewer"]).member_id
    m2m = emu.create_m2m_client("bench", M2M_SCOPES).client_id
    reader = emu.create_m2m_client("reader", ["read:documents"]).client_id
    app = emu.create_connected_app("Bench agent")
    check = AuthorizationCheck(organization_id=org, resource_id=RESOURCE, action=ACTION)
    with emu.serve_in_thread() as base_url:
        issuer = base_url.rstrip("/")  # the served emulator plays the project domain
        print(f"minting {fresh + 1:,} M2M and {fresh + 1:,} Connected-App tokens", flush=True)
        m2m_tokens = [emu.m2m_token(m2m) for _ in range(fresh + 1)]
        agent_tokens = [
            emu.mint_connected_app_token(editor, app, AGENT_SCOPES, issuer=issuer)
            for _ in range(fresh + 1)
        ]
        assert len(set(m2m_tokens)) == len(set(agent_tokens)) == fresh + 1  # all distinct
        denied_m2m = emu.m2m_token(reader)
        denied_agent = emu.mint_connected_app_token(viewer, app, ["read:documents"], issuer=issuer)
        sdk = sdk_client(emu, base_url)
        try:
            async with StytchRBAC(
                emu.project_id, emu.secret, base_url=base_url, project_domain=emu.project_domain
            ) as rbac:

                async def ours(token: str) -> bool:
                    principal = await rbac.authenticate_access_token(token)
                    return await decide(rbac, principal, org)

                def sdk_m2m(token: str) -> object:
                    return sdk.m2m.authenticate_token(token, required_scopes=[M2M_REQUIRED])

                def sdk_agent(token: str) -> object:
                    return sdk.idp.introspect_access_token_local(token, authorization_check=check)

                # Warm both sides (JWKS, policy) on one extra token of each kind, and check
                # that both refuse a token without the permission, before timing anything.
                for token in (m2m_tokens[-1], agent_tokens[-1]):
                    assert await ours(token)
                # The M2M token is allowed by the policy's scope (the default rule for
                # services), not by Stytch's action:resource one the facade does not use.
                assert rbac.m2m_scopes == "policy"
                service = await rbac.authenticate_access_token(m2m_tokens[-1])
                granted = (await rbac.explain(service, PERMISSION)).granted_by
                assert granted == {"write:documents"}, granted
                assert sdk_m2m(m2m_tokens[-1]) is not None
                assert sdk_agent(agent_tokens[-1]) is not None
                assert not await ours(denied_m2m)
                assert sdk_m2m(denied_m2m) is None
                assert not await ours(denied_agent)
                try:
                    sdk_agent(denied_agent)
                    raise AssertionError("the SDK allowed a viewer's read-only token to edit")
                except RBACPermissionError:
                    pass
                fetches = dict(emu.requests)

                kinds = (
                    ("M2M", "m2m", m2m_tokens, sdk_m2m),
                    ("Connected-App", "connected_app", agent_tokens, sdk_agent),
                )
                for name, key, tokens, theirs in kinds:
                    print(f"\n{name} token, fresh: {fresh:,} distinct tokens each", flush=True)
                    a, b = await interleaved(
                        lambda i, t=tokens: ours(t[i]),  # type: ignore[misc]
                        lambda i, t=tokens, f=theirs: f(t[i]),  # type: ignore[misc]
                        fresh,
                    )
                    compare(f"{name} fresh", f"{key}_fresh", a, b, FRESH_TARGET)

                    print(f"\n{name} token, repeated: one token {repeated:,} times", flush=True)
                    copies = [copy(tokens[0]) for _ in range(repeated)]
                    a, b = await interleaved(
                        lambda i, c=copies: ours(c[i]),  # type: ignore[misc]
                        lambda i, c=copies, f=theirs: f(c[i]),  # type: ignore[misc]
                        repeated,
                    )
                    compare(f"{name} repeated", f"{key}_repeated", a, b, REPEATED_TARGET)
                during = {k: v - fetches.get(k, 0) for k, v in emu.requests.items()}
                during = {k: v for k, v in during.items() if v}
                print(f"\nrequests to the emulator while timing: {during or 'none'}")
                DATA["requests_while_timing"] = during
        finally:
            await sdk.close()


async def main(args: argparse.Namespace) -> int:
    print(
        f"bench_tokens: stytch-rbac vs stytch {version('stytch')} | Python "
        f"{platform.python_version()} | {platform.machine()} | PyJWT {version('pyjwt')} | "
        f"cryptography {version('cryptography')}"
    )
    await run(args.fresh, args.repeated)
    print("\nSummary")
    width = max(len(r[0]) for r in RESULTS)
    for item, measured, target, met in RESULTS:
        print(f"  {'OK  ' if met else 'MISS'} {item:<{width}}  {measured}  [target {target}]")
    DATA["targets"] = {"fresh": FRESH_TARGET, "repeated": REPEATED_TARGET}
    save("tokens", DATA)
    return 1 if any(not met for *_, met in RESULTS) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", type=int, default=2_000, help="distinct tokens of each kind")
    parser.add_argument("--repeated", type=int, default=5_000, help="calls with one token")
    sys.exit(asyncio.run(main(parser.parse_args())))
