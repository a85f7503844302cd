"""Analytics: totals of the platform's transactions, fed by the ``transactions`` topic."""
