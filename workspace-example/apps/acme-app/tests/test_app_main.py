from acme_app import Shop, main, parse_orders


def test_shop_domain_is_punycode() -> None:
    assert Shop("bücher.example").ascii_domain == "xn--bcher-kva.example"


def test_parse_orders() -> None:
    orders = parse_orders('[[order]]\nitem = "x"\nquantity = 2\nunit_price = 5\n')
    assert orders[0].total == 10


def test_main_prints_total(capsys) -> None:
    main()
    assert "300 cents" in capsys.readouterr().out
