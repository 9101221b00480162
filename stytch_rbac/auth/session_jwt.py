"""Session JWTs verified locally, as the stytch SDK does it, and remembered until they expire.

Verification (reference 3.5) accepts a token only if: it is three segments of
strict, canonical base64url (alphabet ``[A-Za-z0-9_-]``, no padding, zero
unused trailing bits, so one accepted spelling per token); its header is a JSON
object saying ``alg: RS256`` (``none``, ``HS256`` and everything else are
refused before any key is looked up) and naming a ``kid`` present in Stytch's
JWKS; the RSA signature verifies; ``aud``, ``iss``, ``exp``, ``iat`` and
``nbf`` are all present; ``aud`` is (or is a list of strings containing) the
project id; ``iss`` is ``stytch.com/{project_id}`` or the API base URL;
``nbf`` and ``iat`` are not in the future and ``exp`` not in the past (each
with ``leeway``); and, with ``max_age``, ``now - iat < max_age``. Every refusal
raises :class:`~stytch_rbac.errors.Unauthenticated` with a reason code (any
token that does not parse, JSON nested too deep for the stack included, is
``malformed``) and makes no network call, except an unknown ``kid``, which may
refetch the JWKS (at most once per 30 s, single flight) to pick up a rotated key.

Only a token that is genuine but expired (or older than ``max_age``) and carries
the session claim is reported as :class:`StaleJWT`, for the caller to send to
Stytch's ``sessions/authenticate``; an expired access token is ``malformed`` here.

It is tested against PyJWT's ``jwt.decode`` with the SDK's options as an
oracle (``tests/auth/test_session_jwt_differential.py``): every token PyJWT
refuses is refused here. Deliberately stricter than PyJWT:

1. segments must be unpadded (PyJWT 2.15 accepts correct ``=`` padding, so
   ``sig`` and ``sig==`` verify as one token; it refuses, as this library does,
   characters outside the alphabet and non-zero trailing bits);
2. ``exp``, ``iat`` and ``nbf`` must be JSON numbers (PyJWT also takes numeric
   strings and booleans through ``int()``), and ``exp`` a time ``datetime``
   can hold;
3. a ``crit`` header, or a ``b64`` header other than ``true``, is refused
   (PyJWT understands the ``b64`` extension; Stytch never uses either);
4. the payload must carry Stytch's session claims (``sub``, the session and
   organization objects, roles as a list of strings).

Verified tokens are remembered until their ``exp`` (or until ``max_age``), at most
``memo_size`` of them (0: none), keyed by the token string itself: a repeated token
costs one dict look-up and one clock read (:mod:`stytch_rbac.auth.memo` says how it
is keyed and what it evicts). The facade shares that memo with its access-token
verifier (:mod:`stytch_rbac.auth.access_token`); only a :class:`Principal` found in it
answers for a session.

The checks themselves (the split, the signature, the registered claims) live in
:mod:`stytch_rbac.auth._jws`, shared with access tokens.
"""

from __future__ import annotations

from collections.abc import Collection

from ..clock import Clock, SystemClock
from ..errors import Unauthenticated
from ..principal import AnyPrincipal, Principal
from ._jws import StaleJWT, check_registered_claims, check_signature, split
from .claims import SESSION_CLAIM, principal_from_claims
from .jwks import JWKSCache
from .memo import TokenMemo

__all__ = ["SessionJWTVerifier", "StaleJWT"]


def _require_token(token: object) -> None:
    if not isinstance(token, str):
        raise TypeError(f"a session JWT is a str, got {type(token).__name__}")
    if not token:
        raise Unauthenticated("missing", "no session JWT")


class SessionJWTVerifier:
    """Verify Stytch session JWTs locally and turn them into Principals (see module docs).

    ``memo``: the memo to remember verified tokens in, shared with the access-token
    verifier by the facade (a hit of another kind of principal is no session: it is
    verified, and refused, like any token); None makes one of ``memo_size``.
    """

    def __init__(
        self,
        *,
        project_id: str,
        base_url: str,
        jwks: JWKSCache,
        clock: Clock | None = None,
        leeway: float = 0,
        max_age: float | None = None,
        memo_size: int = 10_000,
        memo: TokenMemo[AnyPrincipal] | None = None,
    ) -> None:
        if leeway < 0:
            raise ValueError(f"leeway must be >= 0, got {leeway!r}")
        if max_age is not None and max_age < 0:
            raise ValueError(f"jwt_max_age must be >= 0 or None, got {max_age!r}")
        self.project_id = project_id
        self.issuers: frozenset[str] = frozenset({f"stytch.com/{project_id}", base_url.rstrip("/")})
        self.jwks = jwks
        self.leeway: float = float(leeway)
        self.max_age = max_age
        self._clock: Clock = clock or SystemClock()
        self.memo: TokenMemo[AnyPrincipal] = TokenMemo(memo_size) if memo is None else memo

    @property
    def memo_size(self) -> int:
        """At most this many verified tokens are remembered (0: none)."""
        return self.memo.size

    @memo_size.setter
    def memo_size(self, size: int) -> None:
        self.memo.size = size

    def __len__(self) -> int:
        """How many verified tokens are remembered."""
        return len(self.memo)

    def forget(self, kids: Collection[str] | None = None) -> None:
        """Drop the remembered tokens verified with one of ``kids`` (every one with None),
        e.g. after those signing keys were withdrawn."""
        self.memo.forget(kids)

    def remembered(self, token: str) -> Principal | None:
        """The Principal of ``token`` if it was verified before and is still valid, else None."""
        hit = self.memo.get(token, self._clock.time())
        # An access token's principal shares the memo: it never answers for a session.
        return hit if type(hit) is Principal else None

    async def verify(self, token: str) -> Principal:
        """The Principal for a valid ``token``.

        Raises :class:`Unauthenticated` for anything not genuine and valid,
        :class:`StaleJWT` for a genuine token that is expired or too old, and
        :class:`StytchUnavailable` when the JWKS cannot be fetched at all.
        """
        _require_token(token)
        principal = self.remembered(token)
        if principal is not None:
            return principal
        kid, payload, signing_input, signature = split(token)
        await check_signature(self.jwks, kid, signing_input, signature)
        try:
            exp, iat = check_registered_claims(
                payload,
                project_id=self.project_id,
                issuers=self.issuers,
                now=self._clock.time(),
                leeway=self.leeway,
                max_age=self.max_age,
            )
        except StaleJWT:
            # Only a session can be refreshed: an expired access token (an M2M token has
            # Stytch's issuer too) is refused here, never sent to sessions/authenticate.
            if SESSION_CLAIM not in payload:
                raise Unauthenticated("malformed", "the JWT is not a session JWT") from None
            raise
        try:
            principal = principal_from_claims(payload, session_jwt=token)
        except (ValueError, TypeError, OverflowError) as exc:
            raise Unauthenticated("malformed", f"session JWT {exc}") from None
        valid_until = exp + self.leeway
        if self.max_age is not None:
            valid_until = min(valid_until, iat + self.max_age)
        self.memo.put(token, principal, valid_until, kid, self._clock.time())
        return principal
