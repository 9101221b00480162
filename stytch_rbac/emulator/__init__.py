"""A local, offline Stytch B2B API server speaking the wire protocol of the ``stytch`` SDK.

```python
from stytch_rbac.emulator import Emulator
emu = Emulator(policy="examples/policy.json")
org = emu.create_organization(name="Acme", slug="acme")
m = emu.create_member(org.organization_id, email_address="ada@acme.test", roles=["editor"])
s = emu.create_session(m.member_id)           # s.session_token, s.session_jwt
async with emu.serve() as base_url: ...       # real HTTP on 127.0.0.1, random port
```

Needs the ``emulator`` extra (starlette, uvicorn). See docs/emulator.md.
"""

from __future__ import annotations

from .._extras import raise_missing_extra

try:
    from ._emulator import Emulator
except ImportError as exc:
    raise_missing_extra(
        exc, extra="emulator", needed_by="stytch_rbac.emulator", modules={"starlette", "uvicorn"}
    )
from ._errors import EmulatorError
from ._faults import Fault, Faults
from ._records import (
    ConnectedAppRecord,
    M2MClientRecord,
    MemberRecord,
    OrganizationRecord,
    SessionRecord,
)
from ._seed import SeedError
from ._time import ShiftedClock

__all__ = [
    "ConnectedAppRecord",
    "Emulator",
    "EmulatorError",
    "Fault",
    "Faults",
    "M2MClientRecord",
    "MemberRecord",
    "OrganizationRecord",
    "SeedError",
    "SessionRecord",
    "ShiftedClock",
]
