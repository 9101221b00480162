"""The session-JWT memo at and beyond its size: hit rate and cost per request. One run.

Prints, and exits 1 if a target is missed:

(a) the cost of one verification: a fresh token (RSA; PyJWT's ``jwt.decode`` with the
    stytch SDK's options beside it, on the same tokens), a repeated token answered
    from the memo (each request brings its own copy of the token string, as a web
    request does, so the string's hash is computed every time) and, for the choice of
    key, what a SHA-256 key would add (hashing a token);
    target: a memo hit < 1 µs (median);
(b) hit rate and mean cost per request with 1x, 2x and 10x ``--size`` distinct valid
    tokens, once every token was seen once: each requested in turn for ``--rounds``
    rounds (clients polling in turn: the pattern that turned an oldest-first memo from
    100% hits to 0%), and ``--rounds`` x tokens requests drawn at random with Zipf(1)
    popularity (a few busy sessions, a long tail; tokens first seen in random order);
    targets: 100% hits after the first round at 1x, and in turn at 2x at least
    40% (no cliff).

The verifier runs as the facade runs it (SystemClock, a JWKS fetched once); tokens are
RS256, signed with one 2048-bit key. ``--size`` defaults to 1,000 so that 10x stays
quick to sign; the memo's policy does not depend on the size (the facade's default is
10,000: ``StytchRBAC(jwt_memo_size=...)``).

Run: ``.venv/bin/python benchmarks/bench_memo.py [--size 1000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import random
import statistics
import sys
import time
from typing import Any

import anyio
import jwt as pyjwt
from _results import save  # benchmarks/_results.py, beside this script
from cryptography.hazmat.primitives.asymmetric import rsa

from stytch_rbac.auth import ORGANIZATION_CLAIM, SESSION_CLAIM, JWKSCache, SessionJWTVerifier

PROJECT = "project-test-11111111-2222-3333-4444-555555555555"
BASE_URL = "http://127.0.0.1:8765"
RESULTS: list[tuple[str, str, str, bool]] = []
DATA: dict[str, Any] = {}


def record(item: str, measured: str, target: str, met: bool) -> None:
    """Keep one result row and print it."""
    RESULTS.append((item, measured, target, met))
    print(f"  -> {'OK  ' if met else 'MISS'} {measured}   (target: {target})", flush=True)


def _b64(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Issuer:
    """Signs session JWTs with one key and serves its JWKS."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        numbers = self.key.public_key().public_numbers()
        self.jwk = {
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": "k1",
            "n": _b64(numbers.n),
            "e": _b64(numbers.e),
        }
        self.serial = 0

    async def fetch(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}

    def mint(self) -> str:
        self.serial += 1
        now = int(time.time())
        payload = {
            "iss": f"stytch.com/{PROJECT}",
            "aud": [PROJECT],
            "sub": f"member-test-{self.serial}",
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            SESSION_CLAIM: {"id": f"session-test-{self.serial}", "roles": ["stytch_member"]},
            ORGANIZATION_CLAIM: {"organization_id": "organization-test-1", "slug": "acme"},
        }
        return pyjwt.encode(payload, self.key, algorithm="RS256", headers={"kid": "k1"})


def verifier(issuer: Issuer, size: int) -> SessionJWTVerifier:
    """A verifier for PROJECT remembering at most ``size`` tokens."""
    return SessionJWTVerifier(
        project_id=PROJECT,
        base_url=BASE_URL,
        jwks=JWKSCache(issuer.fetch),
        memo_size=size,
    )


def copy(token: str) -> str:
    """An equal string that is another object (its hash not computed yet)."""
    return token[:1] + token[1:]


# -- (a) ---------------------------------------------------------------------------------------


async def bench_costs(issuer: Issuer, fresh: int) -> None:
    print(f"\n(a) one verification: {fresh} fresh tokens, then one token repeated", flush=True)
    v = verifier(issuer, 10 * fresh)
    tokens = [issuer.mint() for _ in range(fresh + 1)]
    await v.verify(tokens[-1])  # JWKS fetched
    gc.collect()
    fresh_ns = []
    for token in tokens[:-1]:
        start = time.perf_counter_ns()
        await v.verify(token)
        fresh_ns.append(time.perf_counter_ns() - start)
    public = issuer.key.public_key()
    pyjwt_ns = []
    for token in tokens[:-1]:
        start = time.perf_counter_ns()
        pyjwt.decode(
            token,
            public,
            algorithms=["RS256"],
            audience=PROJECT,
            issuer=[f"stytch.com/{PROJECT}", BASE_URL],
            options={"require": ["aud", "iss", "exp", "iat", "nbf"]},
        )
        pyjwt_ns.append(time.perf_counter_ns() - start)
    copies = [copy(tokens[0]) for _ in range(20_000)]
    hit_ns = []
    remembered = v.remembered
    for token in copies:
        start = time.perf_counter_ns()
        found = remembered(token)
        hit_ns.append(time.perf_counter_ns() - start)
        assert found is not None
    copies = [copy(tokens[0]) for _ in range(20_000)]
    digests = {hashlib.sha256(tokens[0].encode()).digest(): 1}
    sha_ns = []
    for token in copies:
        start = time.perf_counter_ns()
        digests.get(hashlib.sha256(token.encode()).digest())
        sha_ns.append(time.perf_counter_ns() - start)
    fresh_us = statistics.median(fresh_ns) / 1000
    pyjwt_us = statistics.median(pyjwt_ns) / 1000
    hit_us = statistics.median(hit_ns) / 1000
    sha_us = statistics.median(sha_ns) / 1000
    print(f"  fresh token (RSA):                  median {fresh_us:.2f} µs")
    print(f"  the same with PyJWT's jwt.decode:   median {pyjwt_us:.2f} µs (the SDK's options)")
    print(f"  memo hit, keyed by the token:       median {hit_us:.3f} µs")
    print(f"  a SHA-256 key: hash + look-up only: median {sha_us:.3f} µs")
    DATA["costs"] = {
        "fresh_us": fresh_us,
        "pyjwt_fresh_us": pyjwt_us,
        "hit_us": hit_us,
        "sha256_key_us": sha_us,
    }
    record("(a) memo hit", f"{hit_us:.3f} µs (median)", "< 1 µs", hit_us < 1)


# -- (b) ---------------------------------------------------------------------------------------


def in_turn(n: int, rounds: int, _rnd: random.Random) -> list[int]:
    """Each of n tokens in turn, ``rounds`` times."""
    return [i for _ in range(rounds) for i in range(n)]


def zipf(n: int, rounds: int, rnd: random.Random) -> list[int]:
    """n * rounds requests drawn with Zipf(1) popularity over n tokens."""
    weights = [1 / (i + 1) for i in range(n)]
    return rnd.choices(range(n), weights=weights, k=n * rounds)


async def replay(
    v: SessionJWTVerifier, tokens: list[str], order: list[int]
) -> tuple[float, float, float]:
    """Hit rate, mean µs per request and median µs per miss over ``order``."""
    hits = 0
    total_ns = 0
    miss_ns = []
    remembered = v.remembered
    for i in order:
        token = copy(tokens[i])
        start = time.perf_counter_ns()
        if remembered(token) is not None:
            hits += 1
            total_ns += time.perf_counter_ns() - start
        else:
            await v.verify(token)
            took = time.perf_counter_ns() - start
            total_ns += took
            miss_ns.append(took)
    miss_us = statistics.median(miss_ns) / 1000 if miss_ns else 0.0
    return hits / len(order), total_ns / len(order) / 1000, miss_us


async def bench_hit_rates(issuer: Issuer, size: int, rounds: int) -> None:
    print(f"\n(b) hit rate and cost per request, memo size {size}", flush=True)
    tokens = [issuer.mint() for _ in range(10 * size)]
    rows: dict[str, dict[str, Any]] = {}
    for name, pattern in (("in turn", in_turn), ("zipf", zipf)):
        for times in (1, 2, 10):
            n = times * size
            v = verifier(issuer, size)
            rnd = random.Random(times)
            warm = list(range(n))
            rnd.shuffle(warm)  # each token once, in no particular order: the memo fills
            await replay(v, tokens, warm if pattern is zipf else in_turn(n, 1, rnd))
            gc.collect()
            rate, mean_us, miss_us = await replay(v, tokens, pattern(n, rounds, rnd))
            rows[f"{name} {times}x"] = {
                "hit_rate": rate,
                "mean_us": mean_us,
                "miss_median_us": miss_us,
                "tokens": n,
            }
            print(
                f"  {name:<8} {times:>2}x size ({n:>6} tokens): hit rate {rate:6.1%}   "
                f"mean {mean_us:6.2f} µs per request (a miss: median {miss_us:5.1f} µs)",
                flush=True,
            )
    DATA["hit_rates"] = rows
    DATA["size"] = size
    record(
        "(b) in turn, 1x",
        f"{rows['in turn 1x']['hit_rate']:.1%} hits",
        "100%",
        rows["in turn 1x"]["hit_rate"] == 1,
    )
    record(
        "(b) in turn, 2x",
        f"{rows['in turn 2x']['hit_rate']:.1%} hits",
        ">= 40% (no cliff)",
        rows["in turn 2x"]["hit_rate"] >= 0.4,
    )


async def main(args: argparse.Namespace) -> int:
    issuer = Issuer()
    await bench_costs(issuer, args.fresh)
    await bench_hit_rates(issuer, args.size, args.rounds)
    print("\nSummary")
    width = max(len(r[0]) for r in RESULTS)
    for item, measured, target, met in RESULTS:
        print(f"  {'OK  ' if met else 'MISS'} {item:<{width}}  {measured}  [target {target}]")
    save("memo", DATA)
    return 1 if any(not r[3] for r in RESULTS) else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=1_000, help="the memo size")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the tokens")
    parser.add_argument("--fresh", type=int, default=1_000, help="fresh tokens for (a)")
    sys.exit(anyio.run(main, parser.parse_args()))
