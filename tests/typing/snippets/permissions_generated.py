"""The generated example module's own typed forms: what mypy --strict accepts and rejects.

``permissions`` is the generated example (stubs/permissions.pyi, or examples/permissions.py
in the test's second pass). A line with an ``E:`` comment (a part of mypy's message,
then the error code in brackets) must be rejected with that code; every other line
must be accepted.
"""

from typing import Literal, assert_type

from permissions import (
    DocumentsAction,
    P,
    ProjectsAction,
    Resource,
    Role,
    Scope,
    StytchMemberAction,
    permission,
)

from stytch_rbac import ActionEnum, Permission

# Accepted: typed constants, enums and the paired constructor.
assert_type(P.documents.edit, Permission)
assert_type(P.stytch_member.update_info_name, Permission)
assert_type(permission(Resource.DOCUMENTS, DocumentsAction.EDIT), Permission)
assert_type(permission(Resource.STYTCH_MEMBER, StytchMemberAction.UPDATE_INFO_NAME), Permission)
assert_type(DocumentsAction.EDIT.permission, Permission)
assert_type(Resource.DOCUMENTS, Literal[Resource.DOCUMENTS])
assert_type(Role.EDITOR.value, Literal["editor"])
assert_type(Scope.READ_DOCUMENTS.value, Literal["read:documents"])
assert_type(StytchMemberAction.UPDATE_INFO_NAME.value, Literal["update.info.name"])
resource_id: str = Resource.DOCUMENTS
action_id: str = DocumentsAction.EDIT
any_action: ActionEnum = ProjectsAction.READ
role: Role = Role.STYTCH_ADMIN
# The scopes granting a permission: Scope members, read as the strings they are.
assert_type(P.documents.read.scopes, frozenset[str])
granting: frozenset[str] = P.documents.read.scopes
scope_id: str = Scope.READ_DOCUMENTS
assert Scope.READ_DOCUMENTS in P.documents.read.scopes

# Rejected: an action the resource does not have, in every typed form.
P.documents.fly  # E: has no attribute "fly" [attr-defined]
P.documentz.edit  # E: has no attribute "documentz" [attr-defined]
DocumentsAction.FLY  # E: has no attribute "FLY" [attr-defined]
Resource.IMAGES  # E: has no attribute "IMAGES" [attr-defined]
Role.INTERN  # E: has no attribute "INTERN" [attr-defined]
Scope.WRITE_BILLING  # E: has no attribute "WRITE_BILLING" [attr-defined]
P.documents.read.scopes.add(Scope.READ_DOCUMENTS)  # E: has no attribute "add" [attr-defined]
scope_enum: Scope = "read:documents"  # E: Incompatible types [assignment]
P.stytch_member.update_settings_mfa_policy  # E: has no attribute [attr-defined]
permission(Resource.DOCUMENTS, ProjectsAction.READ)  # E: No overload variant [call-overload]
permission(Resource.PROJECTS, DocumentsAction.EDIT)  # E: No overload variant [call-overload]
permission("documents", DocumentsAction.EDIT)  # E: No overload variant [call-overload]
permission(Resource.DOCUMENTS, "edit")  # E: No overload variant [call-overload]
edit_action: DocumentsAction = ProjectsAction.READ  # E: Incompatible types [assignment]
role_from_text: Role = "editor"  # E: Incompatible types [assignment]
P.documents.edit = P.documents.read  # E: Cannot assign to final [misc]


def needs_documents_action(action: DocumentsAction) -> None:
    """A function typed with one resource's action enum."""


needs_documents_action(DocumentsAction.SHARE)
needs_documents_action(ProjectsAction.ARCHIVE)  # E: incompatible type "ProjectsAction" [arg-type]
