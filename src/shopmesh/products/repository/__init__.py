"""Products tables and queries, and the products unit of work. Nothing here commits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from shopmesh.kit.uow import UnitOfWork
from shopmesh.products.repository.catalogue import Catalogue
from shopmesh.products.repository.stock import Stock
from shopmesh.products.repository.tables import Base, ProductRow, StockReservationRow

__all__ = ["Base", "Catalogue", "ProductRow", "ProductsUnitOfWork", "Stock", "StockReservationRow"]


class ProductsUnitOfWork(UnitOfWork):
    """A products use case's transaction: the catalogue and the stock."""

    catalogue: Catalogue
    stock: Stock

    def open_repositories(self, connection: AsyncConnection) -> None:
        self.catalogue = Catalogue(connection)
        self.stock = Stock(connection)
