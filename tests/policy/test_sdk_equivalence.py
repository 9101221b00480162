"""Property tests: CompiledPolicy decides exactly as the stytch SDK's own local functions.

On random policies (including the oddities Stytch accepts and we only warn
about), random role sets and random checks:

* ``decide()`` / ``allows()`` / ``permissions()`` equal
  ``stytch.shared.rbac_local.is_authorized`` wherever strict mode does not
  raise, and strict mode raises exactly for the (resource, action) pairs the
  policy does not define; ``granted_by`` is the set of held roles for which the
  SDK's scan succeeds on its own.
* ``stytch_decide()`` (the rule for Stytch's built-in calls) equals
  ``is_authorized`` on every question, undefined resources and actions included,
  project policy and org merge alike.
* ``scope_decide()`` equals a direct transcription of reference section 4.6
  and the SDK's ``scope_authorization_check``.
* ``with_org()`` refuses exactly the org policies the SDK's
  ``validate_org_policy`` refuses, and otherwise decides like the SDK's merge
  (``stytch.shared.policy_cache._merge_policies``).

Each example is decoded from one drawn byte string (``Reader``): one draw is
cheap for hypothesis, shrinking bytes towards zero shrinks the policy towards
empty, and the decoded policy is shown with ``note()`` when a property fails.
Run with ``pytest --hypothesis-show-statistics`` to see the example counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TypeVar

import pytest
from hypothesis import event, given, note, settings
from hypothesis import strategies as st
from stytch.b2b.api.rbac_organizations import Organizations
from stytch.b2b.models.rbac import OrgPolicy as SDKOrgPolicy
from stytch.b2b.models.rbac import Policy as SDKPolicy
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.shared import rbac_local
from stytch.shared.policy_cache import _merge_policies

from stytch_rbac import (
    CompiledPolicy,
    OrgPolicy,
    Policy,
    PolicyError,
    UnknownPermission,
)

Doc = dict[str, Any]
Question = tuple[list[str], str, str]
T = TypeVar("T")

EXAMPLES = 2000
PROPERTY = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None)
EXAMPLE_BYTES = st.binary(min_size=192, max_size=192)  # more than any example reads

# Small pools, so that random roles, grants and checks collide often.
RESOURCES = ["docs", "billing", "stytch.member", "reports"]
ACTIONS = ["read", "write", "delete", "update.info.name"]
ROLES = ["viewer", "editor", "admin", "stytch_member", "stytch_admin"]
SCOPES = ["read:docs", "write:docs", "billing", "all"]
ORG_ROLES = ["org_a", "org_b", "org_c", "org_d", "editor"]  # "editor": a project role
GHOSTS = ["ghost", "Viewer"]  # role ids no policy defines
TOKEN_SCOPES = [*SCOPES, "unknown", "read"]  # scopes an access token may carry
GAPS = [" ", "  ", "\t", "\n"]  # whitespace between a token's scopes
NOWHERE = "nowhere"  # a resource no policy defines
FLY = "fly"  # an action no resource defines


class Reader:
    """Turns drawn bytes into choices; past the end every byte reads as zero."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.at = 0

    def byte(self) -> int:
        """The next byte (0 past the end)."""
        value = self.raw[self.at] if self.at < len(self.raw) else 0
        self.at += 1
        return value

    def pick(self, options: Sequence[T]) -> T:
        """One of ``options``."""
        return options[self.byte() % len(options)]

    def chance(self, in_four: int) -> bool:
        """True ``in_four`` times in four (a zero byte gives False)."""
        return self.byte() % 4 >= 4 - in_four

    def subset(self, options: Sequence[str]) -> list[str]:
        """A subset of ``options`` (at most 8), in order."""
        mask = self.byte()
        return [o for i, o in enumerate(options) if mask >> i & 1]


def read_actions(r: Reader, options: Sequence[str], wildcard_in_four: int) -> list[str]:
    """An actions list: a subset of ``options``, sometimes with "*", sometimes one repeated."""
    actions = r.subset(options)
    if r.chance(wildcard_in_four):
        actions.insert(r.byte() % (len(actions) + 1), "*")
    if actions and r.chance(1):
        actions.append(actions[0])  # a repeated action changes nothing
    return actions


def read_grants(r: Reader, resources: Sequence[str], actions: Sequence[str]) -> list[Doc]:
    """Zero to three permission objects (two may name the same resource)."""
    return [
        {"resource_id": r.pick(resources), "actions": read_actions(r, actions, 1)}
        for _ in range(r.byte() % 4)
    ]


def read_policy(r: Reader) -> Doc:
    """A project policy with unique ids (anything else is a PolicyError by design).

    Grants may name an undefined resource (NOWHERE), an undefined action (FLY),
    no actions, or "*" next to other actions; a resource may define "*": the
    oddities Stytch accepts and CompiledPolicy warns about.
    """
    granted_resources = [*RESOURCES, NOWHERE]
    granted_actions = [*ACTIONS, FLY]
    resources = [
        {
            "resource_id": resource_id,
            "description": "",
            "actions": [a for a in read_actions(r, ACTIONS, 0) if a != "*"]
            + (["*"] if r.byte() == 255 else []),
        }
        for resource_id in RESOURCES
        if r.chance(3)
    ]
    roles = [
        {
            "role_id": role_id,
            "description": "",
            "permissions": read_grants(r, granted_resources, granted_actions),
        }
        for role_id in ROLES
        if r.chance(3)
    ]
    scopes = [
        {
            "scope": scope,
            "description": "",
            "permissions": read_grants(r, granted_resources, granted_actions),
        }
        for scope in SCOPES
        if r.chance(3)
    ]
    return {"roles": roles, "resources": resources, "scopes": scopes}


def read_org_policy(r: Reader, project: Doc) -> Doc:
    """An org policy: mostly valid grants on project resources, now and then breaking a rule.

    The rules of validate_org_policy: unique new role ids, project resources and
    actions only, at least one action, "*" alone, no blank action.
    """
    defined = {res["resource_id"]: res["actions"] for res in project["resources"]}

    def grant() -> Doc:
        if defined and r.chance(3):
            resource = r.pick(sorted(defined))
            actions = ["*"] if r.chance(1) else r.subset(defined[resource]) or ["*"]
            return {"resource_id": resource, "actions": actions}
        wild = [*RESOURCES, NOWHERE]
        return {"resource_id": r.pick(wild), "actions": read_actions(r, [*ACTIONS, FLY, " "], 1)}

    return {
        "roles": [
            {
                "role_id": r.pick(ORG_ROLES),
                "description": "",
                "permissions": [grant() for _ in range(r.byte() % 4)],
            }
            for _ in range(r.byte() % 4)
        ]
    }


def defined_pairs(doc: Doc) -> set[tuple[str, str]]:
    """What the policy defines, computed from the document (not from CompiledPolicy)."""
    return {(r["resource_id"], a) for r in doc["resources"] for a in r["actions"] if a != "*"}


def read_check(r: Reader, defined: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """A (resource, action): three times in four a defined one, else anything, "*" included."""
    if defined and r.chance(3):
        return r.pick(defined)
    return r.pick([*RESOURCES, NOWHERE]), r.pick([*ACTIONS, "*", FLY])


def read_questions(r: Reader, doc: Doc, role_ids: Sequence[str]) -> list[Question]:
    """One to six (roles, resource, action) questions; roles may repeat or be unknown."""
    defined = sorted(defined_pairs(doc))
    questions: list[Question] = []
    for _ in range(1 + r.byte() % 6):
        roles = r.subset([*role_ids, *GHOSTS][:8])
        if roles and r.chance(1):
            roles.append(roles[-1])
        questions.append((roles, *read_check(r, defined)))
    return questions


def compile_both(policy: Policy) -> tuple[CompiledPolicy, CompiledPolicy]:
    """(strict, lenient) compiled policies (the accepted oddities are problems, not warnings)."""
    return CompiledPolicy(policy, strict=True), CompiledPolicy(policy, strict=False)


def sdk_check(resource: str, action: str) -> AuthorizationCheck:
    """The SDK's own check object."""
    return AuthorizationCheck(organization_id="org", resource_id=resource, action=action)


def assert_same_as_sdk(
    strict: CompiledPolicy,
    lenient: CompiledPolicy,
    sdk_policy: rbac_local.Policy,
    defined: set[tuple[str, str]],
    question: Question,
) -> None:
    """One question: our answers equal the SDK's scan, or strict mode raised for an unknown pair."""
    roles, resource, action = question
    if (resource, action) not in defined:
        event("unknown (resource, action): strict raised, lenient denied")
        with pytest.raises(UnknownPermission):
            strict.decide(roles, resource, action)
        with pytest.raises(UnknownPermission):
            strict.allows(roles, resource, action)
        assert not lenient.decide(roles, resource, action)
        assert lenient.allows(roles, resource, action) is False
        return
    check = sdk_check(resource, action)
    expected = rbac_local.is_authorized(sdk_policy, roles, check)
    event("allowed" if expected else "denied")
    decision = strict.decide(roles, resource, action)
    assert decision.allowed is expected
    assert (decision.resource, decision.action) == (resource, action)
    assert decision.granted_by == {
        role for role in set(roles) if rbac_local.is_authorized(sdk_policy, [role], check)
    }
    assert strict.allows(roles, resource, action) is expected
    assert lenient.decide(roles, resource, action) == decision
    assert strict.decide(frozenset(roles), resource, action) == decision
    assert strict.stytch_decide(roles, resource, action) == decision


def assert_stytch_rule(policy: CompiledPolicy, sdk_policy: rbac_local.Policy, q: Question) -> None:
    """stytch_decide() is the SDK's scan on any question: it never raises, never reads resources."""
    roles, resource, action = q
    check = sdk_check(resource, action)
    decision = policy.stytch_decide(roles, resource, action)
    assert decision.allowed is rbac_local.is_authorized(sdk_policy, roles, check)
    assert decision.granted_by == {
        role for role in set(roles) if rbac_local.is_authorized(sdk_policy, [role], check)
    }


@PROPERTY
@given(raw=EXAMPLE_BYTES)
def test_decide_equals_sdk_is_authorized(raw: bytes) -> None:
    """decide()/allows()/permissions() equal rbac_local.is_authorized wherever strict allows."""
    r = Reader(raw)
    doc = read_policy(r)
    note(json.dumps(doc))
    strict, lenient = compile_both(Policy.parse(doc))
    sdk_policy = rbac_local.policy_from_b2b_policy(SDKPolicy.model_validate(doc))
    defined = defined_pairs(doc)
    role_ids = [role["role_id"] for role in doc["roles"]]
    for question in read_questions(r, doc, role_ids):
        note(f"question: {question}")
        assert_same_as_sdk(strict, lenient, sdk_policy, defined, question)
        assert_stytch_rule(strict, sdk_policy, question)
    roles = r.subset([*role_ids, *GHOSTS][:8])
    table = strict.permissions(roles)
    assert {(res, a) for res, actions in table.items() for a in actions} == defined
    for resource, action in defined:
        allowed = rbac_local.is_authorized(sdk_policy, roles, sdk_check(resource, action))
        assert table[resource][action] is allowed


def reference_scope_grants(doc: Doc, claim: str, resource: str, action: str) -> set[str]:
    """Reference 4.6, transcribed: the token's scopes (split on whitespace) that grant."""
    held = claim.split()
    return {
        scope["scope"]
        for scope in doc["scopes"]
        if scope["scope"] in held
        for perm in scope["permissions"]
        if perm["resource_id"] == resource and ("*" in perm["actions"] or action in perm["actions"])
    }


@PROPERTY
@given(raw=EXAMPLE_BYTES)
def test_scope_decide_equals_reference(raw: bytes) -> None:
    """scope_decide() equals reference 4.6 and the SDK's scope_authorization_check."""
    r = Reader(raw)
    doc = read_policy(r)
    note(json.dumps(doc))
    strict, lenient = compile_both(Policy.parse(doc))
    sdk_policy = rbac_local.policy_from_b2b_policy(SDKPolicy.model_validate(doc))
    defined = defined_pairs(doc)
    for _ in range(1 + r.byte() % 6):
        names = r.subset(TOKEN_SCOPES)
        claim = "".join(r.pick(GAPS) + name for name in names) + r.pick(GAPS)
        resource, action = read_check(r, sorted(defined))
        note(f"claim {claim!r}, check {resource}:{action}")
        if (resource, action) not in defined:
            with pytest.raises(UnknownPermission):
                strict.scope_decide(claim, resource, action)
            assert not lenient.scope_allows(claim, resource, action)
            continue
        expected = reference_scope_grants(doc, claim, resource, action)
        sdk = rbac_local.scope_authorization_check(sdk_policy, claim.split(), resource, action)
        assert bool(expected) is sdk
        event("scope allowed" if sdk else "scope denied")
        decision = strict.scope_decide(claim, resource, action)
        assert decision.allowed is sdk
        assert decision.granted_by == expected
        assert strict.scope_decide(names, resource, action) == decision
        assert strict.scope_allows(claim, resource, action) is sdk


@PROPERTY
@given(raw=EXAMPLE_BYTES)
def test_with_org_equals_sdk_merge(raw: bytes) -> None:
    """with_org() rejects what validate_org_policy rejects, else decides like the SDK's merge."""
    r = Reader(raw)
    doc = read_policy(r)
    org = read_org_policy(r, doc)
    note(json.dumps(doc))
    note(json.dumps(org))
    strict, lenient = compile_both(Policy.parse(doc))
    sdk_project = SDKPolicy.model_validate(doc)
    sdk_org = SDKOrgPolicy.model_validate(org)
    try:
        Organizations.validate_org_policy(sdk_project, sdk_org)
    except Exception:  # the SDK raises a bare Exception
        sdk_valid = False
    else:
        sdk_valid = True
    org_policy = OrgPolicy.parse(org)
    if not sdk_valid:
        event("org policy rejected by both")
        with pytest.raises(PolicyError, match="org role"):
            strict.with_org(org_policy)
        return
    event("org policy accepted by both" if org["roles"] else "empty org policy")
    merged, merged_lenient = strict.with_org(org_policy), lenient.with_org(org_policy)
    sdk_merged = rbac_local.policy_from_b2b_policy(_merge_policies(sdk_project, sdk_org))
    role_ids = [role["role_id"] for role in [*doc["roles"], *org["roles"]]]
    defined = defined_pairs(doc)
    for question in read_questions(r, doc, role_ids):
        note(f"question: {question}")
        assert_same_as_sdk(merged, merged_lenient, sdk_merged, defined, question)
        assert_stytch_rule(merged, sdk_merged, question)


def fitting_roles(sdk_project: SDKPolicy, org: Doc) -> list[Doc]:
    """The org roles Stytch's validate_org_policy accepts one by one, and whose id no other
    org role shares: the reference for what ``with_fitting_org_roles`` keeps."""
    ids = [role["role_id"] for role in org["roles"]]
    kept = []
    for role in org["roles"]:
        if ids.count(role["role_id"]) > 1:
            continue
        try:
            Organizations.validate_org_policy(
                sdk_project, SDKOrgPolicy.model_validate({"roles": [role]})
            )
        except Exception:  # the SDK raises a bare Exception
            continue
        kept.append(role)
    return kept


@PROPERTY
@given(raw=EXAMPLE_BYTES)
def test_with_fitting_org_roles_equals_sdk_merge_of_the_roles_that_fit(raw: bytes) -> None:
    """with_fitting_org_roles() never raises: it reports a problem exactly when
    validate_org_policy refuses the org policy, and decides like the SDK's merge of the
    roles that fit alone (issue 14 item 11: unfit org roles are ignored, not fatal)."""
    r = Reader(raw)
    doc = read_policy(r)
    org = read_org_policy(r, doc)
    note(json.dumps(doc))
    note(json.dumps(org))
    strict, lenient = compile_both(Policy.parse(doc))
    sdk_project = SDKPolicy.model_validate(doc)
    try:
        Organizations.validate_org_policy(sdk_project, SDKOrgPolicy.model_validate(org))
    except Exception:  # the SDK raises a bare Exception
        sdk_valid = False
    else:
        sdk_valid = True
    org_policy = OrgPolicy.parse(org)
    merged, problems = strict.with_fitting_org_roles(org_policy)
    merged_lenient, _ = lenient.with_fitting_org_roles(org_policy)
    assert (not problems) is sdk_valid
    kept = fitting_roles(sdk_project, org)
    event(f"{len(kept)} of {len(org['roles'])} org roles fit")
    assert {p.subject for p in problems}.isdisjoint(role["role_id"] for role in kept)
    sdk_merged = rbac_local.policy_from_b2b_policy(
        _merge_policies(sdk_project, SDKOrgPolicy.model_validate({"roles": kept}))
    )
    role_ids = [role["role_id"] for role in [*doc["roles"], *org["roles"]]]
    defined = defined_pairs(doc)
    for question in read_questions(r, doc, role_ids):
        note(f"question: {question}")
        assert_same_as_sdk(merged, merged_lenient, sdk_merged, defined, question)
        assert_stytch_rule(merged, sdk_merged, question)


@PROPERTY
@given(raw=EXAMPLE_BYTES)
def test_the_org_policy_is_needed_only_for_roles_the_project_does_not_define(raw: bytes) -> None:
    """Deciding with the project policy alone whenever ``defines_roles(roles)`` (what
    ``StytchRBAC.policy_for`` does, fetching no org policy) answers every question as
    the fully merged policy compiled from scratch does (issue 14 item 15)."""
    r = Reader(raw)
    doc = read_policy(r)
    org = read_org_policy(r, doc)
    note(json.dumps(doc))
    note(json.dumps(org))
    project_policy = Policy.parse(doc)
    project = CompiledPolicy(project_policy)
    kept = OrgPolicy.parse({"roles": fitting_roles(SDKPolicy.model_validate(doc), org)})
    full = CompiledPolicy(project_policy.merged(kept))
    role_ids = [role["role_id"] for role in [*doc["roles"], *org["roles"]]]
    for roles, resource, action in read_questions(r, doc, role_ids):
        note(f"question: {roles}, {resource}, {action}")
        if project.defines_roles(roles):
            event("decided without the org policy")
            chosen = project
        else:
            event("org policy fetched")
            chosen = project.with_fitting_org_roles(OrgPolicy.parse(org))[0]
        assert chosen.stytch_decide(roles, resource, action) == full.stytch_decide(
            roles, resource, action
        )
        assert chosen.permissions(roles) == full.permissions(roles)
        if full.is_known(resource, action):
            assert chosen.decide(roles, resource, action) == full.decide(roles, resource, action)
            assert chosen.allows(roles, resource, action) is full.allows(roles, resource, action)
