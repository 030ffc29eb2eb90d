"""Unpack a wheel once into the store with pypa/installer, through installer's own
``SchemeDictionaryDestination`` pointed at the entry's ``files/<scheme>`` directories
(:mod:`pypm.store.destination`, imported with installer only when a wheel is unpacked): its
containment check refuses a member that would land outside its scheme directory (``..``,
absolute paths, drive letters), and members stored as symlinks are refused before anything
is written. The per-environment parts (entry-point scripts, RECORD, INSTALLER) are recorded
in the manifest, not written: link.py writes them for each environment.

An entry is immutable once unpacked, but its files are hardlinked into environments, so an
edit made in one ``.venv`` changes the store. The manifest records each file's size and
mtime; :func:`ensure_unpacked` compares them (stat only) before an entry is linked and
repairs a changed entry (see :mod:`pypm.store.repair`)."""

from __future__ import annotations

import functools
import os
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PureWindowsPath
from typing import Any, BinaryIO

from pypm.errors import InstallError
from pypm.fsutil import file_sha256
from pypm.store.entry import MANIFEST, StoreEntry
from pypm.store.layout import UNPACK_PREFIX, store_entry
from pypm.store.lock import shared_store_lock
from pypm.trash import delete_aside

UNSAFE_HINT = "the wheel is malformed or malicious; nothing from it was installed"


class UnsafeWheelError(InstallError):
    """A wheel member would be written outside its store entry (or is a symlink)."""


def executable_mode(mode: int) -> int:
    """``mode`` with execute permission wherever it has read permission (0644 -> 0755,
    0600 -> 0700): what the umask let the new file have, made executable, without reading
    the process-wide umask."""
    return stat.S_IMODE(mode) | (stat.S_IMODE(mode) & 0o444) >> 2


def faster_inflate(stream: BinaryIO) -> bool:
    """Give a deflated zip member that nothing has read yet zlib-ng's inflate instead of
    zlib's (the same bytes, and zipfile still checks the CRC; r2's wheels decompressed with
    a third less CPU, 0.54 -> 0.36 s). True when it did; False leaves the member as it was:
    zlib-ng not installed, another compression, a member already read, or a ``zipfile``
    without these private fields (stable since Python 3.3; pypm uses them read-only but for
    the decompressor, which ``ZipExtFile`` makes for each member it opens)."""
    inflate = _zlib_ng()
    if inflate is None or getattr(stream, "_compress_type", None) != zipfile.ZIP_DEFLATED:
        return False
    if getattr(stream, "_readbuffer", None) != b"" or getattr(stream, "_compress_left", None) != getattr(
            stream, "_orig_compress_size", None) or not hasattr(stream, "_decompressor"):
        return False
    stream._decompressor = inflate.decompressobj(-15)  # type: ignore[attr-defined]  # raw deflate, as zipfile asks
    return True


@functools.cache
def _zlib_ng() -> Any:
    """zlib-ng's ``zlib`` module, or None where it is not installed (it is a dependency on
    CPython only)."""
    try:
        from zlib_ng import zlib_ng
    except ImportError:
        return None
    return zlib_ng


def ensure_unpacked(wheel: Path, sha256: str, cache_dir: Path, verified: bool = False) -> StoreEntry:
    """The store entry of ``wheel`` (verified against ``sha256`` unless ``verified``: this
    process just downloaded it and checked that hash while it streamed), unpacking it if
    needed.

    An entry that is already there is checked first (size and mtime of every file against
    its manifest; no hashing): a changed one is repaired before it is returned. The store's
    shared lock is held meanwhile, so ``cache prune`` never takes an unpack in progress (the
    caller must hold it too until the entry is linked: see :mod:`pypm.store.lock`)."""
    from pypm.store.repair import checked

    final = store_entry(cache_dir, sha256)
    with shared_store_lock(cache_dir):
        if (final / MANIFEST).is_file():
            try:
                return checked(StoreEntry.load(final), lambda: wheel, sha256)
            except (ValueError, KeyError, TypeError):
                discard(final)  # a manifest that cannot be read: unpack afresh
        if not verified:
            verify_wheel(wheel, sha256)
        return _unpack_new(wheel, final)


def _unpack_new(wheel: Path, final: Path) -> StoreEntry:
    temp = unpack_to_temp(wheel, final.parent)
    try:
        _move_into_place(temp.root, final)
    finally:
        shutil.rmtree(temp.root, ignore_errors=True)
    return StoreEntry.load(final)


def _move_into_place(temp: Path, final: Path) -> None:
    """Rename a new entry to its place. Another process may have put the same entry there
    meanwhile (then it is used); whatever else is there without a manifest (an entry is
    renamed into place with its manifest, so this is what a delete that did not finish
    left: an older pypm's prune or clean, killed) is discarded and the rename tried again
    (only on this failure path: the usual one costs no extra stat)."""
    try:
        os.rename(temp, final)
        return
    except OSError:
        if (final / MANIFEST).is_file():  # a concurrent unpack of the same wheel
            return
        if not os.path.lexists(final):
            raise
    discard(final)
    try:
        os.rename(temp, final)
    except OSError:
        if not (final / MANIFEST).is_file():
            raise


def unpack_to_temp(wheel: Path, parent: Path) -> StoreEntry:
    """Unpack ``wheel`` into a new ``.unpack-*`` directory in ``parent``, manifest included.
    Refuses (:class:`UnsafeWheelError`) a wheel with a member that escapes its entry."""
    _require_containment_check()
    parent.mkdir(parents=True, exist_ok=True)
    from installer import install  # pypa/installer: only to unpack (a sync linking stored entries needs none)
    from installer.sources import WheelFile

    from pypm.store.destination import StoreDestination

    temp = Path(tempfile.mkdtemp(prefix=UNPACK_PREFIX, dir=parent))
    try:
        destination = StoreDestination(temp, wheel.name)
        with zipfile.ZipFile(wheel) as archive:
            _refuse_unsafe_members(wheel, archive)
            source = WheelFile(archive)
            source.validate_record(validate_contents=False)
            install(source, destination, {})
        entry = destination.entry()
        entry.save()
        return entry
    except BaseException as exc:
        shutil.rmtree(temp, ignore_errors=True)
        reported = _reported(wheel, exc)
        if reported is None:
            raise
        raise reported from None


def _require_containment_check() -> None:
    """installer checks containment from 1.0 on; an older one would write ``../x`` wherever
    it points, so refuse to unpack with it."""
    from installer import __version__

    if int(__version__.split(".")[0]) < 1:
        raise InstallError(f"pypm needs installer 1.0 or newer to unpack wheels safely (found {__version__})",
                           hint="upgrade it: pip install 'installer>=1.0'")


def _reported(wheel: Path, exc: BaseException) -> InstallError | None:
    """The one-line error for what went wrong unpacking ``wheel`` (None: let it through)."""
    from installer.exceptions import InstallerError

    if isinstance(exc, InstallError):
        return exc
    if isinstance(exc, FileExistsError):
        return InstallError(f"cannot install {wheel.name}: it holds the same file twice ({exc.filename})",
                            hint="the wheel is malformed; nothing from it was installed")
    issues = getattr(exc, "issues", None)  # installer's RECORD check: a list of sentences
    if isinstance(exc, InstallerError) and isinstance(issues, list) and issues:
        return InstallError(f"cannot install {wheel.name}: {_issues_line(wheel, issues)}",
                            hint="the wheel does not match its own RECORD; nothing from it was installed")
    if isinstance(exc, _CORRUPT_DATA_ERRORS) or isinstance(exc, _zlib_ng_error()):
        return InstallError(f"cannot install {wheel.name}: a member's compressed data is damaged ({exc})",
                            hint="the wheel is corrupt; nothing from it was installed")
    if isinstance(exc, (InstallerError, ValueError, KeyError, zipfile.BadZipFile)):
        return InstallError(f"cannot install {wheel.name}: {exc}")
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return InstallError(f"cannot unpack {wheel.name} into the store: {exc.strerror or exc}{where}",
                            hint="check the free space and permissions of the cache directory")
    return None


#: What inflating a damaged member raises (zipfile's own CRC and size checks raise
#: ``BadZipFile``): zlib's error, and ``EOFError`` for a stream that ends too soon.
_CORRUPT_DATA_ERRORS: tuple[type[BaseException], ...] = (zlib.error, EOFError)


def _zlib_ng_error() -> tuple[type[BaseException], ...]:
    """zlib-ng's error class (not a subclass of zlib's), when zlib-ng is installed."""
    inflate = _zlib_ng()
    return (inflate.error,) if inflate is not None else ()


def _issues_line(wheel: Path, issues: list[str]) -> str:
    """installer's RECORD issues on one line, naming the wheel by its file name, not by its
    path in the cache, and not again at the start of each (the first three, then how many
    more)."""
    cleaned = [str(issue).replace(os.fspath(wheel), wheel.name).removeprefix(f"In {wheel.name}, ") for issue in issues]
    more = f" (and {len(cleaned) - 3} more)" if len(cleaned) > 3 else ""
    return "; ".join(cleaned[:3]) + more


def _refuse_unsafe_members(wheel: Path, archive: zipfile.ZipFile) -> None:
    """Refuse, before anything is written, members installer would mishandle or word badly:
    symlinks (installer writes one as a regular file holding the link's target; a wheel has
    no business shipping links, and refusing them means nothing can follow one) and absolute
    names, drive letters included on every platform (installer refuses those too, with a
    message that names no member). Relative names that escape are installer's check."""
    for info in archive.infolist():
        name = info.filename
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UnsafeWheelError(f"refused to install {wheel.name}: member {name!r} is a symbolic link",
                                   hint=UNSAFE_HINT)
        if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
            raise UnsafeWheelError(f"refused to install {wheel.name}: member {name!r} has an absolute path",
                                   hint=UNSAFE_HINT)


def discard(root: Path) -> None:
    """Delete an entry that cannot be used (moved aside first, so its path is free at once;
    files already linked into environments are not affected). One that cannot be moved
    stays: the rename into its place then says why; what will not go is a leftover
    ``cache prune`` removes."""
    delete_aside(root, UNPACK_PREFIX)


def verify_wheel(wheel: Path, sha256: str) -> None:
    """Check the cached wheel file against the sha256 it is stored under (a corrupt one is
    removed, so the next run downloads it again)."""
    try:
        actual = file_sha256(wheel)
    except FileNotFoundError:
        raise InstallError(f"{wheel.name} is no longer in the cache (was `pypm cache clean` run meanwhile?)",
                           hint="run the command again to download it afresh") from None
    if actual != sha256:
        wheel.unlink(missing_ok=True)
        raise InstallError(
            f"{wheel.name} in the cache is corrupt: sha256 {actual} instead of {sha256}",
            hint="the damaged file was removed; run the command again to download it afresh",
        )
