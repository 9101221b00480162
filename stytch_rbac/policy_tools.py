"""Policy tooling behind ``stytch-rbac diff``, ``lint`` and ``test``, usable without the CLI.

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
    "OrganizationSpec",
    "PolicyDiff",
    "diff_policies",
    "lint_policy",
    "load_expectations",
    "parse_expectations",
    "run_expectations",
]
