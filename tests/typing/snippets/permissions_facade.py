"""The facade (StytchRBAC) and guards with generated permissions: accepted and rejected lines.

A line with an ``E:`` comment (a part of mypy's message, then the error code in
brackets) must be rejected with that code; every other line must be accepted.
"""

from typing import assert_type

from permissions import DocumentsAction, P, ProjectsAction, Resource, Scope, permission

from stytch_rbac import Decision
from stytch_rbac.client import StytchRBAC
from stytch_rbac.integrations.guard import Guard
from stytch_rbac.principal import AgentPrincipal, AnyPrincipal, Principal, ServicePrincipal


async def accepted(rbac: StytchRBAC, principal: Principal) -> None:
    """Every form the facade offers takes the generated constants and enums."""
    assert_type(await rbac.is_authorized(principal, P.documents.edit), bool)
    assert_type(await rbac.is_authorized(principal, DocumentsAction.EDIT), bool)
    assert_type(await rbac.is_authorized(principal, Resource.DOCUMENTS, DocumentsAction.EDIT), bool)
    edit = permission(Resource.DOCUMENTS, DocumentsAction.EDIT)
    assert_type(await rbac.is_authorized(principal, edit, organization_id="org"), bool)
    assert_type(await rbac.authorize(principal, P.stytch_member.update_info_name), None)
    assert_type(await rbac.authorize(principal, ProjectsAction.ARCHIVE), None)
    assert_type(await rbac.explain(principal, P.billing.export), Decision)
    assert_type(rbac.require(P.documents.edit, P.projects.read), Guard)
    assert_type(rbac.require(DocumentsAction.SHARE, any_of=True), Guard)
    guard = rbac.require(permission(Resource.PROJECTS, ProjectsAction.ARCHIVE))
    assert_type(await guard.check(principal), Principal)
    # Machine callers: accept= widens a guard; require_scopes takes generated Scope members.
    machines = rbac.require(P.documents.read, accept={"session", "agent", "service"})
    assert_type(machines, Guard)
    assert_type(rbac.require_scopes(Scope.READ_DOCUMENTS, Scope.WRITE_DOCUMENTS), Guard)
    assert_type(rbac.require_scopes(*P.documents.read.scopes, accept={"agent"}), Guard)
    # The (resource, action) string form takes any two strings: mypy cannot pair-check
    # it, so a foreign action is accepted here (at run time it raises TypeError).
    # Use P, an action enum member or permission() to have mypy check the pair.
    await rbac.is_authorized(principal, Resource.DOCUMENTS, ProjectsAction.READ)
    # The "resource:action" string form is a str: mypy cannot check its text, so a resource
    # alone (a StrEnum member is a str) is accepted here and raises TypeError at run time.
    assert_type(await rbac.is_authorized(principal, "documents:edit"), bool)
    assert_type(await rbac.authorize(principal, "stytch.member:update.info.name"), None)
    assert_type(await rbac.explain(principal, "billing:export"), Decision)
    await rbac.is_authorized(principal, Resource.DOCUMENTS)


async def machine_principals(
    guard: Guard, agent: AgentPrincipal, service: ServicePrincipal, anyone: AnyPrincipal
) -> None:
    """check() returns the principal it was given, typed as given."""
    assert_type(await guard.check(agent), AgentPrincipal)
    assert_type(await guard.check(service), ServicePrincipal)
    assert_type(await guard.check(anyone), Principal | AgentPrincipal | ServicePrincipal)


async def rejected(rbac: StytchRBAC, principal: Principal) -> None:
    """An action the resource does not have is a type error in every typed form."""
    await rbac.is_authorized(principal, P.documents.fly)  # E: has no attribute "fly" [attr-defined]
    await rbac.authorize(principal, DocumentsAction.FLY)  # E: no attribute "FLY" [attr-defined]
    await rbac.explain(principal, P.documentz.edit)  # E: no attribute "documentz" [attr-defined]
    rbac.require(P.documents.edit, P.documents.fly)  # E: has no attribute "fly" [attr-defined]
    bad = permission(Resource.DOCUMENTS, ProjectsAction.READ)  # E: No overload [call-overload]
    await rbac.is_authorized(principal, bad)
    bad = permission(Resource.PROJECTS, DocumentsAction.EDIT)  # E: No overload [call-overload]
    rbac.require(bad)
    await rbac.is_authorized(principal, P.documents)  # E: No overload variant [call-overload]
    rbac.require_scopes(Scope.WRITE_BILLING)  # E: has no attribute "WRITE_BILLING" [attr-defined]
    rbac.require(P.documents.read, accept={"robot"})  # E: incompatible type [arg-type]
