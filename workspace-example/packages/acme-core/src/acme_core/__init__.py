"""Core data types of the Acme example workspace."""

from dataclasses import dataclass

__version__ = "0.1.0"


@dataclass(frozen=True)
class Order:
    """An order of ``quantity`` items at ``unit_price`` cents each."""

    item: str
    quantity: int
    unit_price: int

    @property
    def total(self) -> int:
        """Total price in cents."""
        return self.quantity * self.unit_price
