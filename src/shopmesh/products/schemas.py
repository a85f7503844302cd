"""Request and response schemas of the products API (the shapes clients see in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Self
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from shopmesh.kit.validation import MAX_ID, storable_text
from shopmesh.kit.validation import MoneyNumber as Money
from shopmesh.products.domain import (
    BRAND_MAX,
    CATEGORY_MAX,
    CURRENCY_PATTERN,
    DEFAULT_CURRENCY,
    DESCRIPTION_MAX,
    IMAGES_MAX,
    MAX_RATING_COUNT,
    MAX_STOCK,
    MODEL_MAX,
    NAME_MAX,
    NULLABLE_FIELDS,
    ORIGIN_MAX,
    RESERVATION_LINES_MAX,
    RESERVATION_QUANTITY_MAX,
    SKU_MAX,
    SKU_PATTERN,
    SPEC_KEY_MAX,
    SPEC_VALUE_MAX,
    SPECIFICATIONS_MAX,
    TAG_MAX,
    TAGS_MAX,
    Product,
    ReservationRequest,
    ReservedLine,
    blank_to_none,
    check_image_url,
    clean_tags,
    parse_price,
    parse_rating,
    specification_lines,
    specifications_from_lines,
)

_as_float = PlainSerializer(float, return_type=float, when_used="json")

ProductId = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
# Every text field refuses what a database cannot store (NUL, lone surrogates).
_Clean = AfterValidator(storable_text)
Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NAME_MAX), _Clean
]
LongText = Annotated[str, StringConstraints(max_length=DESCRIPTION_MAX), _Clean]
Price = Annotated[
    Decimal,
    BeforeValidator(parse_price),
    _as_float,
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "multipleOf": 0.01}),
]
Currency = Annotated[str, StringConstraints(pattern=CURRENCY_PATTERN)]
Stock = Annotated[int, Field(strict=True, ge=0, le=MAX_STOCK)]


# Optional text: blank means absent (null).
Category = Annotated[
    Annotated[str, StringConstraints(max_length=CATEGORY_MAX), _Clean] | None,
    BeforeValidator(blank_to_none),
]
Brand = Annotated[
    Annotated[str, StringConstraints(max_length=BRAND_MAX), _Clean] | None,
    BeforeValidator(blank_to_none),
]
Model = Annotated[
    Annotated[str, StringConstraints(max_length=MODEL_MAX), _Clean] | None,
    BeforeValidator(blank_to_none),
]
Origin = Annotated[
    Annotated[str, StringConstraints(strip_whitespace=True, max_length=ORIGIN_MAX), _Clean] | None,
    BeforeValidator(blank_to_none),
]
Sku = Annotated[str, StringConstraints(min_length=1, max_length=SKU_MAX, pattern=SKU_PATTERN)]
ImageUrl = Annotated[str, AfterValidator(check_image_url)]
Images = Annotated[list[ImageUrl], Field(max_length=IMAGES_MAX)]
Tag = Annotated[str, StringConstraints(max_length=TAG_MAX), _Clean]
Tags = Annotated[list[Tag], Field(max_length=TAGS_MAX), AfterValidator(clean_tags)]
SpecKey = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=SPEC_KEY_MAX), _Clean
]
SpecValue = Annotated[str, StringConstraints(max_length=SPEC_VALUE_MAX), _Clean]


def _lines_to_specifications(value: Any) -> Any:
    # Clients send back what they read: a list of "name: value" lines.
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return specifications_from_lines(value)
    return value


Specifications = Annotated[
    dict[SpecKey, SpecValue],
    BeforeValidator(_lines_to_specifications),
    Field(max_length=SPECIFICATIONS_MAX),
]
SPECIFICATIONS_DOC = (
    'Named details: an object ({"Weight": "1.2 kg"}) or the lines products answers with '
    '(["Weight: 1.2 kg"]).'
)
Rating = Annotated[
    Decimal,
    BeforeValidator(parse_rating),
    _as_float,
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 5, "multipleOf": 0.1}),
]
RatingCount = Annotated[int, Field(strict=True, ge=0, le=MAX_RATING_COUNT)]


class ProductCreate(BaseModel):
    """A new product (also the body of a full replace with PUT: omitted fields take defaults).

    Unknown fields are refused, so a misspelt field never silently keeps its default.
    """

    model_config = ConfigDict(extra="forbid")

    name: Name = Field(examples=["Mechanical keyboard"])
    description: LongText = ""
    price: Price = Field(description="More than 0, at most 2 decimals.", examples=[49.99])
    currency: Currency = Field(DEFAULT_CURRENCY, description="ISO 4217 code, e.g. USD.")
    stock_quantity: Stock = 0
    category: Category = None
    brand: Brand = None
    model: Model = None
    origin: Origin = Field(None, description="Country of origin.")
    sku: Sku | None = Field(None, description="Unique; letters, digits, '.', '_', '-'.")
    images: Images = Field(default_factory=list, description="Up to 10 http(s) URLs.")
    tags: Tags = Field(default_factory=list)
    specifications: Specifications = Field(default_factory=dict, description=SPECIFICATIONS_DOC)
    additional_info: LongText = ""
    rating: Rating = Decimal("0.0")
    rating_count: RatingCount = 0
    is_active: StrictBool = True


class ProductPatch(BaseModel):
    """Some fields of a product; only the fields present change. Only optional fields take null."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: LongText | None = None
    price: Price | None = None
    currency: Currency | None = None
    stock_quantity: Stock | None = None
    category: Category = None
    brand: Brand = None
    model: Model = None
    origin: Origin = None
    sku: Sku | None = None
    images: Images | None = None
    tags: Tags | None = None
    specifications: Specifications | None = None
    additional_info: LongText | None = None
    rating: Rating | None = None
    rating_count: RatingCount | None = None
    is_active: StrictBool | None = None

    @model_validator(mode="after")
    def _null_only_where_allowed(self) -> Self:
        refused = sorted(
            name for name in self.model_fields_set - NULLABLE_FIELDS if getattr(self, name) is None
        )
        if refused:
            raise ValueError(f"{', '.join(refused)} may not be null")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude_unset=True)


class ProductPublic(BaseModel):
    id: int
    name: str
    description: str
    price: Money
    currency: str
    stock_quantity: int
    category: str | None
    brand: str | None
    model: str | None
    origin: str | None = Field(description="Country of origin.")
    sku: str | None
    images: list[str]
    tags: list[str]
    specifications: Annotated[
        list[str],
        BeforeValidator(lambda v: specification_lines(v) if isinstance(v, dict) else v),
        Field(description='Named details as lines to show: ["Weight: 1.2 kg"].'),
    ]
    additional_info: str
    rating: Annotated[Decimal, _as_float]
    rating_count: int
    is_active: bool
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, product: Product) -> ProductPublic:
        return cls.model_validate(product, from_attributes=True)


class ReservationLineCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reservation_id: UUID = Field(description="The order's reference; makes the line idempotent.")
    product_id: ProductId
    quantity: Annotated[int, Field(strict=True, ge=1, le=RESERVATION_QUANTITY_MAX)]


class ReservationCreate(BaseModel):
    """Lines to reserve together: all of them or none."""

    model_config = ConfigDict(extra="forbid")

    lines: list[ReservationLineCreate] = Field(min_length=1, max_length=RESERVATION_LINES_MAX)

    @model_validator(mode="after")
    def _distinct_reservation_ids(self) -> Self:
        ids = [line.reservation_id for line in self.lines]
        if len(set(ids)) != len(ids):
            raise ValueError("each line needs its own reservation_id")
        return self

    def requests(self) -> list[ReservationRequest]:
        return [
            ReservationRequest(
                reservation_id=str(line.reservation_id),
                product_id=line.product_id,
                quantity=line.quantity,
            )
            for line in self.lines
        ]


class ReservationLinePublic(BaseModel):
    reservation_id: str
    product_id: int
    quantity: int
    unit_price: Money
    currency: str
    name: str

    @classmethod
    def of(cls, line: ReservedLine) -> ReservationLinePublic:
        return cls.model_validate(line, from_attributes=True)


class ReservationsPublic(BaseModel):
    lines: list[ReservationLinePublic]


class ReleasePublic(BaseModel):
    released: bool = Field(description="False when already released or never reserved.")
