"""Dispatcher database access: tables in ``tables``, queries in ``shipments`` and ``deliveries``."""

from shopmesh.dispatcher.repository.tables import Base

__all__ = ["Base"]
