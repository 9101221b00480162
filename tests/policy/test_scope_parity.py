"""Parity with the stytch SDK's own scope checks, on random scopes, policies and tokens.

* :func:`stytch_rbac.m2m_scopes_allow` (and ``m2m_decide``) against
  ``stytch.shared.m2m_authorization.perform_authorization_check``.
* An agent's decision (the project policy's scopes, :meth:`CompiledPolicy.scope_decide`,
  and tenancy from the token's organization) against
  ``stytch.shared.rbac_local.perform_scope_authorization_check``.

The documented differences, each asserted below rather than skipped:

1. **``a:b:c``** (two or more ``:``): the SDK's M2M check raises ``ValueError`` (it
   unpacks the split into two names), for any such held scope and for a required one it
   reaches. Ours treats such a scope as opaque: it grants only the identical required
   scope, and never raises.
2. **The SDK's ``-`` placeholder**: it stores a held bare scope ``x`` as ``x:-``, so held
   ``x`` grants a required ``x:-`` and held ``x:-`` or ``x:*`` grants a required bare ``x``.
   Ours matches bare scopes only with bare scopes: those are denied. Everywhere else the
   answers are equal, and ours never allows what the SDK denies.
3. **``None`` vs raise**: the SDK's agent check returns ``None`` when allowed and raises
   ``RBACPermissionError`` / its ``TenancyError`` otherwise. Ours answers a
   :class:`Decision` (``explain``), a bool (``is_authorized``) or raises
   :class:`PermissionDenied` / :class:`TenancyError` (``authorize``), the same outcome.
4. **Undefined permissions**: the SDK scans scopes without reading ``policy.resources``,
   so a scope naming an undefined resource or action grants it. Ours raises
   :class:`UnknownPermission` in strict mode and denies otherwise (the policy engine's
   one fail-closed difference, :mod:`stytch_rbac.policy`). Tenancy is checked first by
   both.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from stytch.b2b.models.rbac import Policy as SDKPolicy
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.shared import rbac_local
from stytch.shared.m2m_authorization import AuthorizationCheckParams, perform_authorization_check

from stytch_rbac import (
    AgentPrincipal,
    CompiledPolicy,
    Policy,
    UnknownPermission,
    m2m_scopes_allow,
)
from stytch_rbac.policy.scopes import m2m_decide, m2m_granting, m2m_scope

#: The SDK's message when it splits a scope with two or more ":" into two names.
SDK_CRASH = "too many values to unpack"
PROPERTY = settings(max_examples=2000, deadline=None, derandomize=True, database=None)

# Small pools, so that held and required scopes collide often. "-" is the SDK's
# placeholder resource, "*" the wildcard, "" an empty part.
ACTIONS = ["read", "write", "*", "-", ""]
RESOURCES = ["docs", "users", "*", "-", ""]

bare_scopes = st.sampled_from(ACTIONS)
pair_scopes = st.builds(
    lambda a, r: f"{a}:{r}", st.sampled_from(ACTIONS), st.sampled_from(RESOURCES)
)
odd_scopes = st.text(alphabet="rd:*-", max_size=6)  # "a:b:c" and friends
scopes = st.one_of(bare_scopes, pair_scopes, pair_scopes, odd_scopes)


def sdk_m2m(held: Sequence[str], required: Sequence[str]) -> bool:
    """The SDK's M2M check (it may raise ValueError)."""
    return perform_authorization_check(
        AuthorizationCheckParams(has_scopes=list(held), required_scopes=list(required))
    )


def opaque(scope: str) -> bool:
    """Two or more ":": the SDK cannot split it (difference 1)."""
    return scope.count(":") >= 2


def placeholder_grants(held: frozenset[str], required: str) -> bool:
    """Whether the SDK's "-" placeholder, and nothing else, lets ``held`` grant ``required``
    (difference 2)."""
    action, sep, resource = required.partition(":")
    if not sep:
        return f"{required}:-" in held or f"{required}:*" in held
    return resource == "-" and action in held


@PROPERTY
@given(held=st.lists(scopes, max_size=6), required=st.lists(scopes, max_size=4))
def test_m2m_rule_equals_the_sdk_but_for_the_documented_differences(
    held: list[str], required: list[str]
) -> None:
    """m2m_scopes_allow() is the SDK's perform_authorization_check, except differences 1 and 2."""
    note(f"held={held!r} required={required!r}")
    ours = m2m_scopes_allow(held, required)
    plain = frozenset(s for s in held if not opaque(s))
    per_scope = []
    for scope in required:
        alone = m2m_scopes_allow(held, [scope])
        per_scope.append(alone)
        if opaque(scope):
            event("required a:b:c")
            assert alone is (scope in held)  # opaque: only the identical scope grants it
            with pytest.raises(ValueError, match=SDK_CRASH):
                sdk_m2m(sorted(plain), [scope])
            continue
        # A held a:b:c grants nothing but itself, so the SDK may judge without it.
        assert m2m_scopes_allow(plain, [scope]) is alone
        sdk = sdk_m2m(sorted(plain), [scope])
        if alone:
            assert sdk, "ours allowed what the SDK denies"
            assert m2m_granting(held, scope)
        elif sdk:
            event("placeholder: SDK allows, ours denies")
            assert placeholder_grants(plain, scope)
        else:
            assert not m2m_granting(held, scope)
    assert ours is all(per_scope)
    # The whole check, as the SDK runs it.
    if plain != frozenset(held):
        event("held a:b:c: SDK raises")
        with pytest.raises(ValueError, match=SDK_CRASH):
            sdk_m2m(held, required)
        return
    try:
        whole = sdk_m2m(held, required)
    except ValueError:
        event("required a:b:c reached: SDK raises")
        assert any(opaque(s) for s in required)
        return
    if whole is False:
        assert ours is False
    elif not any(opaque(s) or placeholder_grants(plain, s) for s in required):
        assert ours is True
    if not any(opaque(s) or placeholder_grants(plain, s) for s in required):
        event("no difference applies: equal")
        assert ours is whole
    # The claim form (space-separated) reads the same scopes.
    if all(held) and all(required):
        assert m2m_scopes_allow(" ".join(held), " ".join(required)) is ours


@PROPERTY
@given(
    held=st.lists(scopes, max_size=6),
    resource=st.sampled_from(["docs", "users", "a:b"]),
    action=st.sampled_from(["read", "write", "*"]),
)
def test_m2m_decide_names_the_scopes_that_grant(
    held: list[str], resource: str, action: str
) -> None:
    """m2m_decide() allows iff the rule does, and granted_by is each held scope granting alone."""
    decision = m2m_decide(held, resource, action)
    required = m2m_scope(resource, action)
    assert required == f"{action}:{resource}"
    assert decision.allowed is m2m_scopes_allow(held, [required])
    assert decision.granted_by == {s for s in held if m2m_scopes_allow([s], [required])}
    assert (decision.resource, decision.action) == (resource, action)
    if not opaque(required) and not any(opaque(s) for s in held):
        sdk = sdk_m2m(held, [required])
        assert decision.allowed is (sdk and not placeholder_grants(frozenset(held), required))


def test_the_sdk_crashes_on_a_scope_with_two_colons_and_ours_does_not() -> None:
    """Difference 1, by example: the SDK raises on a:b:c; ours answers by exact match."""
    with pytest.raises(ValueError, match=SDK_CRASH):
        sdk_m2m(["read:docs:drafts"], ["read:docs"])
    with pytest.raises(ValueError, match=SDK_CRASH):
        sdk_m2m(["read:*"], ["read:docs:drafts"])
    assert m2m_scopes_allow(["read:docs:drafts"], ["read:docs:drafts"])
    assert not m2m_scopes_allow(["read:*"], ["read:docs:drafts"])
    assert not m2m_scopes_allow(["read:docs:drafts"], ["read:docs"])


def test_the_sdk_placeholder_grants_what_ours_denies() -> None:
    """Difference 2, by example: bare scopes match only bare scopes here."""
    assert sdk_m2m(["read"], ["read:-"])
    assert not m2m_scopes_allow(["read"], ["read:-"])
    assert sdk_m2m(["read:*"], ["read"])
    assert not m2m_scopes_allow(["read:*"], ["read"])
    assert sdk_m2m(["read:-"], ["read"])
    assert not m2m_scopes_allow(["read:-"], ["read"])
    assert m2m_scopes_allow(["read:*"], ["read:users"])
    assert sdk_m2m(["read:*"], ["read:users"])
    assert not m2m_scopes_allow(["*"], ["read:users"])
    assert not sdk_m2m(["*"], ["read:users"])


# -- agents: the policy's scopes, against rbac_local.perform_scope_authorization_check ----------

POLICY_RESOURCES = ["docs", "billing", "reports"]
POLICY_ACTIONS = ["read", "write", "delete"]
POLICY_SCOPES = ["read:docs", "write:docs", "billing", "all"]
TOKEN_SCOPES = [*POLICY_SCOPES, "openid", "email", "unknown"]
NOWHERE, FLY = "nowhere", "fly"  # undefined resource and action
ORGS = ["org-a", "org-b"]


def actions_of(pool: Sequence[str]) -> st.SearchStrategy[list[str]]:
    """An actions list: a subset of ``pool``, sometimes with "*"."""
    return st.lists(st.sampled_from([*pool, "*"]), max_size=4, unique=True)


@st.composite
def policy_docs(draw: st.DrawFn) -> dict[str, Any]:
    """A project policy whose scopes may grant on undefined resources and actions."""
    resources = [
        {
            "resource_id": r,
            "description": "",
            "actions": draw(st.lists(st.sampled_from(POLICY_ACTIONS), max_size=3, unique=True)),
        }
        for r in POLICY_RESOURCES
        if draw(st.integers(0, 3))  # three times in four
    ]
    grants = st.fixed_dictionaries(
        {
            "resource_id": st.sampled_from([*POLICY_RESOURCES, *POLICY_RESOURCES, NOWHERE]),
            "actions": actions_of([*POLICY_ACTIONS, FLY]),
        }
    )
    scopes_ = [
        {"scope": s, "description": "", "permissions": draw(st.lists(grants, max_size=3))}
        for s in POLICY_SCOPES
        if draw(st.integers(0, 3))
    ]
    return {"roles": [], "resources": resources, "scopes": scopes_}


def agent(organization_id: str, claim: str) -> AgentPrincipal:
    """An agent principal as the verifier builds one (scopes split on whitespace)."""
    now = datetime.now(UTC)
    return AgentPrincipal(
        member_id="member-test-1",
        organization_id=organization_id,
        organization_slug=organization_id,
        client_id="connected-app-test-1",
        scopes=frozenset(claim.split()),
        expires_at=now,
        issued_at=now,
        issuer="https://example.customers.stytch.dev",
    )


def sdk_agent_outcome(
    sdk_policy: SDKPolicy, principal: AgentPrincipal, org: str, resource: str, action: str
) -> str:
    """What the SDK's agent check does: "allowed" (returns None), "tenancy" or "denied"."""
    check = AuthorizationCheck(organization_id=org, resource_id=resource, action=action)
    try:
        # Difference 3: it returns None when allowed (typed so), raises otherwise.
        rbac_local.perform_scope_authorization_check(
            sdk_policy, sorted(principal.scopes), principal.organization_id, check
        )
    except rbac_local.TenancyError:
        return "tenancy"
    except rbac_local.RBACPermissionError:
        return "denied"
    return "allowed"


def our_agent_outcome(
    policy: CompiledPolicy, principal: AgentPrincipal, org: str, resource: str, action: str
) -> str:
    """Ours: tenancy from the token's organization, then the project policy's scopes."""
    if org != principal.organization_id:
        return "tenancy"
    return "allowed" if policy.scope_decide(principal.scopes, resource, action) else "denied"


@PROPERTY
@given(
    doc=policy_docs(),
    token_org=st.sampled_from(ORGS),
    names=st.lists(st.sampled_from([*POLICY_SCOPES, *TOKEN_SCOPES]), max_size=5),
    gap=st.sampled_from([" ", "  ", "\t"]),
    org=st.sampled_from([ORGS[0], ORGS[0], ORGS[1]]),
    data=st.data(),
)
def test_agent_decisions_equal_the_sdk_scope_check(
    doc: dict[str, Any],
    token_org: str,
    names: list[str],
    gap: str,
    org: str,
    data: st.DataObject,
) -> None:
    """Tenancy, allow and deny as perform_scope_authorization_check, but for differences 3, 4."""
    defined = sorted((r["resource_id"], a) for r in doc["resources"] for a in r["actions"])
    anything = st.tuples(
        st.sampled_from([*POLICY_RESOURCES, NOWHERE]), st.sampled_from([*POLICY_ACTIONS, FLY])
    )
    resource, action = data.draw(
        st.one_of(st.sampled_from(defined), st.sampled_from(defined), anything)
        if defined
        else anything
    )
    token_org = org if token_org == ORGS[0] else token_org  # mostly the same organization
    note(json.dumps(doc))
    strict = CompiledPolicy(Policy.parse(doc), strict=True)
    lenient = CompiledPolicy(Policy.parse(doc), strict=False)
    sdk_policy = SDKPolicy.model_validate(doc)
    principal = agent(token_org, gap.join(names))
    sdk = sdk_agent_outcome(sdk_policy, principal, org, resource, action)
    event(f"SDK: {sdk}")
    if org != token_org:
        assert sdk == "tenancy"
        assert our_agent_outcome(strict, principal, org, resource, action) == "tenancy"
        return
    if not strict.is_known(resource, action):
        event("undefined permission: strict raises, lenient denies")
        with pytest.raises(UnknownPermission):
            our_agent_outcome(strict, principal, org, resource, action)
        assert our_agent_outcome(lenient, principal, org, resource, action) == "denied"
        return
    ours = our_agent_outcome(strict, principal, org, resource, action)
    assert ours == sdk
    decision = strict.scope_decide(principal.scopes, resource, action)
    assert decision.granted_by == {
        s
        for s in principal.scopes
        if sdk_agent_outcome(sdk_policy, agent(token_org, s), org, resource, action) == "allowed"
    }
