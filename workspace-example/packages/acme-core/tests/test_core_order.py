from acme_core import Order


def test_total() -> None:
    assert Order("widget", 3, 250).total == 750
