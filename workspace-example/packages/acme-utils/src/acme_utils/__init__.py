"""Helpers built on acme-core."""

from acme_core import Order

__version__ = "0.1.0"


def grand_total(orders: list[Order]) -> int:
    """Sum of the totals of ``orders`` in cents."""
    return sum(order.total for order in orders)
