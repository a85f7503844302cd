"""Pydantic building blocks every service's request and response schemas share."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, Field, PlainSerializer, TypeAdapter, ValidationError


def storable_text(value: str) -> str:
    """Refuse text a database cannot store: NUL characters (PostgreSQL) and lone surrogates."""
    if "\x00" in value:
        raise ValueError("text may not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode") from None
    return value


StorableText = Annotated[str, AfterValidator(storable_text)]

# Decimal's own syntax, with ASCII digits only and no underscores.
_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def decimal_from_text(text: str) -> Decimal:
    """The number ``text`` writes in ASCII digits; ``ValueError`` for anything else.

    ``Decimal()`` alone also reads underscores (``"1_0"`` is 10) and any
    Unicode digits (Arabic-Indic, full-width), which an amount of money must not
    be written in; and ``"NaN"`` and ``"Infinity"``, which are no amount either.
    """
    if not _DECIMAL_TEXT.fullmatch(text):
        raise ValueError(f"{text!r} is not a number written in ASCII digits")
    return Decimal(text)


def json_number(value: Any) -> Any:
    """A consumed event's JSON number as a Decimal read through its text, so 0.1 becomes
    Decimal("0.1"), not the float's bits; ``ValueError`` for anything but a number."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError("must be a JSON number")
    return value if isinstance(value, Decimal) else Decimal(str(value))


# Money is Decimal inside and a JSON number (at most two decimals) on the wire.
money_as_number = PlainSerializer(float, return_type=float, when_used="json")
MoneyNumber = Annotated[Decimal, money_as_number]

# The largest value a BIGINT column (ids) holds: a bigger one in a request is a 4xx, not a 500.
MAX_ID = 2**63 - 1
MAX_OFFSET = 2**31 - 1

Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many.")]


EMAIL_MAX, EMAIL_LOCAL_MAX = 254, 64
# ASCII addresses: a dot-atom local part and a domain of DNS labels with a dot in it.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$"
)
_PHONE = re.compile(r"^[0-9 +()-]+$")
_PHONE_MIN_DIGITS = 5


def check_email(value: str) -> str:
    """A plausible email address (ASCII, ``local@domain.tld``, at most 254 characters)."""
    local, _, _ = value.partition("@")
    if len(value) > EMAIL_MAX or len(local) > EMAIL_LOCAL_MAX or not _EMAIL.match(value):
        raise ValueError("must be a valid email address")
    return value


def email_key(email: str) -> str:
    """The form emails are compared in: ``Ann@X.org`` and ``ann@x.org`` are one address."""
    return email.lower()


def check_phone(value: str) -> str:
    """A phone number: digits, spaces, ``+ - ( )``; at least five digits."""
    digits = sum(ch.isdigit() for ch in value)
    if not _PHONE.match(value) or digits < _PHONE_MIN_DIGITS:
        raise ValueError("must be a phone number: digits, spaces, '+', '-', '(' and ')'")
    return value


def id_list_query(
    name: str, *, max_items: int, description: str
) -> Callable[[list[str] | None], Awaitable[tuple[int, ...] | None]]:
    """A dependency reading the query parameter ``name`` as ids: ``1,2,3`` or ``name=1&name=2``.

    Answers the distinct ids in the order given (None when absent); a bad id, or
    more than ``max_items``, is a 422 naming the parameter.
    """
    adapter = TypeAdapter(
        Annotated[list[Annotated[int, Field(ge=1, le=MAX_ID)]], Field(max_length=max_items)]
    )

    async def ids(raw: list[str] | None = None) -> tuple[int, ...] | None:
        if raw is None:
            return None
        parts = [part.strip() for value in raw for part in value.split(",")]
        try:
            valid = adapter.validate_python(parts)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("query", name, *error["loc"])} for error in exc.errors()]
            ) from None
        return tuple(dict.fromkeys(valid))

    # Set as an object, not written in the signature: these annotations are strings
    # (postponed evaluation) that could not see this call's ``name`` and ``description``.
    ids.__annotations__["raw"] = Annotated[
        list[str] | None, Query(alias=name, description=description)
    ]
    return ids
