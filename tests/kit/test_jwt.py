from datetime import UTC, datetime, timedelta

import jwt as pyjwt
import pytest

from shopmesh.kit.errors import Unauthorized
from shopmesh.kit.jwt import Principal, TokenVerifier, bearer_token, issue_token

SECRET = "test-secret-0123456789-0123456789-abcdef"
ISSUER = "shopmesh-auth"
verifier = TokenVerifier(secret=SECRET, issuer=ISSUER)


def make_token(**overrides: object) -> str:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": "42",
        "username": "ada",
        "role": "user",
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
        "iss": ISSUER,
    }
    claims.update(overrides)
    return pyjwt.encode({k: v for k, v in claims.items() if v is not None}, SECRET, "HS256")


def test_issued_token_verifies_to_its_principal() -> None:
    token = issue_token(
        Principal(7, "ada", "admin"), secret=SECRET, issuer=ISSUER, ttl=timedelta(hours=24)
    )
    assert verifier.verify(token) == Principal(7, "ada", "admin")
    claims = pyjwt.decode(token, SECRET, algorithms=["HS256"], issuer=ISSUER)
    assert claims["exp"] - claims["iat"] == 24 * 3600


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(make_token(exp=int(datetime.now(UTC).timestamp()) - 60), id="expired"),
        pytest.param(make_token(nbf=int(datetime.now(UTC).timestamp()) + 600), id="not-yet-valid"),
        pytest.param(make_token(iss="someone-else"), id="wrong-issuer"),
        pytest.param(make_token(sub="not-a-number"), id="bad-subject"),
        pytest.param(make_token(exp=None), id="no-expiry"),
        pytest.param(
            pyjwt.encode({"sub": "1", "iss": ISSUER}, "another-key-0123456789-0123456789", "HS256"),
            id="wrong-key",
        ),
        pytest.param(make_token()[:-3] + "abc", id="tampered-signature"),
        pytest.param("not.a.jwt", id="garbage"),
    ],
)
def test_invalid_tokens_are_refused(token: str) -> None:
    with pytest.raises(Unauthorized):
        verifier.verify(token)


def test_alg_none_is_refused() -> None:
    unsigned = pyjwt.encode(
        {"sub": "1", "iss": ISSUER, "exp": 9999999999, "iat": 1}, key=None, algorithm="none"
    )
    with pytest.raises(Unauthorized):
        verifier.verify(unsigned)


def test_bearer_and_bare_tokens_are_both_accepted() -> None:
    token = make_token()
    assert verifier.verify_header(f"Bearer {token}").user_id == 42
    assert verifier.verify_header(token).user_id == 42


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic abc def", "Bearer "])
def test_missing_or_malformed_authorization_is_unauthorized(header: str | None) -> None:
    with pytest.raises(Unauthorized):
        verifier.verify_header(header)


def test_bearer_token_extraction() -> None:
    assert bearer_token("bearer abc") == "abc"
    assert bearer_token("abc") == "abc"
    assert bearer_token("Basic abc") is None


class CountingVerifier(TokenVerifier):
    """Counts the full (signature) checks, to see which calls the cache answered."""

    checks = 0

    def _verify(self, token: str) -> tuple[Principal, float]:
        self.checks += 1
        return super()._verify(token)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_cached_token_is_checked_in_full_once_until_it_expires() -> None:
    now = datetime.now(UTC)
    exp = int((now + timedelta(hours=1)).timestamp())
    clock = Clock(now.timestamp())
    cached = CountingVerifier(secret=SECRET, issuer=ISSUER, cache_size=10, clock=clock)
    token = make_token(exp=exp)
    assert cached.verify(token) == cached.verify(token) == Principal(42, "ada", "user")
    assert cached.checks == 1
    clock.now = exp + 1.0  # past its exp: the cache no longer answers for it
    cached.verify(token)  # (PyJWT's own clock still says valid; this counts the check)
    assert cached.checks == 2


def test_a_tampered_copy_of_a_cached_token_is_refused() -> None:
    cached = TokenVerifier(secret=SECRET, issuer=ISSUER, cache_size=10)
    token = make_token()
    cached.verify(token)
    header, _payload, signature = token.split(".")
    forged_payload = make_token(sub="1").split(".")[1]
    for forged in (f"{header}.{forged_payload}.{signature}", token[:-2] + "xx"):
        with pytest.raises(Unauthorized):
            cached.verify(forged)


def test_the_cache_keeps_at_most_its_size() -> None:
    cached = CountingVerifier(secret=SECRET, issuer=ISSUER, cache_size=2)
    tokens = [make_token(sub=str(n)) for n in range(3)]
    for token in tokens:
        cached.verify(token)
    cached.verify(tokens[2])
    cached.verify(tokens[0])  # the oldest was dropped to make room: checked again
    assert cached.checks == 4


def test_without_a_cache_size_every_call_is_checked_in_full() -> None:
    plain = CountingVerifier(secret=SECRET, issuer=ISSUER)
    token = make_token()
    plain.verify(token)
    plain.verify(token)
    assert plain.checks == 2


def test_an_expired_token_is_refused_even_after_being_cached() -> None:
    issued = datetime.now(UTC) - timedelta(minutes=10)
    token = make_token(iat=int(issued.timestamp()), exp=int(issued.timestamp()) + 300)
    cached = TokenVerifier(secret=SECRET, issuer=ISSUER, cache_size=10)
    cached._verified[token] = (Principal(42, "ada", "user"), issued.timestamp() + 300)
    with pytest.raises(Unauthorized) as refused:
        cached.verify_header(f"Bearer {token}")
    assert refused.value.code == "token_expired"
    assert token not in cached._verified


def test_the_cache_never_admits_a_token_that_fails_verification() -> None:
    cached = TokenVerifier(secret=SECRET, issuer=ISSUER, cache_size=10)
    forged = make_token()[:-2] + "xx"
    for _ in range(2):
        with pytest.raises(Unauthorized):
            cached.verify(forged)
    assert cached._verified == {}


def test_a_header_as_received_is_remembered_until_its_token_expires() -> None:
    now = datetime.now(UTC)
    exp = int((now + timedelta(hours=1)).timestamp())
    clock = Clock(now.timestamp())
    cached = CountingVerifier(secret=SECRET, issuer=ISSUER, cache_size=10, clock=clock)
    token = make_token(exp=exp)
    header = f"Bearer {token}".encode()
    assert cached.verify_header(header) == cached.verify_header(header) == Principal(42, "ada")
    assert cached.checks == 1
    assert cached.verify_header(token.encode()) == Principal(42, "ada")  # bare: its own entry
    assert cached.checks == 2
    clock.now = exp + 1.0  # past its exp: the remembered header no longer answers
    cached.verify_header(header)
    assert cached.checks == 3


def test_a_header_that_differs_by_a_byte_is_checked_in_full() -> None:
    cached = TokenVerifier(secret=SECRET, issuer=ISSUER, cache_size=10)
    token = make_token()
    cached.verify_header(f"Bearer {token}".encode())
    for forged in (f"Bearer {token[:-2]}xx", f"Bearer {token}x", "Bearer", "Basic eA=="):
        with pytest.raises(Unauthorized):
            cached.verify_header(forged.encode())
    with pytest.raises(Unauthorized):
        cached.verify_header(b"")
