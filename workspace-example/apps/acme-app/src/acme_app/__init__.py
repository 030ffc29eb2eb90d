"""Command-line app of the Acme example workspace."""

import sys

import attrs
import idna
from acme_core import Order
from acme_utils import grand_total

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__version__ = "0.1.0"


@attrs.define
class Shop:
    """A shop with an IDNA-encoded domain name."""

    domain: str

    @property
    def ascii_domain(self) -> str:
        """The domain as ASCII (punycode)."""
        return idna.encode(self.domain).decode("ascii")


def parse_orders(text: str) -> list[Order]:
    """Orders from TOML: ``[[order]] item, quantity, unit_price``."""
    return [Order(**entry) for entry in tomllib.loads(text).get("order", [])]


def main() -> None:
    """Print the grand total of a tiny built-in order list."""
    orders = parse_orders('[[order]]\nitem = "widget"\nquantity = 2\nunit_price = 150\n')
    print(f"{Shop('bücher.example').ascii_domain}: {grand_total(orders)} cents")
