"""Low-level helpers for writing deterministic wheel (zip) and sdist (tar.gz) archives."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Fixed timestamp used for every zip entry (the earliest date zip can store).
ZIP_EPOCH: tuple[int, int, int, int, int, int] = (1980, 1, 1, 0, 0, 0)
#: Fixed mtime (seconds since the Unix epoch) used for every tar member.
TAR_EPOCH: int = 315532800  # 1980-01-01T00:00:00Z


def record_hash(data: bytes) -> str:
    """Return the RECORD-style hash of ``data``: ``sha256=<urlsafe b64, no padding>``."""
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def render_record(entries: Mapping[str, bytes], record_path: str) -> bytes:
    """Render a wheel RECORD file for ``entries``; the RECORD line itself has no hash/size."""
    lines = [f"{_csv_field(name)},{record_hash(data)},{len(data)}" for name, data in entries.items()]
    lines.append(f"{_csv_field(record_path)},,")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _csv_field(value: str) -> str:
    """Quote a RECORD path per CSV rules when it contains a comma or a quote."""
    if any(ch in value for ch in ',"\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


def wheel_entry_order(names: Iterable[str], dist_info: str) -> list[str]:
    """Sort wheel entries: payload first, then ``.dist-info`` files, RECORD last."""
    record = f"{dist_info}/RECORD"

    def key(name: str) -> tuple[int, str]:
        if name == record:
            return (2, name)
        return (1 if name.startswith(dist_info + "/") else 0, name)

    return sorted(names, key=key)


def write_zip(path: Path, entries: Mapping[str, bytes], *, stored: Iterable[str] = ()) -> None:
    """Write ``entries`` (in the given order) into a reproducible zip file at ``path``.

    Names listed in ``stored`` are written without compression (useful for
    incompressible padding data).
    """
    no_compress = set(stored)
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            info.create_system = 3  # Unix, so the permission bits below are honoured
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_STORED if name in no_compress else zipfile.ZIP_DEFLATED
            zf.writestr(info, data)


def write_tar_gz(path: Path, entries: Mapping[str, bytes]) -> None:
    """Write ``entries`` (sorted, with parent directories) into a reproducible ``.tar.gz``."""
    dirs: set[str] = set()
    for name in entries:
        parts = name.split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for name in sorted(dirs | set(entries)):
                info = tarfile.TarInfo(name)
                info.mtime = TAR_EPOCH
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                if name in entries:
                    data = entries[name]
                    info.size = len(data)
                    info.mode = 0o644
                    tar.addfile(info, io.BytesIO(data))
                else:
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
