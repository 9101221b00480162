"""Seed files: organizations (with optional custom roles) and their members, in one JSON file.

```json
{"organizations": [
  {"organization_name": "Acme", "organization_slug": "acme",
   "org_policy": {"roles": []},
   "members": [{"email_address": "ada@acme.test", "name": "Ada", "roles": ["stytch_admin"]}]}
]}
```

An organization takes any ``organizations.create`` field (plus an optional fixed
``organization_id``); a member any ``organizations.members.create`` field (plus
an optional fixed ``member_id`` and the other seed-only fields of
``Emulator.create_member``). Any other field is an error naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._errors import EmulatorError
from ._records import MemberRecord, OrganizationRecord

if TYPE_CHECKING:
    from ._emulator import Emulator

__all__ = ["SeedError", "apply_seed", "read_seed"]


class SeedError(ValueError):
    """A seed document that cannot be applied; the message names the entry."""


def read_seed(source: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    """The seed document from a path or an already-decoded object."""
    if isinstance(source, Mapping):
        return source
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    except OSError as exc:
        raise SeedError(f"cannot read seed file {str(source)!r}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise SeedError(f"seed file {str(source)!r} is not valid JSON: {exc}") from None
    if not isinstance(data, Mapping):
        raise SeedError("a seed document must be a JSON object")
    return data


def apply_seed(
    emu: Emulator, source: str | Path | Mapping[str, Any]
) -> list[tuple[OrganizationRecord, list[MemberRecord]]]:
    """Create every organization and member of the seed; return them in file order."""
    data = read_seed(source)
    orgs = data.get("organizations")
    if not isinstance(orgs, list):
        raise SeedError("a seed document needs an 'organizations' list")
    created: list[tuple[OrganizationRecord, list[MemberRecord]]] = []
    for i, entry in enumerate(orgs):
        where = f"organizations[{i}]"
        if not isinstance(entry, Mapping):
            raise SeedError(f"{where} must be an object")
        fields = {k: v for k, v in entry.items() if k not in ("members", "org_policy")}
        if not isinstance(fields.get("organization_name"), str):
            raise SeedError(f"{where} needs an organization_name")
        try:
            org = emu._create_organization(fields)
            if entry.get("org_policy") is not None:
                emu.set_org_policy(org.organization_id, entry["org_policy"])
        except EmulatorError as exc:
            raise SeedError(f"{where}: {exc.error_message}") from None
        members: list[MemberRecord] = []
        for j, member in enumerate(entry.get("members") or []):
            mwhere = f"{where}.members[{j}]"
            if not isinstance(member, Mapping) or not isinstance(member.get("email_address"), str):
                raise SeedError(f"{mwhere} needs an email_address")
            try:
                members.append(
                    emu._create_member({**member, "organization_id": org.organization_id})
                )
            except EmulatorError as exc:
                raise SeedError(f"{mwhere}: {exc.error_message}") from None
        created.append((emu.get_organization(org.organization_id), members))
    return created
