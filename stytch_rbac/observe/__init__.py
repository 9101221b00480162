"""Observability: every decision and authentication as a typed event; OpenTelemetry opt-in.

* :class:`DecisionEvent` / :class:`AuthenticationEvent`: what ``StytchRBAC(on_decision=...,
  on_authentication=...)`` callbacks receive (:mod:`.events`);
* :class:`Observer`: the hub every decision path reports through (:mod:`.observer`);
* :class:`AuditLog`: a ready sink writing JSON lines to the ``stytch_rbac.audit`` logger;
* :mod:`stytch_rbac.observe.otel`: spans and metrics (the ``otel`` extra), imported on
  demand only.

See docs/observability.md.
"""

from __future__ import annotations

from .audit import AuditLog
from .events import (
    AuthenticationEvent,
    AuthenticationOutcome,
    DecisionEvent,
    DecisionSource,
    DenialReason,
)
from .observer import DecisionSampling, Observer

__all__ = [
    "AuditLog",
    "AuthenticationEvent",
    "AuthenticationOutcome",
    "DecisionEvent",
    "DecisionSampling",
    "DecisionSource",
    "DenialReason",
    "Observer",
]
