"""Install one wheel file into an environment with pypa/installer."""

from __future__ import annotations

from pathlib import Path

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.exceptions import InstallerError
from installer.sources import WheelFile
from installer.utils import get_launcher_kind

from pypm.errors import InstallError
from pypm.install.venv import Interpreter

INSTALLER_NAME = b"pypm\n"


def scheme_dict(interpreter: Interpreter) -> dict[str, str]:
    """The installer scheme for the environment (``headers`` from ``include``)."""
    scheme = interpreter.scheme
    return {
        "purelib": scheme["purelib"],
        "platlib": scheme["platlib"],
        "scripts": scheme["scripts"],
        "data": scheme["data"],
        "headers": str(Path(scheme["include"]) / "site"),
    }


def install_wheel(wheel: Path, interpreter: Interpreter) -> None:
    """Unpack ``wheel`` into the environment described by ``interpreter``."""
    destination = SchemeDictionaryDestination(
        scheme_dict(interpreter),
        interpreter=str(interpreter.executable),
        script_kind=get_launcher_kind(),
        bytecode_optimization_levels=[],
    )
    try:
        with WheelFile.open(wheel) as source:
            install(source, destination, {"INSTALLER": INSTALLER_NAME, "REQUESTED": b""})
    except (InstallerError, ValueError, KeyError, OSError) as exc:
        raise InstallError(f"cannot install {wheel.name}: {exc}") from None
