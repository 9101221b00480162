"""A compiled policy leaves the cyclic GC next to nothing to walk (issue 14, item 13).

Every full collection walks every tracked object and stops every thread, the event
loop's too: a 10,000-role policy kept as models and frozensets made each one last
over 100 ms. Structural, not timed: count the tracked objects a compiled policy keeps.
"""

from __future__ import annotations

import gc
import json
from typing import Any

from stytch_rbac import Policy
from stytch_rbac.policy.response import compile_response


def _policy(n_roles: int) -> dict[str, Any]:
    return {
        "resources": [
            {"resource_id": f"r{i}", "description": "", "actions": ["read", "edit", "delete"]}
            for i in range(n_roles)
        ],
        "roles": [
            {
                "role_id": f"role{i}",
                "description": "d",
                "permissions": [
                    {"resource_id": f"r{i}", "actions": ["read", "edit"]},
                    {"resource_id": f"r{(i + 1) % n_roles}", "actions": ["*"]},
                ],
            }
            for i in range(n_roles)
        ],
        "scopes": [],
    }


def _tracked() -> int:
    gc.collect()
    gc.collect()
    return len(gc.get_objects())


def test_a_compiled_10000_role_policy_keeps_few_tracked_objects() -> None:
    doc = _policy(10_000)
    body = json.dumps({"status_code": 200, "request_id": "r", "policy": doc}).encode()
    del doc
    before = _tracked()
    _, compiled = compile_response(body)
    assert compiled is not None
    kept = _tracked() - before
    # A few dicts and frozensets whatever the size (not one object per role or resource);
    # the rows built on first questions come on top.
    assert kept < 200, kept
    assert compiled.allows({"role5"}, "r6", "delete")
    assert not compiled.allows({"role5"}, "r5", "delete")
    # The model is built on first access only, equal to the parsed one, and so is its hash.
    assert compiled.sha256() == Policy.parse(body).sha256()
    assert compiled.policy == Policy.parse(body)
