"""Scope rules for machine callers: Stytch's M2M ``action:resource`` rule, and the scope
tables that agent and service decisions answer ``permissions()`` with. Pure, no I/O.

Two rules decide an access token's scopes, and both are Stytch's own:

* **The policy's scopes** (Connected Apps, and M2M with ``m2m_scopes="policy"``):
  allowed iff a scope the token holds is a scope of the project policy granting the
  action, or ``"*"``, on that resource (``rbac_local.scope_authorization_check``).
  That is :meth:`CompiledPolicy.scope_decide <stytch_rbac.CompiledPolicy.scope_decide>`;
  :func:`scope_permissions` is its table.
* **Stytch's M2M rule** (``m2m_scopes="stytch"``; ``m2m_authorization
  .perform_authorization_check`` in the SDK), which reads the scope strings
  themselves and no policy:

  1. A scope with exactly one ``:`` is ``action:resource``. A held ``action:*``
     grants that action on every resource; ``*`` is a wildcard in the resource
     part only (a held ``*:docs`` grants only a required ``*:docs``).
  2. A scope with no ``:`` is bare and matches only the same bare scope.
  3. Every required scope must be granted (none required: allowed).

  A permission ``resource:action`` requires the scope ``action:resource``
  (:func:`m2m_scope`).

Where Stytch's M2M function has no answer or an accidental one, this rule refuses
(fail-closed; tests/policy/test_scope_parity.py holds it to the SDK on every other input):

* **Two or more ``:``** (``a:b:c``): the SDK raises ``ValueError`` (it unpacks the
  split into two names), for a held scope always and for a required one when it
  gets that far. Here such a scope is opaque: it matches only the identical
  string, and ``*`` in it is no wildcard.
* **The SDK's ``-`` placeholder**: it stores a bare scope ``x`` as ``x:-``, so a
  held ``x`` grants a required ``x:-``, and a held ``x:-`` or ``x:*`` grants a
  required bare ``x``. Here bare scopes match only bare scopes (rule 2), so those
  three are denied.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from .compiled import CompiledPolicy, Decision, _allowed_decision

__all__ = [
    "m2m_decide",
    "m2m_granting",
    "m2m_permissions",
    "m2m_scope",
    "m2m_scopes_allow",
    "scope_permissions",
    "split_scopes",
]

_WILDCARD: Final = "*"
_SEPARATOR: Final = ":"


def split_scopes(scopes: Iterable[str] | str) -> frozenset[str]:
    """The scopes of a token: a ``scope`` claim split on whitespace, or the names given.

    Raises TypeError for anything but a string or an iterable of strings, so that a
    list of claims never passes for a list of scopes by accident.
    """
    if isinstance(scopes, str):
        return frozenset(scopes.split())
    held = frozenset(scopes)
    for scope in held:
        if not isinstance(scope, str):
            raise TypeError(f"scopes must be strings, got {type(scope).__name__}: {scope!r}")
    return held


def m2m_scope(resource: str, action: str) -> str:
    """The M2M scope a permission requires: ``"action:resource"`` (Stytch's order)."""
    return f"{action}{_SEPARATOR}{resource}"


def _grantors(required: str) -> tuple[str, ...]:
    """Every held scope that grants ``required`` on its own (rules 1 and 2, and the
    opaque rule for two or more ``:``)."""
    action, sep, resource = required.partition(_SEPARATOR)
    if not sep or _SEPARATOR in resource:
        return (required,)  # bare, or opaque: only itself
    if resource == _WILDCARD:
        return (required,)
    return (required, action + _SEPARATOR + _WILDCARD)


def m2m_granting(held: Iterable[str] | str, required: str) -> frozenset[str]:
    """The scopes of ``held`` that grant the one scope ``required`` (Stytch's M2M rule)."""
    if not isinstance(required, str):
        raise TypeError(f"a required scope must be a string, got {type(required).__name__}")
    return split_scopes(held).intersection(_grantors(required))


def m2m_scopes_allow(held: Iterable[str] | str, required: Iterable[str] | str) -> bool:
    """Whether ``held`` grants every scope of ``required`` (Stytch's M2M rule, module docs).

    Either side may be a space-separated ``scope`` claim or the scope names.
    """
    scopes = split_scopes(held)
    return all(not scopes.isdisjoint(_grantors(scope)) for scope in split_scopes(required))


_DECISIONS_MEMO_SIZE: Final = 1024
# (held scopes, resource, action) -> the Decision, for held scopes given as a frozenset (a
# ServicePrincipal's): a pure function of them, and one client's tokens hold one scope set
# (the verifier hands out the same frozenset for the same claim, its hash computed once),
# so a fresh token's check is one look-up (1.3 µs less). Bounded: cleared when full.
_DECISIONS: dict[tuple[frozenset[str], str, str], Decision] = {}


def m2m_decide(held: Iterable[str] | str, resource: str, action: str) -> Decision:
    """The permission decided by Stytch's M2M rule: its scope ``action:resource``, granted
    by the held ``action:resource`` or ``action:*`` (both named in ``granted_by``).

    Reads no policy: whether the policy defines the permission is the caller's question
    (the facade asks it first in strict mode).
    """
    resource, action = str(resource), str(action)
    if type(held) is not frozenset:
        return _m2m_decide(held, resource, action)
    key = (held, resource, action)
    decision = _DECISIONS.get(key)
    if decision is None:
        decision = _m2m_decide(held, resource, action)  # raises for a scope not a str
        if len(_DECISIONS) >= _DECISIONS_MEMO_SIZE:
            _DECISIONS.clear()
        _DECISIONS[key] = decision
    return decision


def _m2m_decide(held: Iterable[str] | str, resource: str, action: str) -> Decision:
    granted_by = m2m_granting(held, m2m_scope(resource, action))
    if granted_by:
        return _allowed_decision(resource, action, granted_by)  # Decision(True, ...), quicker
    return Decision(False, resource, action, granted_by)


def _defined(policy: CompiledPolicy) -> dict[str, dict[str, bool]]:
    """Every resource and action ``policy`` defines, each mapped to False (a fresh table)."""
    return policy.permissions(())


def scope_permissions(
    policy: CompiledPolicy, scopes: Iterable[str] | str
) -> dict[str, dict[str, bool]]:
    """``{resource: {action: allowed}}`` by the policy's scopes, for every permission the
    policy defines (what ``permissions()`` answers for an agent)."""
    held = split_scopes(scopes)
    table = _defined(policy)
    for resource, actions in table.items():
        for action in actions:
            actions[action] = policy.scope_allows(held, resource, action)
    return table


def m2m_permissions(
    policy: CompiledPolicy, scopes: Iterable[str] | str
) -> dict[str, dict[str, bool]]:
    """``{resource: {action: allowed}}`` by Stytch's M2M rule, for every permission the
    policy defines (what ``permissions()`` answers for a service with ``m2m_scopes="stytch"``)."""
    held = split_scopes(scopes)
    table = _defined(policy)
    for resource, actions in table.items():
        for action in actions:
            actions[action] = not held.isdisjoint(_grantors(m2m_scope(resource, action)))
    return table
