"""Who the gateway believes the caller is, replayed against the gateway process.

The login limit keys on the identity auth will check, however the body spells
it (issue 16, finding 8); registrations are limited per address, and
forwarding headers are believed only from a trusted proxy (finding 9).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .hostile import marker
from .process import GatewayProcess, gateway_process
from .raw import Answer, exchange, request
from .recorder import RecordingUpstream


@pytest.fixture(scope="module")
async def gateway(
    upstream: RecordingUpstream, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[GatewayProcess]:
    env = {
        # The test client connects from loopback: a trusted proxy here, so each request
        # can come "from" an address of its own.
        "GATEWAY_TRUSTED_PROXIES": "127.0.0.0/8",
        "GATEWAY_RATE_LIMIT_LOGIN": "3/minute",
        "GATEWAY_RATE_LIMIT_REGISTER": "2/hour",
    }
    state = tmp_path_factory.mktemp("identity")
    async with gateway_process(state, upstream.base, env) as process:
        yield process


async def post(gateway: GatewayProcess, target: str, body: bytes, address: str) -> Answer:
    headers = [("Content-Type", "application/json"), ("X-Forwarded-For", address)]
    raw = request("POST", target, headers=headers, body=body)
    return await exchange(gateway.port, raw, method="POST")


def spellings(name: str) -> dict[str, list[bytes]]:
    """Four login bodies for one identity, as an attacker varies them."""
    plain = f'{{"username": "{name}", "password": "wrong-password"}}'.encode()
    return {
        "byte order mark": [b"\xef\xbb\xbf" + plain] * 4,
        "NaN": [plain[:-1] + b', "n": NaN}'] * 4,
        "case and spaces": [
            plain,
            plain.replace(name.encode(), name.upper().encode()),
            plain.replace(name.encode(), f"  {name} ".encode()),
            b"\xef\xbb\xbf" + plain.replace(name.encode(), name.title().encode()),
        ],
        "email": [
            f'{{"email": "{name}@example.com", "password": "x"}}'.encode(),
            f'{{"email": "{name.upper()}@EXAMPLE.COM", "password": "x"}}'.encode(),
            b"\xef\xbb\xbf" + f'{{"email": " {name}@example.com", "password": "x"}}'.encode(),
            f'{{"email": "{name}@Example.com", "password": "x", "n": NaN}}'.encode(),
        ],
    }


SPELLINGS = ["byte order mark", "NaN", "case and spaces", "email"]


@pytest.mark.parametrize("spelling", SPELLINGS)
async def test_the_login_limit_keys_on_the_identity_auth_reads(
    gateway: GatewayProcess, upstream: RecordingUpstream, spelling: str
) -> None:
    name = marker()
    bodies = spellings(name)[spelling]
    network = SPELLINGS.index(spelling)  # addresses of their own: the per-address limit stays out
    answers = [
        await post(gateway, f"/auth/login?{name}", body, f"203.0.{network}.{index}")
        for index, body in enumerate(bodies, start=1)
    ]
    assert [answer.status for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.error_code() == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert len(upstream.complete(name)) == 3


async def test_registrations_are_limited_per_address(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    body = b'{"username": "newcomer", "password": "correct-horse"}'
    statuses = [
        (await post(gateway, f"/api/auth/register?{mark}", body, "198.51.100.7")).status
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    other = await post(gateway, f"/auth/register?{mark}", body, "198.51.100.8")
    assert other.status == 200
    assert len(upstream.complete(mark)) == 3


async def test_forwarding_headers_from_a_trusted_proxy_are_passed_on(
    gateway: GatewayProcess, upstream: RecordingUpstream
) -> None:
    mark = marker()
    headers = [
        ("X-Forwarded-For", "192.0.2.1"),
        ("X-Real-IP", "192.0.2.1"),
        ("Forwarded", "for=192.0.2.1"),
        ("X-Forwarded-Proto", "https"),
    ]
    answer = await exchange(gateway.port, request("GET", f"/api/products?{mark}", headers=headers))
    assert answer.status == 200
    [seen] = upstream.complete(mark)
    assert seen.header("x-forwarded-for") == ["192.0.2.1, 127.0.0.1"]
    assert seen.header("x-real-ip") == ["192.0.2.1"]
    assert seen.header("forwarded") == ["for=192.0.2.1"]
    assert seen.header("x-forwarded-proto") == ["https"]
