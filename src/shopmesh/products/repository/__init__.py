"""Products tables and queries. Functions run in the caller's transaction; none commits."""

from shopmesh.products.repository.catalogue import (
    add_product,
    change_product,
    get_product_row,
    list_categories,
    list_products,
)
from shopmesh.products.repository.stock import (
    active_offers,
    claim_reservation,
    find_reservations,
    mark_released,
    return_stock,
    stock_of,
    take_stock,
)
from shopmesh.products.repository.tables import Base, ProductRow, StockReservationRow, to_product

__all__ = [
    "Base",
    "ProductRow",
    "StockReservationRow",
    "active_offers",
    "add_product",
    "change_product",
    "claim_reservation",
    "find_reservations",
    "get_product_row",
    "list_categories",
    "list_products",
    "mark_released",
    "return_stock",
    "stock_of",
    "take_stock",
    "to_product",
]
