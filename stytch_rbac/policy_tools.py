"""The tooling behind ``stytch-rbac diff``, ``lint``, ``test`` and ``plan``, without the CLI.

```python
from stytch_rbac import Policy
from stytch_rbac.policy_tools import diff_policies, lint_policy, load_expectations

old, new = Policy.from_file("old.json"), Policy.from_file("policy.json")
if diff_policies(old, new).removes_grants:
    ...
for finding in lint_policy(new, admin_roles={"stytch_admin", "owner"}):
    print(finding)
suite = load_expectations("tests/policy.yaml")
failures = [r for r in suite.runner(new).run() if not r.passed]

# Policy as code: a Management API document (GET .../rbac_policy) -> Policy, and the
# plan of pushing `new` over it.
remote = from_management(management_document(old))
print(make_plan(new, remote).to_markdown())
```
"""

from __future__ import annotations

from .policy.diff import Grant, PolicyDiff, diff_policies
from .policy.expectations import (
    EXPECTATION_SUFFIXES,
    Expectation,
    ExpectationFileError,
    ExpectationResult,
    ExpectationRunner,
    ExpectationSuite,
    OrganizationSpec,
    load_expectations,
    parse_expectations,
    run_expectations,
)
from .policy.lint import LINT_CODES, LintFinding, lint_policy
from .policy.management import (
    ManagementProblem,
    from_management,
    management_document,
    management_problems,
    set_request,
)
from .policy.plan import Lock, LockedOrg, OrgPlan, Plan, make_plan

__all__ = [
    "EXPECTATION_SUFFIXES",
    "LINT_CODES",
    "Expectation",
    "ExpectationFileError",
    "ExpectationResult",
    "ExpectationRunner",
    "ExpectationSuite",
    "Grant",
    "LintFinding",
    "Lock",
    "LockedOrg",
    "ManagementProblem",
    "OrgPlan",
    "OrganizationSpec",
    "Plan",
    "PolicyDiff",
    "diff_policies",
    "from_management",
    "lint_policy",
    "load_expectations",
    "make_plan",
    "management_document",
    "management_problems",
    "parse_expectations",
    "run_expectations",
    "set_request",
]
