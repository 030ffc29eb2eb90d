"""The fast paths of the per-file loops that run on every sync (RECORD text, Merkle
leaves, the store's stat check, link targets' parents) give exactly what the general code
they replace gives."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pypm.install.merkle import merkle_root
from pypm.install.record_check import _leaves, recorded_files
from pypm.store.entry import FILES, StoredFile, StoreEntry
from pypm.store.integrity import changed_files
from pypm.store.link import _csv_text, _last_separator

_FIELD = st.text(alphabet=string.ascii_letters + string.digits + ',"\r\n /._-=é中', max_size=12)


def _writer_text(rows: list[tuple[str, str, str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_FIELD, _FIELD, _FIELD), max_size=6))
def test_record_text_is_what_the_csv_writer_gives(rows: list[tuple[str, str, str]]) -> None:
    """Plain rows are joined directly; a field with a comma, quote or line end anywhere
    (so the writer would quote it) sends every row through the writer."""
    assert _csv_text(rows) == _writer_text(rows)


def test_record_text_quotes_a_path_with_a_comma() -> None:
    rows = [("a,b.py", "sha256=x", "1"), ("c.py", "sha256=y", "2")]
    assert _csv_text(rows) == '"a,b.py",sha256=x,1\nc.py,sha256=y,2\n'


_NAMES = ["pkg/a.py", "pkg/a.py", "pkg/__pycache__/a.cpython-311.pyc", "../../../bin/tool", "/abs/x.py",
          "pkg/./b.py", "pkg//c.py", "d-1.dist-info/RECORD", "é/中.py", "b\\c.py"]
_HASHES = ["", "sha256=" + "A" * 43, "md5=zz", "sha256=!!", "nohash"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_HASHES)), max_size=8))
def test_merkle_leaves_are_the_checked_rows(rows: list[tuple[str, str]]) -> None:
    """The inlined leaf loop gives, for any mix of plain and odd paths, repeated rows,
    ``.pyc`` rows and rows without or with unreadable hashes, the (relative path, leaf
    digest) of exactly the rows ``recorded_files`` marks as checked."""
    env_root = os.path.join(os.sep, "env")
    dist_info = os.path.join(env_root, "lib", "site-packages", "d-1.dist-info")
    full = [(name, digest, "1") for name, digest in rows]
    expected = [(row.relative, row.leaf_digest) for row in recorded_files(dist_info, full, env_root) if row.checked]
    assert list(_leaves(dist_info, full, env_root)) == expected


def test_merkle_root_sorts_by_the_utf8_bytes_of_paths() -> None:
    """Paths outside ASCII (and outside the basic plane, where UTF-16 order differs) are
    ordered by their UTF-8 bytes, as the convention says."""
    files = [("z.py", "1" * 64), ("é.py", "2" * 64), ("\U0001f600.py", "3" * 64), ("\uff21.py", "4" * 64)]
    ordered = sorted(files, key=lambda item: item[0].encode("utf-8"))
    level = [hashlib.sha256(f"{p}\0{d}".encode()).digest() for p, d in ordered]
    while len(level) > 1:
        paired = [hashlib.sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        level = paired + ([level[-1]] if len(level) % 2 else [])
    assert merkle_root(files) == merkle_root(reversed(files)) == level[0].hex()


def _entry(tmp_path: Path, mtimes: bool) -> StoreEntry:
    files = []
    for scheme, path, data in (("purelib", "pkg/a.py", b"a"), ("purelib", "pkg/sub/b.py", b"bb"),
                               ("scripts", "tool", b"#!python\n"), ("data", "share/x.txt", b"xyz")):
        target = tmp_path / FILES / scheme / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files.append(StoredFile(scheme, path, "sha256=", len(data), False))
    entry = StoreEntry(tmp_path, "purelib", "pkg-1.dist-info", files, [])
    return entry.with_current_mtimes() if mtimes else entry


def test_store_check_finds_each_changed_file(tmp_path: Path) -> None:
    """Gone, resized or touched files are found in every scheme; without recorded mtimes
    only gone and resized ones are."""
    entry = _entry(tmp_path / "with", mtimes=True)
    assert changed_files(entry) == []
    (tmp_path / "with" / FILES / "purelib" / "pkg/sub/b.py").write_bytes(b"BB")  # same size, new mtime
    os.utime(tmp_path / "with" / FILES / "purelib" / "pkg/sub/b.py", ns=(1, 1))
    (tmp_path / "with" / FILES / "scripts" / "tool").unlink()
    (tmp_path / "with" / FILES / "data" / "share/x.txt").write_bytes(b"longer")
    assert [f.path for f in changed_files(entry)] == ["pkg/sub/b.py", "tool", "share/x.txt"]

    old = _entry(tmp_path / "old", mtimes=False)
    os.utime(tmp_path / "old" / FILES / "purelib" / "pkg/a.py", ns=(1, 1))
    (tmp_path / "old" / FILES / "scripts" / "tool").unlink()
    assert [f.path for f in changed_files(old)] == ["tool"]


@given(st.lists(st.sampled_from(["a", "bc", "pkg", "x.py", "é"]), min_size=1, max_size=5))
def test_link_target_parent_is_dirname(parts: list[str]) -> None:
    """A target's parent, found by the last separator, is ``os.path.dirname``'s answer
    (targets are absolute with single separators; on Windows the wheel part has ``/``)."""
    target = os.path.join(os.path.abspath(os.sep), "env", "site") + os.sep + "/".join(parts)
    assert target[:_last_separator(target)] == os.path.dirname(target)


_MODULES = st.sampled_from(["alpha", "alpha.cli", "pkg_é.main", "a.b.c"])
_ATTRS = st.sampled_from(["main", "App.run", "cli.entry"])
_EXECUTABLES = st.sampled_from([
    "/env/bin/python", "/home/user/my env/bin/python", "/" + "x" * 130 + "/bin/python", "/opt/é/bin/python3",
    "/" + "y" * 116 + "/python",  # `#!` + path + line end: 127 bytes, installer's limit
    "/" + "y" * 117 + "/python",  # 128 bytes: one over
])


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=string.ascii_letters + "-_.", min_size=1, max_size=10).filter(lambda n: n not in (".", "..")),
       _MODULES, _ATTRS, st.sampled_from(["console", "gui"]), _EXECUTABLES)
def test_entry_point_scripts_are_what_installer_writes(tmp_path_factory, name: str, module: str, attr: str,
                                                        section: str, executable: str) -> None:
    """A script put together from the manifest's stored code (or, where the shebang is not
    plain, by installer) is byte for byte installer's, on this platform (for every name the
    store takes: ``.`` and ``..`` are refused at unpack, as a script outside its directory)."""
    from installer.scripts import Script
    from installer.utils import get_launcher_kind

    from pypm.store.destination import StoreDestination
    from pypm.store.link import _entry_point_scripts

    destination = StoreDestination(tmp_path_factory.mktemp("entry"), "w-1.0-py3-none-any.whl")
    destination.write_script(name, module, attr, section)
    entry = StoreEntry(destination.root, "purelib", "w-1.0.dist-info", [], destination.scripts, [],
                       destination.script_code)
    expected = [Script(name, module, attr, section).generate(executable, get_launcher_kind())]
    assert _entry_point_scripts(entry, executable) == expected
    older = StoreEntry(destination.root, "purelib", "w-1.0.dist-info", [], destination.scripts, [])  # no code
    assert _entry_point_scripts(older, executable) == expected


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=40), st.sampled_from(["\n", "\r\n", ""]), _EXECUTABLES)
def test_a_python_shebang_is_rewritten_as_installer_rewrites_it(tmp_path_factory, rest: bytes, line_end: str,
                                                                 executable: str) -> None:
    """A data script's ``#!python`` line (with arguments, CRLF or no line end at all) is
    replaced exactly as installer's ``fix_shebang`` replaces it."""
    from installer.utils import fix_shebang

    from pypm.store.link import _with_shebang

    script = tmp_path_factory.mktemp("script") / "tool"
    script.write_bytes(b"#!python -E" + line_end.encode() + rest)
    with script.open("rb") as stream, fix_shebang(stream, executable) as fixed:
        expected = fixed.read()
    assert _with_shebang(str(script), executable) == expected


def test_leaves_made_while_linking_give_the_root_the_records_give(tmp_path: Path) -> None:
    """The stamp's root from leaves a sync made in its link threads is the root of the
    RECORDs on disk; leaves made for another environment root are not used (they would
    give other relative paths), nor those of a dist-info that is gone."""
    from pypm.install.record_check import record_leaves, recorded_root

    env = tmp_path / "env"
    site = env / "lib" / "site-packages"
    written: dict[str, list[tuple[str, str, str]]] = {}
    for name, files in (("a-1.0", ["a/__init__.py", "shared.py"]), ("b-2.0", ["b.py", "shared.py", "../../../bin/b"])):
        dist_info = site / f"{name}.dist-info"
        dist_info.mkdir(parents=True)
        rows = [(path, "sha256=" + hashlib.sha256(f"{name}:{path}".encode()).hexdigest()[:43], "1") for path in files]
        rows.append((f"{name}.dist-info/RECORD", "", ""))
        (dist_info / "RECORD").write_text(_writer_text(rows))
        written[str(dist_info)] = rows
    scheme = {"purelib": str(site), "platlib": str(site), "data": str(env)}
    expected = recorded_root(scheme)
    made = {path: record_leaves(path, rows, str(env)) for path, rows in written.items()}
    assert recorded_root(scheme, made) == expected
    elsewhere = {path: record_leaves(path, rows, str(tmp_path)) for path, rows in written.items()}
    assert recorded_root(scheme, elsewhere) == expected
    assert recorded_root(scheme, {**made, str(site / "gone-1.0.dist-info"): made[next(iter(made))]}) == expected


@pytest.mark.parametrize("name", [".", "..", "./", "../x"])
def test_an_entry_point_named_for_the_scripts_directory_or_outside_it_is_refused(tmp_path, name: str) -> None:
    from pypm.store.destination import StoreDestination
    from pypm.store.unpack import UnsafeWheelError

    destination = StoreDestination(tmp_path, "w-1.0-py3-none-any.whl")
    with pytest.raises(UnsafeWheelError, match="entry-point script"):
        destination.write_script(name, "alpha", "main", "console")
    assert destination.scripts == []
