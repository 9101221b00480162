"""The policy engine: pure and synchronous (no I/O): models, compiled index, org overlay.

The models parse exactly what ``GET /v1/b2b/rbac/policy`` returns (the whole
response or its ``policy`` object) and what ``GET /v1/b2b/rbac/organizations/{id}``
returns (``org_policy``). ``CompiledPolicy`` indexes a policy once, so a
decision is two dict look-ups and one set intersection, whatever the size of
the policy.

Decision rule (Stytch's, ``stytch/shared/rbac_local.py``): allowed iff one of
the subject's roles has a permission on exactly that ``resource_id`` whose
actions contain the action or ``"*"``. Role ids the policy does not know grant
nothing. Org custom roles are added to the project roles; resources and scopes
come from the project policy only.

One deliberate difference, fail-closed: Stytch's scan never looks at
``policy.resources``, so it grants an action the resource does not define to a
holder of ``"*"`` on that resource, and grants on a resource the policy does not
define to a role whose permission names it. Here such a question raises
:class:`UnknownPermission` (``strict=True``, the default) or is denied
(``strict=False``); ``"*"`` itself is never a defined action. For every defined
(resource, action) the answers are equal, and ``Decision.granted_by`` is exactly
the set of held roles for which Stytch's scan would succeed.

Where Stytch is the one enforcing, its rule is followed exactly:
``CompiledPolicy.stytch_decide`` is Stytch's scan, blind to the action lists. It
decides the member-session calls on Stytch's built-in ``stytch.*`` resources
(:mod:`stytch_rbac.policy.builtin_calls`: the pre-flight and the emulator) and
the emulator's ``authorization_check``: a real project's policy may list fewer
actions on those resources than their endpoints need (reference 4.2), and
``"*"`` grants every one of them. Questions a program asks about its own policy
(``decide``, ``allows``, ``authorize``) keep the strict check.

What is an error and what is a warning. Stytch's own acceptance decides
(reference 4.1 to 4.3; ``validate_org_policy`` in the SDK's
``stytch/b2b/api/rbac_organizations.py``):

* An error, :class:`PolicyError` (no decision can be trusted): not JSON, not a JSON
  object, an empty document (none of ``roles`` / ``resources`` / ``scopes``;
  for an org policy no ``roles``), a value of the wrong JSON type (a non-string
  id, say), a missing required field (``role_id``, ``resource_id``, ``scope``,
  a permission's ``resource_id`` or ``actions``), a blank role / resource /
  scope id or a blank action, a role / resource / scope id defined twice (the
  SDK documents every id as a unique identifier). For an org policy, at merge
  time, also everything Stytch's ``validate_org_policy`` rejects: a role id
  repeated, or already in the project policy, a permission on a resource the
  project does not define, an action that resource does not define, no
  actions, or ``"*"`` next to other actions.
* A warning (Stytch serves such a project policy and decides with it, so
  refusing it would only take the service down): a project role or scope
  granting on an undefined resource or an undefined action (the grant is kept:
  Stytch's rule, ``stytch_decide``, honours it, while a strict question about
  it is itself unknown), a permission
  with no actions, ``"*"`` next to other actions, a resource that defines
  ``"*"`` as an action. Warnings are data, not Python warnings: each is a
  :class:`~stytch_rbac.policy.problems.PolicyProblem` in ``Policy.problems``
  and ``CompiledPolicy.problems``; ``StytchRBAC`` logs them when it loads a
  policy, ``stytch-rbac lint`` reports them, and ``problem.warn()`` emits one
  as a :class:`PolicyWarning` for those who want it. Nothing here warns by
  itself or touches the warnings filter.
* Accepted silently, for hand-written files: an omitted ``description``
  (``""``), an omitted ``permissions`` or ``actions`` list of a role, resource
  or scope (empty), an omitted top-level list (empty), unknown extra keys
  (ignored, as the SDK does). Stytch itself always sends every field.
"""

from .compiled import CompiledPolicy, Decision
from .models import (
    OrgPolicy,
    Policy,
    PolicyResource,
    PolicyRole,
    PolicyRolePermission,
    PolicyScope,
    PolicyScopePermission,
)
from .scopes import m2m_scopes_allow

__all__ = [
    "CompiledPolicy",
    "Decision",
    "OrgPolicy",
    "Policy",
    "PolicyResource",
    "PolicyRole",
    "PolicyRolePermission",
    "PolicyScope",
    "PolicyScopePermission",
    "m2m_scopes_allow",
]
