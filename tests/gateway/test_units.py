"""Rate-limit counters and the login-identity parser, with fake clocks (no sockets)."""

from __future__ import annotations

import pytest

from shopmesh.gateway.login import login_identities
from shopmesh.gateway.ratelimit import Decision, LocalCounters, RateLimiter, tightest

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


@pytest.mark.parametrize(
    ("body", "identities"),
    [
        (b'{"username": " Ann ", "password": "x"}', ["ann"]),
        (b'{"email": "Ann@Example.COM", "password": "x"}', ["ann@example.com"]),
        (b'{"username": "ann", "email": "ann@example.com"}', ["ann", "ann@example.com"]),
        # What the standard library's json.loads (auth's parse) accepts, the key follows.
        (b'\xef\xbb\xbf{"username": "Ann"}', ["ann"]),
        (b'{"username": "Ann", "amount": NaN}', ["ann"]),
        (b'{"username": "x", "username": "Victim"}', ["victim"]),
        (b'{"username": "\\u0041nn"}', ["ann"]),
        (b'{"username": "Stra\xc3\x9fe"}', ["strasse"]),
        (b'{"username": 5}', []),
        (b'{"username": ""}', []),
        (b"[1, 2]", []),
        (b"{not json", []),
        (b"[" * 100_000, []),
        (b"", []),
    ],
)
def test_login_identities_are_read_as_auth_reads_them(body: bytes, identities: list[str]) -> None:
    assert login_identities(body) == identities
