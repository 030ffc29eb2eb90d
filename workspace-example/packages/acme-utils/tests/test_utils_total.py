from acme_core import Order
from acme_utils import grand_total


def test_grand_total() -> None:
    assert grand_total([Order("a", 1, 100), Order("b", 2, 50)]) == 200
