"""The example's organization: a project role, an org custom role and an admin to log in as."""

from stytch_rbac.emulator import Emulator

from .app import Person

__all__ = ["CUSTOM_ROLE", "PEOPLE", "seed"]

#: An organization-defined role (Stytch's custom org roles): the frontend SDK reads it from
#: the organization object, the backend from the org policy.
CUSTOM_ROLE = {
    "role_id": "release_manager",
    "description": "Acme's own role: ships documents and reads the audit trail.",
    "permissions": [
        {"resource_id": "documents", "actions": ["read", "share", "download"]},
        {"resource_id": "reports", "actions": ["*"]},
        {"resource_id": "audit_logs", "actions": ["read"]},
        {"resource_id": "stytch.member", "actions": ["search"]},
    ],
}

PEOPLE = (
    Person("ada@acme.test", ("stytch_admin", "owner")),
    Person("eddie@acme.test", ("editor",)),
    Person("rita@acme.test", ("release_manager",)),
)


def seed(emulator: Emulator) -> str:
    """Create Acme with its custom role and :data:`PEOPLE`; return the organization id."""
    org = emulator.create_organization("Acme", slug="acme").organization_id
    emulator.set_org_policy(org, {"roles": [CUSTOM_ROLE]})
    for person in PEOPLE:
        name = person.email_address.partition("@")[0].title()
        emulator.create_member(org, person.email_address, roles=person.roles, name=name)
    return org
