"""Policy parsing, the org merge, CompiledPolicy decisions, strictness, errors and warnings.

The equivalence with the stytch SDK's own decision function on random
policies is in ``test_policy_sdk_equivalence.py``.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from stytch_rbac import (
    CompiledPolicy,
    Decision,
    OrgPolicy,
    Permission,
    Policy,
    PolicyError,
    StrEnum,
    UnknownPermission,
)
from stytch_rbac.integrations.responses import status_for
from stytch_rbac.policy.problems import PolicyProblem, SubjectKind

EXAMPLE_FILE = Path(__file__).resolve().parents[2] / "examples" / "policy.json"

Doc = dict[str, Any]


def small_doc() -> Doc:
    """A small valid policy document: three roles, two resources, two scopes."""
    return {
        "roles": [
            {
                "role_id": "reader",
                "description": "reads docs",
                "permissions": [{"resource_id": "docs", "actions": ["read"]}],
            },
            {
                "role_id": "writer",
                "description": "",
                "permissions": [
                    {"resource_id": "docs", "actions": ["read", "write"]},
                    {"resource_id": "billing", "actions": ["read"]},
                ],
            },
            {
                "role_id": "admin",
                "description": "",
                "permissions": [{"resource_id": "docs", "actions": ["*"]}],
            },
        ],
        "resources": [
            {"resource_id": "docs", "description": "", "actions": ["read", "write", "delete"]},
            {"resource_id": "billing", "description": "", "actions": ["read", "pay"]},
        ],
        "scopes": [
            {
                "scope": "read:docs",
                "description": "",
                "permissions": [{"resource_id": "docs", "actions": ["read"]}],
            },
            {
                "scope": "docs:all",
                "description": "",
                "permissions": [{"resource_id": "docs", "actions": ["*"]}],
            },
        ],
    }


@pytest.fixture(scope="module")
def compiled(example_policy: Policy) -> CompiledPolicy:
    """The example policy, compiled strict."""
    return CompiledPolicy(example_policy)


@pytest.fixture(scope="module")
def lenient(example_policy: Policy) -> CompiledPolicy:
    """The example policy, compiled with strict=False."""
    return CompiledPolicy(example_policy, strict=False)


# --------------------------------------------------------------------------- parsing


def _sources(doc: Doc, tmp_path: Path) -> dict[str, Any]:
    text = json.dumps(doc)
    path = tmp_path / "policy.json"
    path.write_text(text)
    return {"mapping": doc, "str": text, "bytes": text.encode(), "path": path}


@pytest.mark.parametrize("kind", ["mapping", "str", "bytes", "path"])
@pytest.mark.parametrize(
    "wrap",
    [
        pytest.param(lambda d: d, id="policy-object"),
        pytest.param(
            lambda d: {"request_id": "request-id-test-1", "status_code": 200, "policy": d},
            id="whole-response",
        ),
    ],
)
def test_parse_every_source_form_gives_the_same_policy(
    kind: str, wrap: Callable[[Doc], Doc], tmp_path: Path
) -> None:
    """The whole GET rbac/policy response and its policy object parse alike from any source."""
    expected = Policy.model_validate(small_doc())
    source = _sources(wrap(small_doc()), tmp_path)[kind]
    assert Policy.parse(source) == expected


def test_from_file_accepts_str_and_path(example_policy: Policy) -> None:
    """Policy.from_file reads a str path or a Path, and matches the example fixture."""
    assert Policy.from_file(str(EXAMPLE_FILE)) == Policy.from_file(EXAMPLE_FILE) == example_policy


def test_example_policy_shape(example_policy: Policy) -> None:
    """The example has Stytch's default resources and roles plus custom ones and scopes."""
    resource_ids = {r.resource_id for r in example_policy.resources}
    role_ids = {r.role_id for r in example_policy.roles}
    defaults = {"stytch.organization", "stytch.member", "stytch.self", "stytch.sso", "stytch.scim"}
    assert defaults <= resource_ids
    assert len(resource_ids - defaults - {"stytch.custom-org-roles"}) >= 6
    assert {"stytch_member", "stytch_admin"} <= role_ids
    assert len(role_ids) - 2 >= 5
    assert len(example_policy.scopes) >= 2


def test_to_json_round_trips_the_file(example_policy: Policy) -> None:
    """to_json() gives back exactly the JSON object the file holds."""
    assert example_policy.to_json() == json.loads(EXAMPLE_FILE.read_text())
    assert Policy.parse(example_policy.to_json()) == example_policy


def test_missing_optional_fields_default_to_empty() -> None:
    """Descriptions, permissions, actions and top-level lists may be omitted by hand."""
    policy = Policy.parse({"roles": [{"role_id": "r"}], "resources": [{"resource_id": "x"}]})
    assert policy.roles[0].description == ""
    assert policy.roles[0].permissions == ()
    assert policy.resources[0].actions == ()
    assert policy.scopes == ()


def test_extra_keys_are_ignored() -> None:
    """Unknown keys (future Stytch fields) are ignored, as the SDK's models do."""
    doc = small_doc()
    doc["roles"][0]["color"] = "red"
    doc["etag"] = "x"
    assert Policy.parse(doc) == Policy.parse(small_doc())


def test_models_are_frozen(example_policy: Policy) -> None:
    """Policy models are immutable, so a compiled index cannot go stale under it."""
    with pytest.raises(ValueError, match="frozen"):
        example_policy.roles[0].role_id = "x"  # type: ignore[misc]


def test_canonical_hash_ignores_order() -> None:
    """sha256() is equal for the same policy in any order and differs when a grant changes."""
    doc = small_doc()
    shuffled = copy.deepcopy(doc)
    for key in ("roles", "resources", "scopes"):
        shuffled[key].reverse()
    shuffled["roles"][1]["permissions"].reverse()
    shuffled["resources"][0]["actions"].reverse()
    assert Policy.parse(doc).sha256() == Policy.parse(shuffled).sha256()
    changed = copy.deepcopy(doc)
    changed["roles"][0]["permissions"][0]["actions"] = ["write"]
    assert Policy.parse(doc).sha256() != Policy.parse(changed).sha256()
    assert len(Policy.parse(doc).sha256()) == 64


# --------------------------------------------------------------------------- the stytch SDK models


def test_policy_round_trips_through_the_sdk_model(example_policy: Policy) -> None:
    """to_stytch() gives the SDK's Policy model, and from_stytch() gives back an equal policy."""
    from stytch.b2b.models.rbac import Policy as SDKPolicy

    sdk = example_policy.to_stytch()
    assert isinstance(sdk, SDKPolicy)
    assert [r.role_id for r in sdk.roles] == [r.role_id for r in example_policy.roles]
    assert Policy.from_stytch(sdk) == example_policy
    # The SDK parsing the same JSON independently agrees with our parse.
    assert Policy.from_stytch(SDKPolicy.model_validate(json.loads(EXAMPLE_FILE.read_text()))) == (
        example_policy
    )


def test_org_policy_round_trips_through_the_sdk_model() -> None:
    """OrgPolicy.to_stytch()/from_stytch() round-trip through the SDK's OrgPolicy model."""
    from stytch.b2b.models.rbac import OrgPolicy as SDKOrgPolicy

    org = OrgPolicy.parse(
        {"roles": [{"role_id": "o", "description": "d", "permissions": [small_perm()]}]}
    )
    sdk = org.to_stytch()
    assert isinstance(sdk, SDKOrgPolicy)
    assert sdk.roles[0].permissions[0].actions == ["read"]
    assert OrgPolicy.from_stytch(sdk) == org


def test_from_stytch_rejects_what_parse_rejects() -> None:
    """An SDK Policy with a duplicate role id is refused by from_stytch like by parse."""
    from stytch.b2b.models.rbac import Policy as SDKPolicy

    doc = small_doc()
    doc["roles"].append(copy.deepcopy(doc["roles"][0]))
    with pytest.raises(PolicyError, match="role 'reader' is defined more than once"):
        Policy.from_stytch(SDKPolicy.model_validate(doc))


def test_local_decisions_never_import_the_sdk() -> None:
    """Importing stytch_rbac, parsing, compiling and deciding leave `stytch` unimported."""
    code = (
        "import sys, stytch_rbac\n"
        "assert 'stytch' not in sys.modules, 'import stytch_rbac imported stytch'\n"
        f"p = stytch_rbac.Policy.from_file({str(EXAMPLE_FILE)!r})\n"
        "c = stytch_rbac.CompiledPolicy(p)\n"
        "assert c.decide(['editor'], 'documents', 'edit')\n"
        "c.with_org(stytch_rbac.OrgPolicy())\n"
        "assert not [m for m in sys.modules if m == 'stytch' or m.startswith('stytch.')], "
        "sorted(m for m in sys.modules if m.startswith('stytch.'))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


# --------------------------------------------------------------------------- org policy merge


def small_perm(resource: str = "docs", *actions: str) -> Doc:
    """One permission object (default: read on docs)."""
    return {"resource_id": resource, "actions": list(actions or ("read",))}


def org_doc(*roles: Doc) -> Doc:
    """An org_policy object holding the given roles."""
    return {"roles": list(roles)}


def org_role(role_id: str, *permissions: Doc) -> Doc:
    """One org custom role."""
    return {"role_id": role_id, "description": "", "permissions": list(permissions)}


def test_merge_adds_org_roles_and_keeps_project_resources_and_scopes() -> None:
    """Stytch's merge: org roles appended to project roles; resources and scopes unchanged."""
    project = Policy.parse(small_doc())
    org = OrgPolicy.parse(org_doc(org_role("deleter", small_perm("docs", "delete"))))
    merged = project.merged(org)
    assert [r.role_id for r in merged.roles] == ["reader", "writer", "admin", "deleter"]
    assert merged.resources == project.resources
    assert merged.scopes == project.scopes
    assert project.merged(None) is project
    assert project.merged(OrgPolicy()) is project


def test_with_org_grants_org_roles_only_in_the_merged_policy() -> None:
    """with_org() decides with the org's roles; the project policy object is unchanged."""
    project = CompiledPolicy(Policy.parse(small_doc()), strict=False)
    org = OrgPolicy.parse(org_doc(org_role("deleter", small_perm("docs", "delete"))))
    merged = project.with_org(org)
    assert merged.decide(["deleter"], "docs", "delete") == Decision(
        True, "docs", "delete", frozenset({"deleter"})
    )
    assert merged.decide(["deleter", "admin"], "docs", "delete").granted_by == {"deleter", "admin"}
    assert not project.allows(["deleter"], "docs", "delete")
    assert merged.strict is False
    assert "deleter" in merged.role_ids
    assert "deleter" not in project.role_ids
    assert project.with_org(None) is project
    assert project.with_org(OrgPolicy()) is project


def test_org_roles_never_grant_through_scopes() -> None:
    """Scopes come from the project only: an org role named like a scope grants no scope check."""
    project = CompiledPolicy(Policy.parse(small_doc()))
    merged = project.with_org(OrgPolicy.parse(org_doc(org_role("billing:pay"))))
    assert not merged.scope_allows("billing:pay", "billing", "pay")


def test_org_policy_parse_accepts_whole_response_and_object(tmp_path: Path) -> None:
    """OrgPolicy.parse takes the GET rbac/organizations/{id} response or its org_policy object."""
    inner = org_doc(org_role("o", small_perm()))
    response = {"status_code": 200, "request_id": "r", "org_policy": inner}
    path = tmp_path / "org.json"
    path.write_text(json.dumps(response))
    parsed = {
        OrgPolicy.parse(inner),
        OrgPolicy.parse(response),
        OrgPolicy.parse(json.dumps(inner)),
        OrgPolicy.parse(json.dumps(response).encode()),
        OrgPolicy.parse(path),
    }
    assert len(parsed) == 1
    assert OrgPolicy.parse({"org_policy": {"roles": []}}) == OrgPolicy()


_PROJECT_FOR_ORG = small_doc()


@pytest.mark.parametrize(
    ("org", "message", "sdk_rejects"),
    [
        pytest.param(
            org_doc(org_role("o", small_perm()), org_role("o", small_perm())),
            "org role 'o' is defined more than once",
            True,
            id="duplicate-org-role",
        ),
        pytest.param(
            org_doc(org_role("writer", small_perm())),
            "org role 'writer' already exists in the project policy",
            True,
            id="role-already-in-project",
        ),
        pytest.param(
            org_doc(org_role("o", small_perm("reports", "read"))),
            "org role 'o' on resource 'reports': that resource is not defined",
            True,
            id="undefined-resource",
        ),
        pytest.param(
            org_doc(org_role("o", {"resource_id": "docs", "actions": []})),
            "org role 'o' on resource 'docs' grants no actions",
            True,
            id="no-actions",
        ),
        pytest.param(
            org_doc(org_role("o", small_perm("docs", "*", "read"))),
            "org role 'o' on resource 'docs': '\\*' must stand alone",
            True,
            id="wildcard-not-alone",
        ),
        pytest.param(
            org_doc(org_role("o", small_perm("docs", "read", " "))),
            "org role 'o' on resource 'docs' grants a blank action",
            True,
            id="blank-action",
        ),
        pytest.param(
            org_doc(org_role("o", small_perm("docs", "fly"))),
            "org role 'o' on resource 'docs' grants undefined action 'fly'",
            True,
            id="undefined-action",
        ),
        pytest.param(
            org_doc(org_role(" ", small_perm())),
            r"roles\[0\]: an org role has a blank id",
            False,
            id="blank-org-role-id",
        ),
    ],
)
def test_org_policy_rules_raise_policy_error(org: Doc, message: str, sdk_rejects: bool) -> None:
    """Each rule of Stytch's validate_org_policy is a PolicyError naming the role, on merge."""
    from stytch.b2b.api.rbac_organizations import Organizations
    from stytch.b2b.models.rbac import OrgPolicy as SDKOrgPolicy
    from stytch.b2b.models.rbac import Policy as SDKPolicy

    project = Policy.parse(_PROJECT_FOR_ORG)
    org_policy = OrgPolicy.parse(org)
    with pytest.raises(PolicyError, match=message):
        project.merged(org_policy)
    with pytest.raises(PolicyError, match=message):
        CompiledPolicy(project).with_org(org_policy)
    # The SDK's own validator agrees (it does not check blank role ids; we do).
    sdk_error: Exception | None = None
    try:
        Organizations.validate_org_policy(
            SDKPolicy.model_validate(_PROJECT_FOR_ORG), SDKOrgPolicy.model_validate(org)
        )
    except Exception as exc:  # the SDK raises a bare Exception
        sdk_error = exc
    assert (sdk_error is not None) == sdk_rejects


def test_valid_org_policy_with_lone_wildcard_merges() -> None:
    """An org role with ["*"] on a project resource is valid (the SDK validator agrees)."""
    project = CompiledPolicy(Policy.parse(small_doc()))
    merged = project.with_org(OrgPolicy.parse(org_doc(org_role("o", small_perm("billing", "*")))))
    assert merged.allows(["o"], "billing", "pay")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        pytest.param("{", "org policy is not valid JSON", id="not-json"),
        pytest.param("[]", "expected a JSON object, got an array", id="not-an-object"),
        pytest.param('{"org_policy": null}', "expected a JSON object, got null", id="null"),
        pytest.param("{}", "no 'roles'", id="empty-document"),
        pytest.param('{"roles": {}}', "roles: expected an array, got an object", id="roles-object"),
        pytest.param(
            '{"roles": [{"role_id": 7}]}',
            r"roles\[0\].role_id: expected a string, got a number \(7\)",
            id="non-string-role-id",
        ),
        pytest.param(
            '{"roles": [{"description": "x"}]}',
            r"roles\[0\].role_id: missing required field",
            id="missing-role-id",
        ),
    ],
)
def test_malformed_org_policy_documents(source: str, message: str) -> None:
    """A malformed org policy document is a PolicyError saying what and where."""
    with pytest.raises(PolicyError, match=message):
        OrgPolicy.parse(source)


# --------------------------------------------------------------------------- decisions

_FOUR = ("stytch_member", "viewer", "developer", "auditor")


@pytest.mark.parametrize(
    ("roles", "resource", "action", "granted_by"),
    [
        pytest.param(["editor"], "documents", "edit", {"editor"}, id="explicit-action"),
        pytest.param(["viewer"], "documents", "edit", set(), id="action-not-granted"),
        pytest.param(["viewer"], "billing", "read", set(), id="resource-not-granted"),
        pytest.param(["owner"], "documents", "delete", {"owner"}, id="wildcard"),
        pytest.param(["owner"], "stytch.member", "delete", set(), id="wildcard-is-per-resource"),
        pytest.param(
            ["stytch_member"], "stytch.self", "update.info.name", {"stytch_member"}, id="default"
        ),
        pytest.param(["stytch_member"], "stytch.member", "delete", set(), id="member-not-admin"),
        pytest.param(["stytch_admin"], "stytch.scim", "update", {"stytch_admin"}, id="admin"),
        pytest.param(["stytch_admin"], "documents", "read", set(), id="admin-not-custom"),
        pytest.param(
            ["viewer", "editor", "project_manager", "owner"],
            "documents",
            "read",
            {"viewer", "editor", "project_manager", "owner"},
            id="every-granting-role",
        ),
        pytest.param(
            ["viewer", "editor", "project_manager", "owner"],
            "documents",
            "delete",
            {"project_manager", "owner"},
            id="only-granting-roles",
        ),
        pytest.param(list(_FOUR), "audit_logs", "export", {"auditor"}, id="four-roles-allow"),
        pytest.param(list(_FOUR), "billing", "update", set(), id="four-roles-deny"),
        pytest.param([], "documents", "read", set(), id="no-roles"),
        pytest.param(["ghost", "Editor"], "documents", "edit", set(), id="unknown-role-ids"),
        pytest.param(
            ["auditor", "project_manager"],
            "stytch.member",
            "search",
            {"auditor", "project_manager"},
            id="custom-role-on-default-resource",
        ),
    ],
)
def test_decide_table(
    compiled: CompiledPolicy,
    roles: list[str],
    resource: str,
    action: str,
    granted_by: set[str],
) -> None:
    """decide() allows iff a held role grants the action (or '*'), naming every granting role."""
    decision = compiled.decide(roles, resource, action)
    assert decision == Decision(bool(granted_by), resource, action, frozenset(granted_by))
    assert bool(decision) is bool(granted_by)
    assert compiled.allows(roles, resource, action) is bool(granted_by)
    assert compiled.decide(frozenset(roles), resource, action) == decision


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(list, id="list"),
        pytest.param(tuple, id="tuple"),
        pytest.param(set, id="set"),
        pytest.param(frozenset, id="frozenset"),
        pytest.param(lambda r: iter(list(r)), id="iterator"),
        pytest.param(dict.fromkeys, id="dict-keys"),
    ],
)
def test_roles_may_be_any_iterable_of_str(
    compiled: CompiledPolicy, make: Callable[[Iterable[str]], Iterable[str]]
) -> None:
    """Roles given as any iterable of role ids decide alike."""
    assert compiled.allows(make(["viewer", "billing_admin"]), "billing", "export")
    assert compiled.decide(make(["viewer", "billing_admin"]), "billing", "export").granted_by == {
        "billing_admin"
    }
    assert not compiled.allows(make(["viewer"]), "billing", "export")


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.allows("editor", "documents", "edit"), id="allows"),
        pytest.param(lambda c: c.decide("editor", "documents", "edit"), id="decide"),
        pytest.param(lambda c: c.permissions("editor"), id="permissions"),
        pytest.param(lambda c: c.granted("editor"), id="granted"),
    ],
)
def test_a_single_string_of_roles_is_a_type_error(
    compiled: CompiledPolicy, call: Callable[[CompiledPolicy], object]
) -> None:
    """One role id passed as a bare string raises TypeError instead of checking its letters."""
    with pytest.raises(TypeError, match="not one string"):
        call(compiled)


def test_decision_is_truthy_iff_allowed() -> None:
    """A Decision is truthy exactly when allowed, and compares by value."""
    assert Decision(True, "r", "a", frozenset({"x"}))
    assert not Decision(False, "r", "a")
    assert Decision(False, "r", "a") == Decision(False, "r", "a", frozenset())
    assert hash(Decision(True, "r", "a", frozenset({"x"}))) == hash(
        Decision(True, "r", "a", frozenset({"x"}))
    )


def test_decision_is_immutable(compiled: CompiledPolicy) -> None:
    """Decisions (denials are shared between calls) cannot be modified."""
    from dataclasses import FrozenInstanceError

    for decision in (
        compiled.decide(["viewer"], "documents", "delete"),
        compiled.decide(["owner"], "documents", "delete"),
    ):
        with pytest.raises(FrozenInstanceError):
            decision.allowed = not decision.allowed  # type: ignore[misc]


class Resource(StrEnum):
    """Generated-style resource ids."""

    DOCUMENTS = "documents"
    BILLING = "billing"


class DocumentsAction(StrEnum):
    """Generated-style action ids."""

    EDIT = "edit"
    DELETE = "delete"


class Role(StrEnum):
    """Generated-style role ids."""

    EDITOR = "editor"
    OWNER = "owner"


def test_strenum_members_are_accepted(compiled: CompiledPolicy) -> None:
    """StrEnum resources, actions and roles decide exactly like their string values."""
    decision = compiled.decide([Role.EDITOR], Resource.DOCUMENTS, DocumentsAction.EDIT)
    assert decision == compiled.decide(["editor"], "documents", "edit")
    assert type(decision.resource) is str
    assert type(decision.action) is str
    assert compiled.allows({Role.OWNER}, Resource.DOCUMENTS, DocumentsAction.DELETE)
    assert not compiled.allows({Role.EDITOR}, Resource.DOCUMENTS, DocumentsAction.DELETE)
    assert compiled.is_known(Resource.BILLING, "read")
    assert compiled.scope_allows(["read:documents"], Resource.DOCUMENTS, "read")
    denied = compiled.decide([Role.EDITOR], Resource.DOCUMENTS, DocumentsAction.DELETE)
    assert type(denied.resource) is str
    assert type(denied.action) is str


# --------------------------------------------------------------------------- strictness


@pytest.mark.parametrize(
    ("resource", "action", "missing_action"),
    [
        pytest.param("documnets", "read", None, id="unknown-resource"),
        pytest.param("documents", "raed", "raed", id="unknown-action"),
        pytest.param("documents", "*", "*", id="wildcard-is-not-an-action"),
        pytest.param("stytch.self", "fly", "fly", id="wildcard-holder-undefined-action"),
        pytest.param("", "read", None, id="blank-resource"),
    ],
)
def test_strict_raises_unknown_permission_and_lenient_denies(
    compiled: CompiledPolicy,
    lenient: CompiledPolicy,
    resource: str,
    action: str,
    missing_action: str | None,
) -> None:
    """An undefined resource or action raises UnknownPermission in strict mode, else denies."""
    owner_roles = ["owner", "stytch_member", "stytch_admin"]
    for call in (compiled.allows, compiled.decide):
        with pytest.raises(UnknownPermission) as info:
            call(owner_roles, resource, action)
        assert info.value.resource == resource
        assert info.value.action == missing_action
        assert repr(resource) in str(info.value)
    with pytest.raises(UnknownPermission):
        compiled.scope_decide(["read:documents"], resource, action)
    with pytest.raises(UnknownPermission):
        compiled.check_known(resource, action)
    assert not compiled.is_known(resource, action)
    assert lenient.decide(owner_roles, resource, action) == Decision(False, resource, action)
    assert lenient.allows(owner_roles, resource, action) is False
    assert lenient.scope_decide("read:documents", resource, action) == Decision(
        False, resource, action
    )


def test_unknown_permission_is_a_lookup_error(compiled: CompiledPolicy) -> None:
    """UnknownPermission can be caught as LookupError, and has no HTTP status of its own."""
    with pytest.raises(LookupError) as info:
        compiled.allows([], "nope", "read")
    assert isinstance(info.value, UnknownPermission)
    assert status_for(info.value) is None


def test_compile_and_parse_shortcuts(example_policy: Policy) -> None:
    """Policy.compile() and CompiledPolicy.parse() build the same index as the constructor."""
    direct = CompiledPolicy(example_policy, strict=False)
    for other in (
        example_policy.compile(strict=False),
        CompiledPolicy.parse(EXAMPLE_FILE, strict=False),
    ):
        assert other.strict is False
        assert other.policy == example_policy
        assert other.permissions(["editor"]) == direct.permissions(["editor"])
    assert example_policy.compile().strict is True
    assert repr(direct) == "<CompiledPolicy roles=9 resources=13 scopes=3 strict=False>"


# --------------------------------------------------------------------------- permissions()


def test_permissions_lists_every_defined_action(
    compiled: CompiledPolicy, example_policy: Policy
) -> None:
    """permissions() has every resource and every defined action, sorted, and nothing else."""
    table = compiled.permissions([])
    assert list(table) == sorted(r.resource_id for r in example_policy.resources)
    for resource in example_policy.resources:
        assert list(table[resource.resource_id]) == sorted(resource.actions)
    assert not any(allowed for actions in table.values() for allowed in actions.values())
    assert dict(compiled.resources) == {r: tuple(a) for r, a in table.items()}


@pytest.mark.parametrize(
    ("roles", "resource", "expected"),
    [
        pytest.param(
            ["viewer"],
            "documents",
            {
                "create": False,
                "delete": False,
                "download": True,
                "edit": False,
                "read": True,
                "share": False,
            },
            id="viewer-documents",
        ),
        pytest.param(
            ["owner"],
            "documents",
            dict.fromkeys(["create", "delete", "download", "edit", "read", "share"], True),
            id="owner-wildcard",
        ),
        pytest.param(
            ["billing_admin", "auditor"],
            "billing",
            {"export": True, "read": True, "update": True},
            id="union-of-roles",
        ),
        pytest.param(
            ["auditor"],
            "billing",
            {"export": False, "read": True, "update": False},
            id="auditor-billing",
        ),
    ],
)
def test_permissions_table(
    compiled: CompiledPolicy, roles: list[str], resource: str, expected: dict[str, bool]
) -> None:
    """permissions() answers like allows() for every action of a resource."""
    table = compiled.permissions(roles)
    assert table[resource] == expected
    assert all(
        compiled.allows(roles, r, a) is ok
        for r, actions in table.items()
        for a, ok in actions.items()
    )


def test_granted_is_the_true_cells_of_permissions(compiled: CompiledPolicy) -> None:
    """granted() is exactly the (resource, action) pairs permissions() marks True."""
    roles = ["developer", "auditor"]
    table = compiled.permissions(roles)
    expected = {(r, a) for r, actions in table.items() for a, ok in actions.items() if ok}
    assert compiled.granted(roles) == expected
    assert ("webhooks", "delete") in expected
    assert compiled.granted(iter(roles)) == expected


# --------------------------------------------------------------------------- scopes


@pytest.mark.parametrize(
    ("scopes", "resource", "action", "granted_by"),
    [
        pytest.param("read:documents", "documents", "read", {"read:documents"}, id="claim"),
        pytest.param(
            "  read:documents\twrite:documents\n", "documents", "edit", {"write:documents"}, id="ws"
        ),
        pytest.param(["read:documents"], "projects", "read", {"read:documents"}, id="list"),
        pytest.param("read:documents", "documents", "edit", set(), id="not-granted"),
        pytest.param("read:billing read:documents", "billing", "read", {"read:billing"}, id="two"),
        pytest.param("editor owner", "documents", "read", set(), id="role-ids-are-not-scopes"),
        pytest.param("", "documents", "read", set(), id="empty-claim"),
        pytest.param("read:documents:x", "documents", "read", set(), id="exact-scope-names"),
    ],
)
def test_scope_decide_table(
    compiled: CompiledPolicy,
    scopes: str | list[str],
    resource: str,
    action: str,
    granted_by: set[str],
) -> None:
    """scope_decide() allows iff a scope named in the token grants the permission (ref. 4.6)."""
    decision = compiled.scope_decide(scopes, resource, action)
    assert decision == Decision(bool(granted_by), resource, action, frozenset(granted_by))
    assert compiled.scope_allows(scopes, resource, action) is bool(granted_by)


def test_scope_wildcard() -> None:
    """A scope with '*' on a resource grants every action defined on it."""
    policy = CompiledPolicy(Policy.parse(small_doc()))
    for action in ("read", "write", "delete"):
        assert policy.scope_decide("docs:all", "docs", action).granted_by == {"docs:all"}
    assert not policy.scope_allows("docs:all", "billing", "read")


# --------------------------------------------------------------------------- wildcard


def test_wildcard_grants_every_defined_action(
    compiled: CompiledPolicy, example_policy: Policy
) -> None:
    """A role with '*' on a resource is allowed every action that resource defines."""
    owner = next(r for r in example_policy.roles if r.role_id == "owner")
    for perm in owner.permissions:
        assert perm.actions == ("*",)
        for action in compiled.resources[perm.resource_id]:
            assert compiled.decide(["owner"], perm.resource_id, action).granted_by == {"owner"}


def test_wildcard_next_to_other_actions_still_grants_everything() -> None:
    """["read", "*"] (a warned oddity) grants every action, as Stytch's scan does."""
    doc = small_doc()
    doc["roles"][0]["permissions"][0]["actions"] = ["read", "*"]
    policy = CompiledPolicy(Policy.parse(doc))
    assert [p.code for p in policy.problems] == ["wildcard-with-others"]
    assert "lists '*' next to other actions" in policy.problems[0].message
    assert policy.allows(["reader"], "docs", "delete")


# --------------------------------------------------------------------------- malformed policies


def _with(mutate: Callable[[Doc], object]) -> Doc:
    doc = small_doc()
    mutate(doc)
    return doc


_MALFORMED: list[Any] = [
    pytest.param(
        _with(lambda d: d["roles"].append(copy.deepcopy(d["roles"][1]))),
        "role 'writer' is defined more than once",
        id="duplicate-role",
    ),
    pytest.param(
        _with(lambda d: d["resources"].append(copy.deepcopy(d["resources"][0]))),
        "resource 'docs' is defined more than once",
        id="duplicate-resource",
    ),
    pytest.param(
        _with(lambda d: d["scopes"].append(copy.deepcopy(d["scopes"][0]))),
        "scope 'read:docs' is defined more than once",
        id="duplicate-scope",
    ),
    pytest.param(
        _with(lambda d: d["roles"][1].update(role_id="")),
        r"roles\[1\]: a role has a blank id \(''\)",
        id="blank-role-id",
    ),
    pytest.param(
        _with(lambda d: d["resources"][1].update(resource_id="  ")),
        r"resources\[1\]: a resource has a blank id \('  '\)",
        id="blank-resource-id",
    ),
    pytest.param(
        _with(lambda d: d["scopes"][0].update(scope="")),
        r"scopes\[0\]: a scope has a blank id",
        id="blank-scope-id",
    ),
    pytest.param(
        _with(lambda d: d["resources"][0]["actions"].append("")),
        "resource 'docs' defines a blank action",
        id="blank-resource-action",
    ),
    pytest.param(
        _with(lambda d: d["roles"][0]["permissions"][0]["actions"].append(" ")),
        "role 'reader' on resource 'docs' grants a blank action",
        id="blank-granted-action",
    ),
    pytest.param(
        _with(lambda d: d["scopes"][0]["permissions"][0]["actions"].append("")),
        "scope 'read:docs' on resource 'docs' grants a blank action",
        id="blank-scope-action",
    ),
    pytest.param(
        _with(lambda d: d["roles"][1].update(role_id=5)),
        r"roles\[1\]\.role_id: expected a string, got a number \(5\)",
        id="non-string-role-id",
    ),
    pytest.param(
        _with(lambda d: d["resources"][1].update(resource_id=None)),
        r"resources\[1\]\.resource_id: expected a string, got null",
        id="null-resource-id",
    ),
    pytest.param(
        _with(lambda d: d["scopes"][1].update(scope=True)),
        r"scopes\[1\]\.scope: expected a string, got a boolean",
        id="boolean-scope",
    ),
    pytest.param(
        _with(lambda d: d["roles"][1]["permissions"][1].update(resource_id=["billing"])),
        r"roles\[1\] \(role 'writer'\)\.permissions\[1\]\.resource_id: expected a string, "
        "got an array",
        id="non-string-permission-resource",
    ),
    pytest.param(
        _with(lambda d: d["roles"][2]["permissions"][0]["actions"].append(3)),
        r"roles\[2\] \(role 'admin'\)\.permissions\[0\]\.actions\[1\]: expected a string",
        id="non-string-action",
    ),
    pytest.param(
        _with(lambda d: d["resources"][0].update(actions="read")),
        r"resources\[0\] \(resource 'docs'\)\.actions: expected an array, got a string \('read'\)",
        id="actions-is-a-string",
    ),
    pytest.param(
        _with(lambda d: d.update(roles={"reader": {}})),
        "roles: expected an array, got an object",
        id="roles-is-an-object",
    ),
    pytest.param(
        _with(lambda d: d["roles"].__setitem__(0, "reader")),
        r"roles\[0\]: expected an object, got a string",
        id="role-is-a-string",
    ),
    pytest.param(
        _with(lambda d: d["roles"][0].pop("role_id")),
        r"roles\[0\]\.role_id: missing required field",
        id="missing-role-id",
    ),
    pytest.param(
        _with(lambda d: d["resources"][1].pop("resource_id")),
        r"resources\[1\]\.resource_id: missing required field",
        id="missing-resource-id",
    ),
    pytest.param(
        _with(lambda d: d["scopes"][1].pop("scope")),
        r"scopes\[1\]\.scope: missing required field",
        id="missing-scope",
    ),
    pytest.param(
        _with(lambda d: d["roles"][1]["permissions"][0].pop("actions")),
        r"roles\[1\] \(role 'writer'\)\.permissions\[0\]\.actions: missing required field",
        id="missing-permission-actions",
    ),
    pytest.param(
        _with(lambda d: d["scopes"][0]["permissions"][0].pop("resource_id")),
        r"scopes\[0\] \(scope 'read:docs'\)\.permissions\[0\]\.resource_id: missing required",
        id="missing-permission-resource",
    ),
    pytest.param(
        _with(lambda d: (d["roles"][0].pop("role_id"), d["roles"][1].update(role_id=1))),
        r"roles\[0\]\.role_id: missing required field \(and 1 more problem\)",
        id="several-problems",
    ),
    pytest.param("{", "policy is not valid JSON", id="not-json"),
    pytest.param(b"\xff\xfe\x00", "policy is not valid JSON", id="not-utf"),
    pytest.param("", "policy is not valid JSON", id="empty-text"),
    pytest.param("examples/policy.json", "pass a pathlib.Path or use from_file", id="path-as-text"),
    pytest.param("[]", "expected a JSON object, got an array", id="array"),
    pytest.param("5", r"expected a JSON object, got a number \(5\)", id="number"),
    pytest.param("null", "expected a JSON object, got null", id="null"),
    pytest.param({"policy": []}, "expected a JSON object, got an array", id="policy-is-array"),
    pytest.param({"policy": None}, "expected a JSON object, got null", id="policy-is-null"),
    pytest.param({}, "no 'roles', 'resources' or 'scopes'", id="empty-document"),
    pytest.param("{}", "no 'roles', 'resources' or 'scopes'", id="empty-document-text"),
    pytest.param({"policy": {}}, "no 'roles', 'resources' or 'scopes'", id="empty-policy"),
    pytest.param(
        {"status_code": 200, "request_id": "r"}, "no 'roles'", id="response-without-policy"
    ),
]


@pytest.mark.parametrize(("source", "message"), _MALFORMED)
def test_malformed_policy_is_a_policy_error(source: Any, message: str) -> None:
    """Every malformed policy is a PolicyError whose message names the offender."""
    with pytest.raises(PolicyError, match=message) as info:
        Policy.parse(source)
    assert isinstance(info.value, ValueError)
    if isinstance(source, dict) and "roles" in source:
        with pytest.raises(PolicyError, match=message):
            CompiledPolicy.parse(json.dumps(source))


def test_unreadable_file_is_a_policy_error(tmp_path: Path) -> None:
    """A missing policy file is a PolicyError naming the file."""
    missing = tmp_path / "nope.json"
    with pytest.raises(PolicyError, match=r"cannot read policy file .*nope\.json"):
        Policy.from_file(missing)
    with pytest.raises(PolicyError, match="cannot read org policy file"):
        OrgPolicy.parse(missing)


def test_wrong_source_type_is_a_type_error() -> None:
    """A source that is neither text, bytes, a Path nor a mapping raises TypeError."""
    with pytest.raises(TypeError, match="not int"):
        Policy.parse(5)  # type: ignore[arg-type]


def test_compiling_an_invalid_model_is_a_policy_error() -> None:
    """A Policy built in code with a duplicate role is refused by CompiledPolicy too."""
    role = Policy.parse(small_doc()).roles[0]
    with pytest.raises(PolicyError, match="role 'reader' is defined more than once"):
        CompiledPolicy(Policy(roles=(role, role)))


# --------------------------------------------------------------------------- warnings


_WARNED: list[Any] = [
    pytest.param(
        _with(lambda d: d["roles"][0]["permissions"].append(small_perm("reports", "read"))),
        "role 'reader' on resource 'reports': that resource is not defined in the policy",
        ("undefined-resource", "role", "reader", "reports", ("read",)),
        ("reports", "read"),
        id="role-grants-undefined-resource",
    ),
    pytest.param(
        _with(lambda d: d["roles"][0]["permissions"][0]["actions"].append("fly")),
        "role 'reader' on resource 'docs' grants undefined action(s) 'fly'",
        ("undefined-action", "role", "reader", "docs", ("fly",)),
        ("docs", "fly"),
        id="role-grants-undefined-action",
    ),
    pytest.param(
        _with(lambda d: d["scopes"][0]["permissions"].append(small_perm("reports", "read"))),
        "scope 'read:docs' on resource 'reports': that resource is not defined in the policy",
        ("undefined-resource", "scope", "read:docs", "reports", ("read",)),
        ("reports", "read"),
        id="scope-grants-undefined-resource",
    ),
    pytest.param(
        _with(lambda d: d["scopes"][0]["permissions"][0]["actions"].append("fly")),
        "scope 'read:docs' on resource 'docs' grants undefined action(s) 'fly'",
        ("undefined-action", "scope", "read:docs", "docs", ("fly",)),
        ("docs", "fly"),
        id="scope-grants-undefined-action",
    ),
    pytest.param(
        _with(lambda d: d["roles"][0]["permissions"][0].update(actions=[])),
        "role 'reader' on resource 'docs' grants no actions",
        ("empty-permission", "role", "reader", "docs", ()),
        None,
        id="no-actions",
    ),
    pytest.param(
        _with(lambda d: d["roles"][1]["permissions"][1].update(actions=["*", "read"])),
        "role 'writer' on resource 'billing' lists '*' next to other actions",
        ("wildcard-with-others", "role", "writer", "billing", ("*", "read")),
        None,
        id="wildcard-next-to-actions",
    ),
    pytest.param(
        _with(lambda d: d["resources"][1]["actions"].append("*")),
        "resource 'billing' defines '*' as an action; '*' is reserved",
        ("reserved-action", "resource", "billing", "billing", ("*",)),
        ("billing", "*"),
        id="resource-defines-wildcard",
    ),
]


@pytest.mark.parametrize(("doc", "message", "record", "unknown"), _WARNED)
def test_accepted_oddities_are_warning_problems(
    doc: Doc,
    message: str,
    record: tuple[str, SubjectKind, str, str, tuple[str, ...]],
    unknown: tuple[str, str] | None,
) -> None:
    """Oddities Stytch accepts parse and compile without a Python warning; each is one
    warning PolicyProblem (code, subject, permission, message) on the compiled policy."""
    policy = Policy.parse(doc)  # filterwarnings=error: any emitted warning fails the test
    compiled = CompiledPolicy(policy)
    code, kind, subject, resource_id, actions = record
    assert compiled.problems == (
        PolicyProblem("warning", code, kind, subject, message, resource_id, actions),
    )
    assert policy.problems == compiled.problems
    # The defined part still decides exactly as before.
    assert compiled.allows(["writer"], "docs", "write")
    assert not compiled.allows(["reader"], "docs", "delete")
    if unknown is not None:
        # The odd grant is reachable only by a question that is itself unknown.
        with pytest.raises(UnknownPermission):
            compiled.allows(["reader", "writer", "admin"], *unknown)
    # with_org() keeps the project's warnings and adds none.
    merged = compiled.with_org(OrgPolicy.parse(org_doc(org_role("o", small_perm()))))
    assert merged.allows(["o"], "docs", "read")
    assert merged.problems == compiled.problems


def test_example_policy_has_no_problems(example_policy: Policy) -> None:
    """The example policy is clean: neither it nor its compiled form has a problem."""
    assert example_policy.problems == ()
    assert CompiledPolicy(example_policy).problems == ()


# --------------------------------------------------------------------------- permission spellings


def test_compiled_policy_takes_every_spelling_of_a_permission() -> None:
    """allows, decide, is_known, check_known, scope_allows and scope_decide take one
    "resource:action" string or Permission as they take (resource, action), alike."""
    policy = CompiledPolicy(Policy.parse(small_doc()))
    roles = frozenset({"reader"})
    for write in (("docs:write",), (Permission("docs", "write"),), ("docs", "write")):
        assert not policy.allows(roles, *write)
        assert policy.allows({"writer"}, *write)
        assert policy.decide({"writer", "admin"}, *write).granted_by == {"writer", "admin"}
        assert policy.is_known(*write)
        policy.check_known(*write)
        assert policy.scope_allows("docs:all", *write)
        assert policy.scope_decide(["read:docs"], *write) == Decision(False, "docs", "write")
    assert policy.allows(roles, "docs:read")
    assert not policy.is_known("docs:fly")
    with pytest.raises(UnknownPermission, match="'fly'"):
        policy.check_known("docs:fly")
    with pytest.raises(UnknownPermission, match="'fly'"):
        policy.allows(roles, "docs:fly")
    with pytest.raises(TypeError, match="resource without an action"):
        policy.allows(roles, "docs")
    with pytest.raises(ValueError, match="more than one ':'"):
        policy.decide(roles, "docs:read:all")
    with pytest.raises(TypeError, match="must be strings"):
        policy.allows(roles, Permission("docs", "read"), "write")
