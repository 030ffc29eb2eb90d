"""Core metadata as the resolver reads it (pypm.index.metadata): only the header block is
parsed, with the same result as the email parser gives for the whole file."""

from __future__ import annotations

from email.parser import BytesParser

import pytest

from pypm.index.metadata import header_block, parse_metadata

HEADERS = (
    "Metadata-Version: 2.1\n"
    "Name: Sample_Pkg\n"
    "Version: 1.2.0\n"
    "Summary: a summary\n"
    "  continued on a folded line\n"
    "Requires-Python: >=3.9\n"
    "Requires-Dist: idna>=2.5\n"
    "Requires-Dist: colorama; sys_platform == \"win32\"\n"
    "Provides-Extra: socks\n"
    "Requires-Dist: PySocks!=1.5.7; extra == \"socks\"\n"
)
#: A description that looks like headers: none of it may count.
BODY = "\nRequires-Dist: evil\nVersion: 9\n\nName: other\n" + "text line\n" * 500


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("body", [BODY, "", "\n"])
def test_header_block_parses_like_the_whole_file(newline: str, body: str) -> None:
    data = (HEADERS + body).replace("\n", newline).encode()
    whole = BytesParser().parsebytes(data, headersonly=True)
    cut = BytesParser().parsebytes(header_block(data), headersonly=True)
    assert cut.items() == whole.items() and len(whole.items()) == 9
    assert len(header_block(data)) <= len(HEADERS.replace("\n", newline)) + len(newline)


def test_description_lines_are_not_read_as_fields() -> None:
    parsed = parse_metadata((HEADERS + BODY).encode(), "sample.whl")
    assert parsed.name == "sample-pkg" and str(parsed.version) == "1.2.0"
    assert [str(r) for r in parsed.requires_dist] == [
        "idna>=2.5", 'colorama; sys_platform == "win32"', 'PySocks!=1.5.7; extra == "socks"']
    assert str(parsed.requires_python) == ">=3.9"


def test_metadata_without_a_body_keeps_its_last_field() -> None:
    parsed = parse_metadata(b"Metadata-Version: 2.1\nName: a\nVersion: 1\nRequires-Dist: b", "a.whl")
    assert [str(r) for r in parsed.requires_dist] == ["b"]


def test_every_reader_of_installed_metadata_takes_utf8(tmp_path) -> None:
    """Core metadata is UTF-8: a dist-info whose METADATA has non-ASCII values (put there by
    another installer) is read as text by what scans ``.venv`` and by the build identity
    check; the email parser alone handed them back as Header objects (exit 70)."""
    from pypm.build.identity import Expected, check_metadata
    from pypm.errors import BuildError
    from pypm.install.installed import installed_distributions

    site = tmp_path / "site-packages"
    info = site / "cafe_lib-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_bytes("Metadata-Version: 2.1\nName: café-lib\nVersion: 1.0\n\nDescrïption\n".encode())
    (info / "RECORD").write_text("")
    found = installed_distributions([site])
    assert {name: dist.version for name, dist in found.items()} == {"café-lib": "1.0"}
    with pytest.raises(BuildError):
        check_metadata("Metadata-Version: 2.1\nName: x\nVersion: 1.0é\n".encode(), Expected("x", "1.0"), "its backend")
