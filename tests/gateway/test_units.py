"""Rate-limit counters and the verified-token cache, with fake clocks (no sockets)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shopmesh.gateway.auth import CachedVerifier
from shopmesh.gateway.body import login_username
from shopmesh.gateway.ratelimit import Decision, LocalCounters, RateLimiter, tightest
from shopmesh.kit.errors import Unauthorized
from shopmesh.kit.jwt import Principal, TokenVerifier, issue_token

SECRET = "unit-test-secret-0123456789-abcdefghijkl"


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class BrokenStore:
    async def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        raise ConnectionError("redis is down")

    async def get_expiry(self, key: str) -> float:
        raise ConnectionError("redis is down")


async def test_fixed_window_counts_per_key_and_starts_over_when_the_window_ends() -> None:
    clock = Clock(1000.0)
    counters = LocalCounters(clock=clock)
    assert [await counters.incr("a", 60) for _ in range(3)] == [1, 2, 3]
    assert await counters.incr("b", 60) == 1
    assert await counters.get_expiry("a") == 1060.0
    clock.now = 1060.0
    assert await counters.incr("a", 60) == 1
    assert await counters.get_expiry("a") == 1120.0


async def test_counters_stay_bounded_under_many_clients() -> None:
    clock = Clock(0.0)
    counters = LocalCounters(max_keys=10, clock=clock)
    for index in range(25):
        await counters.incr(f"client-{index}", 60)
    assert len(counters._windows) <= 10


async def test_limiter_refuses_past_the_limit_and_reports_the_window() -> None:
    limiter = RateLimiter({"ip": "2/minute"}, store=LocalCounters())
    first = await limiter.check("ip", "10.0.0.1")
    await limiter.check("ip", "10.0.0.1")
    third = await limiter.check("ip", "10.0.0.1")
    other = await limiter.check("ip", "10.0.0.2")
    assert first is not None
    assert (first.allowed, first.limit, first.remaining) == (True, 2, 1)
    assert third is not None
    assert (third.allowed, third.remaining) == (False, 0)
    assert 1 <= third.reset_after <= 60
    assert (b"retry-after", b"%d" % third.reset_after) in third.headers()
    assert other is not None
    assert other.allowed


async def test_limiter_fails_open_when_its_store_is_down() -> None:
    limiter = RateLimiter({"ip": "1/minute"}, store=BrokenStore())
    assert await limiter.check("ip", "10.0.0.1") is None


def test_the_tightest_decision_is_shown() -> None:
    roomy = Decision(allowed=True, limit_class="ip", limit=500, remaining=499, reset_after=1)
    tight = Decision(allowed=True, limit_class="user", limit=100, remaining=3, reset_after=1)
    refused = Decision(allowed=False, limit_class="login", limit=10, remaining=0, reset_after=40)
    assert tightest(roomy, tight) is tight
    assert tightest(tight, roomy) is tight
    assert tightest(roomy, refused) is refused
    assert tightest(None, roomy) is roomy
    assert tightest(None, None) is None


def _token(*, ttl: timedelta, now: datetime | None = None) -> str:
    principal = Principal(user_id=7, username="ann")
    return issue_token(principal, secret=SECRET, issuer="shopmesh-auth", ttl=ttl, now=now)


class CountingVerifier(TokenVerifier):
    def __init__(self) -> None:
        super().__init__(secret=SECRET, issuer="shopmesh-auth")
        self.calls = 0

    def verify(self, token: str) -> Principal:
        self.calls += 1
        return super().verify(token)


def test_a_verified_token_is_served_from_the_cache_until_its_exp() -> None:
    issued = datetime.now(UTC)
    token = _token(ttl=timedelta(minutes=10), now=issued)
    clock = Clock(issued.timestamp())
    inner = CountingVerifier()
    verifier = CachedVerifier(inner, clock=clock)
    assert verifier.verify_header(f"Bearer {token}").user_id == 7
    assert verifier.verify_header(token).user_id == 7
    assert inner.calls == 1
    clock.now = issued.timestamp() + 600  # at exp the cached answer no longer counts
    verifier.verify_header(token)
    assert inner.calls == 2


def test_an_expired_token_is_refused_even_after_being_cached() -> None:
    issued = datetime.now(UTC) - timedelta(minutes=10)
    token = _token(ttl=timedelta(minutes=5), now=issued)
    verifier = CachedVerifier(
        TokenVerifier(secret=SECRET, issuer="shopmesh-auth"), clock=Clock(issued.timestamp())
    )
    verifier._verified[token] = (Principal(user_id=7, username="ann"), issued.timestamp() + 300)
    verifier._clock = Clock(issued.timestamp() + 600)
    with pytest.raises(Unauthorized) as refused:
        verifier.verify_header(token)
    assert refused.value.code == "token_expired"


def test_the_cache_never_admits_a_token_that_fails_verification() -> None:
    verifier = CachedVerifier(TokenVerifier(secret=SECRET, issuer="shopmesh-auth"))
    forged = _token(ttl=timedelta(minutes=5))[:-2] + "xx"
    for _ in range(2):
        with pytest.raises(Unauthorized):
            verifier.verify_header(forged)
    assert verifier._verified == {}


def test_the_cache_is_bounded() -> None:
    verifier = CachedVerifier(TokenVerifier(secret=SECRET, issuer="shopmesh-auth"), max_entries=3)
    for minutes in range(1, 6):
        verifier.verify_header(_token(ttl=timedelta(minutes=minutes)))
    assert len(verifier._verified) == 3


@pytest.mark.parametrize(
    ("body", "username"),
    [
        (b'{"username": " Ann ", "password": "x"}', "ann"),
        (b'{"username": 5}', None),
        (b'{"username": ""}', None),
        (b"[1, 2]", None),
        (b"{not json", None),
        (b"", None),
    ],
)
def test_login_username_is_read_leniently(body: bytes, username: str | None) -> None:
    assert login_username(body) == username
