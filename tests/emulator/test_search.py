"""organizations.search and members.search: Stytch's documented filters, operators, error types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
import stytch
from stytch.core.response_base import StytchError

from stytch_rbac.emulator import Emulator

ORG_OIDC: dict[str, Any] = {
    "issuer": "https://idp.test",
    "client_id": "client",
    "client_secret": "secret",
    "authorization_url": "https://idp.test/authorize",
    "token_url": "https://idp.test/token",
    "userinfo_url": "https://idp.test/userinfo",
    "jwks_url": "https://idp.test/jwks",
}


@dataclass(frozen=True)
class Orgs:
    """Three organizations that differ in every searchable field."""

    acme: str
    globex: str
    initech: str
    active_sso: str
    pending_sso: str


@pytest.fixture
def orgs(emu: Emulator, client: stytch.B2BClient) -> Orgs:
    """Acme (allowed acme.test, claimed acme.com, an active OIDC connection), Globex (allowed
    globex.test, a pending SAML connection) and Initech (nothing), each with one member."""
    acme = emu.create_organization(
        "Acme Corporation",
        slug="acme-corp",
        email_allowed_domains=["acme.test"],
        claimed_email_domains=["acme.com"],
    ).organization_id
    globex = emu.create_organization(
        "Globex", slug="globex", email_allowed_domains=["globex.test"]
    ).organization_id
    initech = emu.create_organization("Initech", slug="initech").organization_id
    emu.create_member(acme, "wile@acme.test")
    emu.create_member(globex, "hank@globex.test")
    emu.create_member(initech, "peter@initech.test")
    oidc = client.sso.oidc.create_connection(acme).connection
    assert oidc is not None
    client.sso.oidc.update_connection(acme, oidc.connection_id, **ORG_OIDC)
    saml = client.sso.saml.create_connection(globex).connection
    assert saml is not None
    return Orgs(acme, globex, initech, oidc.connection_id, saml.connection_id)


def _query(*operands: tuple[str, Any], operator: str = "AND") -> dict[str, Any]:
    return {
        "operator": operator,
        "operands": [{"filter_name": n, "filter_value": v} for n, v in operands],
    }


def _org_ids(client: stytch.B2BClient, query: dict[str, Any]) -> set[str]:
    found = client.organizations.search(query=query)
    assert found.results_metadata.total == len(found.organizations)
    return {o.organization_id for o in found.organizations}


def _error_type(call: Any) -> str:
    with pytest.raises(StytchError) as info:
        call()
    assert info.value.details.status_code == 400
    return str(info.value.details.error_type)


ORG_FILTERS: list[tuple[str, Any, str]] = [
    ("organization_ids", ["{acme}", "{initech}"], "acme initech"),
    ("organization_slugs", ["globex"], "globex"),
    ("organization_slug_fuzzy", "CORP", "acme"),
    ("organization_name_fuzzy", "ini", "initech"),
    ("member_emails", ["Hank@Globex.test"], "globex"),
    ("member_email_fuzzy", "peter@", "initech"),
    ("allowed_domains", ["acme.test", "globex.test"], "acme globex"),
    ("allowed_domain_fuzzy", "lobex", "globex"),
    ("claimed_email_domains", ["acme.com"], "acme"),
    ("has_active_sso_connection", True, "acme"),
    ("has_active_sso_connection", False, "globex initech"),
    ("sso_connection_id", "{pending_sso}", "globex"),
]


@pytest.mark.parametrize(("name", "value", "expected"), ORG_FILTERS)
def test_each_documented_organization_filter_selects_its_organizations(
    client: stytch.B2BClient, orgs: Orgs, name: str, value: Any, expected: str
) -> None:
    """Each of the 11 filters in Stytch's search-organizations reference finds exactly the
    organizations whose field matches (lists: any value; fuzzy: a case-blind substring)."""
    ids = vars(orgs)
    if isinstance(value, list):
        value = [v.format(**ids) for v in value]
    elif isinstance(value, str):
        value = value.format(**ids)
    assert _org_ids(client, _query((name, value))) == {ids[k] for k in expected.split()}


def test_organization_operators_combine_operands(client: stytch.B2BClient, orgs: Orgs) -> None:
    """AND keeps organizations every operand matches, OR those some operand matches, and a
    query without operands (or no query) keeps them all."""
    domains = ("allowed_domains", ["acme.test", "globex.test"])
    sso = ("has_active_sso_connection", False)
    assert _org_ids(client, _query(domains, sso)) == {orgs.globex}
    assert _org_ids(client, _query(domains, sso, operator="OR")) == {
        orgs.acme,
        orgs.globex,
        orgs.initech,
    }
    assert _org_ids(client, _query(("organization_slugs", ["initech"]), sso, operator="OR")) == {
        orgs.globex,
        orgs.initech,
    }
    everyone = {orgs.acme, orgs.globex, orgs.initech}
    assert _org_ids(client, {"operator": "OR", "operands": []}) == everyone
    assert _org_ids(client, {"operator": "AND"}) == everyone


@pytest.mark.parametrize("name", ["organization_external_ids", "allowed_auth_methods", "nope"])
def test_undocumented_organization_filters_are_not_recognized(
    client: stytch.B2BClient, orgs: Orgs, name: str
) -> None:
    """A filter name outside Stytch's list is refused with
    organization_search_filter_name_not_recognized, not silently applied."""
    query = _query((name, ["x"]))
    assert (
        _error_type(lambda: client.organizations.search(query=query))
        == "organization_search_filter_name_not_recognized"
    )


ORG_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"operator": "AND", "operands": [{"filter_value": ["x"]}]}, "missing_filter_name"),
    (
        {"operator": "AND", "operands": [{"filter_name": 7, "filter_value": ["x"]}]},
        "filter_name_must_be_string",
    ),
    ({"operator": "AND", "operands": [{"filter_name": "member_emails"}]}, "missing_filter_value"),
    (_query(("organization_ids", "not-a-list")), "expected_array_of_strings"),
    (_query(("organization_ids", [1, 2])), "expected_array_of_strings"),
    (_query(("organization_ids", [])), "missing_organization_ids"),
    (_query(("sso_connection_id", ["a-list"])), "expected_string"),
    (_query(("organization_name_fuzzy", "ab")), "organization_name_fuzzy_too_short"),
    (_query(("member_email_fuzzy", "ab")), "member_email_fuzzy_too_short"),
    (_query(("allowed_domain_fuzzy", "ab")), "allowed_domain_fuzzy_too_short"),
    (_query(("organization_slug_fuzzy", "")), "missing_organization_slug_fuzzy"),
    (_query(("has_active_sso_connection", "yes")), "expected_boolean"),
]


@pytest.mark.parametrize(("query", "suffix"), ORG_ERRORS)
def test_bad_organization_operands_get_stytch_error_types(
    client: stytch.B2BClient, query: dict[str, Any], suffix: str
) -> None:
    """A malformed operand is a 400 with its organization_search_* type, even when there is
    no organization to match it against."""
    assert client.organizations.search().results_metadata.total == 0
    error_type = _error_type(lambda: client.organizations.search(query=query))
    assert error_type == f"organization_search_{suffix}"


def test_bad_operator_cursor_and_limit_get_user_search_error_types(
    client: stytch.B2BClient, orgs: Orgs
) -> None:
    """The operator, cursor and limit errors carry Stytch's user_search_* types; limit 0
    means the default page."""
    search = client.organizations.search
    assert _error_type(lambda: search(query={"operator": "XOR"})) == (
        "user_search_invalid_operator"
    )
    assert _error_type(lambda: search(cursor="bogus")) == "user_search_invalid_cursor"
    assert _error_type(lambda: search(limit=1001)) == "user_search_invalid_limit"
    assert search(limit=0).results_metadata.total == 3


# -- members ----------------------------------------------------------------------


@dataclass(frozen=True)
class Members:
    """Members of one organization that differ in every searchable field."""

    org: str
    other_org: str
    ada: str
    bob: str
    cy: str
    gone: str


@pytest.fixture
def members(emu: Emulator) -> Members:
    """Ada (editor, breakglass, a password, a phone), Bob (viewer), Cy (pending), a deleted
    member, and a member of another organization."""
    org = emu.create_organization("Acme", slug="acme").organization_id
    other = emu.create_organization("Globex", slug="globex").organization_id
    ada = emu.create_member(
        org,
        "ada@acme.test",
        roles=["editor"],
        is_breakglass=True,
        member_password_id=True,
        mfa_phone_number="+15555550123",
    ).member_id
    bob = emu.create_member(org, "bob@acme.test", roles=["viewer"]).member_id
    cy = emu.create_member(org, "cy@acme.test", status="pending").member_id
    gone = emu.create_member(org, "gone@acme.test", status="deleted").member_id
    emu.create_member(other, "ada@globex.test", roles=["editor"])
    return Members(org, other, ada, bob, cy, gone)


MEMBER_FILTERS: list[tuple[str, Any, str]] = [
    ("member_ids", ["{ada}", "{gone}"], "ada"),
    ("member_emails", ["BOB@acme.test"], "bob"),
    ("member_email_fuzzy", "ACME.T", "ada bob cy"),
    ("member_is_breakglass", True, "ada"),
    ("member_is_breakglass", False, "bob cy"),
    ("statuses", ["pending"], "cy"),
    ("statuses", ["active", "deleted"], "ada bob gone"),
    ("member_mfa_phone_numbers", ["+15555550123"], "ada"),
    ("member_mfa_phone_number_fuzzy", "555", "ada"),
    ("member_password_exists", True, "ada"),
    ("member_password_exists", False, "bob cy"),
    ("member_roles", ["viewer", "nobody"], "bob"),
    ("member_roles", ["stytch_member"], "ada bob cy"),
]


def _member_ids(client: stytch.B2BClient, org: str, query: dict[str, Any] | None) -> set[str]:
    found = client.organizations.members.search([org], query=query)
    assert found.results_metadata.total == len(found.members)
    return {m.member_id for m in found.members}


@pytest.mark.parametrize(("name", "value", "expected"), MEMBER_FILTERS)
def test_each_documented_member_filter_selects_its_members(
    client: stytch.B2BClient, members: Members, name: str, value: Any, expected: str
) -> None:
    """Each documented member filter finds exactly the matching members of the listed
    organizations; deleted members only when statuses asks for them."""
    ids = vars(members)
    if isinstance(value, list):
        value = [v.format(**ids) for v in value]
    found = _member_ids(client, members.org, _query((name, value)))
    assert found == {ids[k] for k in expected.split()}


def test_member_operators_combine_operands(client: stytch.B2BClient, members: Members) -> None:
    """AND keeps members every operand matches, OR those some operand matches."""
    roles = ("member_roles", ["editor", "viewer"])
    glass = ("member_is_breakglass", False)
    assert _member_ids(client, members.org, _query(roles, glass)) == {members.bob}
    assert _member_ids(client, members.org, _query(roles, glass, operator="OR")) == {
        members.ada,
        members.bob,
        members.cy,
    }


@pytest.mark.parametrize("name", ["member_external_ids", "organization_ids", "nope"])
def test_undocumented_member_filters_are_not_recognized(
    client: stytch.B2BClient, members: Members, name: str
) -> None:
    """A filter name outside the documented member filters is refused with
    member_search_filter_name_not_recognized."""
    query = _query((name, ["x"]))
    assert (
        _error_type(lambda: client.organizations.members.search([members.org], query=query))
        == "member_search_filter_name_not_recognized"
    )


MEMBER_ERRORS: list[tuple[dict[str, Any], str]] = [
    (
        {"operator": "AND", "operands": [{"filter_value": ["x"]}]},
        "member_search_missing_filter_name",
    ),
    (
        {"operator": "AND", "operands": [{"filter_name": "statuses"}]},
        "member_search_missing_filter_value",
    ),
    (_query(("member_ids", "x")), "member_search_expected_array_of_strings"),
    (_query(("member_ids", [])), "member_search_missing_member_ids"),
    (_query(("member_email_fuzzy", 5)), "member_search_expected_string"),
    (_query(("member_email_fuzzy", "ab")), "member_search_member_email_fuzzy_too_short"),
    (
        _query(("member_mfa_phone_number_fuzzy", "55")),
        "member_search_member_mfa_phone_number_fuzzy_too_short",
    ),
    (_query(("member_is_breakglass", "true")), "member_search_expected_boolean"),
    (_query(("statuses", ["archived"])), "search_invalid_status_filter"),
    ({"operator": "NOT"}, "user_search_invalid_operator"),
]


@pytest.mark.parametrize(("query", "error_type"), MEMBER_ERRORS)
def test_bad_member_operands_get_stytch_error_types(
    client: stytch.B2BClient, members: Members, query: dict[str, Any], error_type: str
) -> None:
    """A malformed member-search operand is a 400 with Stytch's member_search_* type."""
    search = client.organizations.members.search
    assert _error_type(lambda: search([members.org], query=query)) == error_type


def test_member_search_needs_an_organization(client: stytch.B2BClient, members: Members) -> None:
    """An empty organization_ids list is member_search_organization_ids_empty."""
    search = client.organizations.members.search
    assert _error_type(lambda: search([])) == "member_search_organization_ids_empty"
    assert _error_type(lambda: search([members.org], cursor="x")) == "user_search_invalid_cursor"
