"""The products rules without I/O: prices, ratings, images, tags, sorting, refusals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shopmesh.products.domain import (
    MAX_PRICE,
    OutOfStock,
    ProductNotFound,
    ProductSort,
    ReservationRequest,
    ReservedLine,
    check_image_url,
    clean_tags,
    parse_price,
    parse_rating,
    requested_per_product,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1, Decimal("1.00")),
        (0.01, Decimal("0.01")),
        (10.1, Decimal("10.10")),
        (49.99, Decimal("49.99")),
        (Decimal("2.50"), Decimal("2.50")),
        (9999999999.99, MAX_PRICE),
    ],
)
def test_price_is_read_as_the_decimal_it_shows(value: object, expected: Decimal) -> None:
    assert parse_price(value) == expected


@pytest.mark.parametrize(
    "value",
    [0, 0.0, -1, -0.01, 0.001, 1.005, 10_000_000_000, float("nan"), float("inf"), True, "5", None],
)
def test_price_refuses_zero_negative_three_decimals_huge_and_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="price"):
        parse_price(value)


@pytest.mark.parametrize(("value", "expected"), [(0, "0.0"), (4.5, "4.5"), (5, "5.0")])
def test_rating_from_zero_to_five_with_one_decimal(value: object, expected: str) -> None:
    assert parse_rating(value) == Decimal(expected)


@pytest.mark.parametrize("value", [-0.1, 5.1, 4.55, "4", False])
def test_rating_outside_range_or_precision_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="rating"):
        parse_rating(value)


@pytest.mark.parametrize(
    "url", ["https://img.example.com/a.jpg", "http://localhost:8080/x.png?size=2"]
)
def test_http_and_https_urls_are_images(url: str) -> None:
    assert check_image_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/a.jpg",
        "javascript:alert(1)",
        "/relative/a.jpg",
        "https://",
        "https://exa mple.com/a.jpg",
        "https://example.com/" + "a" * 2100,
    ],
)
def test_other_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        check_image_url(url)


def test_tags_are_stripped_and_deduplicated_in_any_case() -> None:
    assert clean_tags([" usb ", "USB", "keyboard", "Usb"]) == ["usb", "keyboard"]


def test_blank_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="blank"):
        clean_tags(["ok", "  "])


def test_sort_names_field_and_direction() -> None:
    assert (ProductSort("-price").field, ProductSort("-price").descending) == ("price", True)
    assert (ProductSort("name").field, ProductSort("name").descending) == ("name", False)


def test_requested_quantities_are_summed_per_product_in_id_order() -> None:
    requests = [
        ReservationRequest("a", product_id=9, quantity=1),
        ReservationRequest("b", product_id=2, quantity=3),
        ReservationRequest("c", product_id=9, quantity=4),
    ]
    totals = requested_per_product(requests)
    assert totals == {2: 3, 9: 5}
    assert list(totals) == [2, 9]


def test_out_of_stock_names_every_short_product() -> None:
    refusal = OutOfStock.of({1: 5, 2: 3, 3: 1}, {3: 0, 1: 2})
    assert refusal.status == 409
    assert refusal.code == "out_of_stock"
    assert refusal.details == [
        {"product_id": 1, "requested": 5, "available": 2},
        {"product_id": 3, "requested": 1, "available": 0},
    ]


def test_product_not_found_lists_sorted_distinct_ids() -> None:
    refusal = ProductNotFound.of([7, 3, 7])
    assert (refusal.status, refusal.code) == (404, "product_not_found")
    assert refusal.details == {"product_ids": [3, 7]}


def test_a_reserved_line_answers_only_the_same_product_and_quantity() -> None:
    line = ReservedLine(
        "r", product_id=1, quantity=2, unit_price=Decimal("1.00"), currency="USD", name="x"
    )
    assert line.answers(ReservationRequest("r", product_id=1, quantity=2))
    assert not line.answers(ReservationRequest("r", product_id=1, quantity=3))
    assert not line.answers(ReservationRequest("r", product_id=2, quantity=2))
