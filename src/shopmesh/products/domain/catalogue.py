"""The catalogue: the product, the rules its fields obey, listings, its refusals. Pure."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from urllib.parse import urlsplit

from shopmesh.kit.errors import Conflict, NotFound
from shopmesh.kit.validation import storable_text

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
# The largest value a NUMERIC(12, 2) column holds.
MAX_PRICE = Decimal("9999999999.99")
MAX_RATING = Decimal("5.0")
MAX_STOCK = 1_000_000_000
MAX_RATING_COUNT = 2_000_000_000

NAME_MAX = 200
DESCRIPTION_MAX = 5000
CATEGORY_MAX = 100
BRAND_MAX = 100
MODEL_MAX = 100
SKU_MAX = 64
SKU_PATTERN = r"^[A-Za-z0-9._-]+$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
DEFAULT_CURRENCY = "USD"
IMAGES_MAX = 10
IMAGE_URL_MAX = 2048
TAGS_MAX = 20
TAG_MAX = 50
SPECIFICATIONS_MAX = 50
SPEC_KEY_MAX = 100
SPEC_VALUE_MAX = 500

RESERVATION_QUANTITY_MAX = 1000
RESERVATION_LINES_MAX = 100
IDS_MAX = 100
# Product fields that may be null (they mean "none"); the others always have a value.
NULLABLE_FIELDS = frozenset({"category", "brand", "model", "sku", "origin"})
ORIGIN_MAX = 100

_WHITESPACE = re.compile(r"\s")


def specification_lines(specifications: dict[str, str]) -> list[str]:
    """Specifications as the lines clients show (``"Weight: 1.2 kg"``), in their order."""
    return [f"{name}: {value}" if value else name for name, value in specifications.items()]


def specifications_from_lines(lines: list[str]) -> dict[str, str]:
    """The inverse of :func:`specification_lines`: ``"Weight: 1.2 kg"`` -> ``Weight``, ``1.2 kg``
    (split at the first colon; a line without one is a name with an empty value)."""
    pairs: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        pairs[name.strip()] = value.strip()
    return pairs


def _to_decimal(value: object, what: str) -> Decimal:
    # bool is an int subclass; True must not become a price of 1.00. Strings are refused too:
    # the API's numbers are JSON numbers.
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"{what} must be a JSON number")
    text = repr(value) if isinstance(value, float) else str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{what} must be a number") from None
    if not number.is_finite():
        raise ValueError(f"{what} must be a finite number")
    return number


def parse_price(value: object) -> Decimal:
    """A price: a JSON number > 0 with at most 2 decimals, at most :data:`MAX_PRICE`.

    Floats are read by their shortest decimal text, so 10.1 is 10.10 and 1.005 is refused.
    """
    price = _to_decimal(value, "price")
    if price <= 0:
        raise ValueError("price must be greater than 0")
    if price > MAX_PRICE:
        raise ValueError(f"price must be at most {MAX_PRICE}")
    if price != price.quantize(CENT):
        raise ValueError("price must have at most 2 decimal places")
    return price.quantize(CENT)


def parse_rating(value: object) -> Decimal:
    """A rating: a JSON number from 0 to 5 with at most one decimal."""
    rating = _to_decimal(value, "rating")
    if not Decimal(0) <= rating <= MAX_RATING:
        raise ValueError("rating must be between 0 and 5")
    if rating != rating.quantize(TENTH):
        raise ValueError("rating must have at most 1 decimal place")
    return rating.quantize(TENTH)


def check_image_url(value: str) -> str:
    """An absolute http(s) URL with a host and no whitespace."""
    storable_text(value)
    if len(value) > IMAGE_URL_MAX or _WHITESPACE.search(value):
        raise ValueError(f"image URLs are at most {IMAGE_URL_MAX} characters, without spaces")
    parts = urlsplit(value)
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise ValueError("images must be absolute http(s) URLs")
    return value


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags stripped, blank ones refused, duplicates (in any case) dropped, first spelling kept."""
    seen: set[str] = set()
    cleaned = []
    for tag in tags:
        text = tag.strip()
        if not text:
            raise ValueError("tags may not be blank")
        if text.casefold() not in seen:
            seen.add(text.casefold())
            cleaned.append(text)
    return cleaned


def blank_to_none(value: object) -> object:
    """Optional text fields: blank means absent."""
    if isinstance(value, str) and not value.strip():
        return None
    return value.strip() if isinstance(value, str) else value


class ProductSort(StrEnum):
    """Listing orders; a leading '-' means descending. Ties are broken by id."""

    NAME = "name"
    NAME_DESC = "-name"
    PRICE = "price"
    PRICE_DESC = "-price"
    CREATED_AT = "created_at"
    CREATED_AT_DESC = "-created_at"
    RATING = "rating"
    RATING_DESC = "-rating"

    @property
    def field(self) -> str:
        return self.value.removeprefix("-")

    @property
    def descending(self) -> bool:
        return self.value.startswith("-")


@dataclass(frozen=True, slots=True)
class Product:
    """A catalogue entry."""

    id: int
    name: str
    description: str
    price: Decimal
    currency: str
    stock_quantity: int
    category: str | None
    brand: str | None
    model: str | None
    sku: str | None
    images: list[str]
    tags: list[str]
    specifications: dict[str, str]
    additional_info: str
    rating: Decimal
    rating_count: int
    is_active: bool
    created_at: datetime
    updated_at: datetime
    origin: str | None = None  # country of origin


@dataclass(frozen=True, slots=True)
class ProductQuery:
    """What a listing asks for. With ``ids``, exactly those products (no paging)."""

    limit: int = 20
    offset: int = 0
    category: str | None = None
    text: str | None = None
    sort: ProductSort | None = None
    ids: tuple[int, ...] | None = None
    include_inactive: bool = False


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a listing and how many products match in all."""

    items: list[Product]
    total: int


class ProductNotFound(NotFound):
    code = "product_not_found"

    @classmethod
    def of(cls, product_ids: Iterable[int]) -> ProductNotFound:
        ids = sorted(set(product_ids))
        listed = ", ".join(str(i) for i in ids)
        return cls(f"product not found: {listed}", details={"product_ids": ids})


class SkuTaken(Conflict):
    code = "sku_taken"

    def __init__(self, sku: str) -> None:
        super().__init__(f"sku {sku!r} is already used by another product")
