'''A minimal PEP 517 build backend, stdlib only, for the sdists pypm's test tools generate
(the scenario runner's index serves it as the wheel ``pypm-testing-backend``), so that
``python -m pypm.scenarios`` needs no third-party build backend installed.

The sdist holds ``PKG-INFO`` (the core metadata), an optional ``entry_points.txt`` and the
files to install; the wheel holds those files plus a dist-info made from them. With a file
``pypm-testing-backend.json`` saying ``{"interpreter_tag": true}`` the wheel is tagged for the
interpreter that builds it (``cpXY-cpXY-<platform>``), as a wheel with a compiled extension is.
'''

OPTIONS_FILE = "pypm-testing-backend.json"

BACKEND_NAME = "pypm-testing-backend"
BACKEND_MODULE = "pypm_testing_backend"
BACKEND_VERSION = "1.0"

SOURCE = """\
'''pypm's minimal PEP 517 backend for generated test sdists (stdlib only).'''
import base64
import hashlib
import io
import json
import re
import sys
import sysconfig
import zipfile
from email.parser import Parser
from pathlib import Path

_NOT_INSTALLED = {"PKG-INFO", "pyproject.toml", "entry_points.txt", "pypm-testing-backend.json"}


def _tag():
    options = Path("pypm-testing-backend.json")
    if options.is_file() and json.loads(options.read_text("utf-8")).get("interpreter_tag"):
        python = f"cp{sys.version_info[0]}{sys.version_info[1]}"
        platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
        return f"{python}-{python}-{platform}"
    return "py3-none-any"


def _wheel_file():
    purelib = "true" if _tag() == "py3-none-any" else "false"
    return f"Wheel-Version: 1.0\\nGenerator: pypm-testing-backend\\nRoot-Is-Purelib: {purelib}\\nTag: {_tag()}\\n"


def _project():
    text = Path("PKG-INFO").read_text("utf-8")
    headers = Parser().parsestr(text, headersonly=True)
    name = re.sub(r"[-_.]+", "_", headers["Name"]).lower()
    return text, name, headers["Version"]


def _dist_info_files(text, name, version):
    info = f"{name}-{version}.dist-info"
    files = {f"{info}/METADATA": text.encode("utf-8"), f"{info}/WHEEL": _wheel_file().encode("utf-8")}
    if Path("entry_points.txt").is_file():
        files[f"{info}/entry_points.txt"] = Path("entry_points.txt").read_bytes()
    return info, files


def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    info, files = _dist_info_files(*_project())
    for name, data in files.items():
        target = Path(metadata_directory) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    text, name, version = _project()
    files = {}
    for path in sorted(Path(".").rglob("*")):
        relative = path.as_posix()
        if path.is_file() and relative not in _NOT_INSTALLED:
            files[relative] = path.read_bytes()
    info, meta = _dist_info_files(text, name, version)
    files.update(meta)
    record = io.StringIO()
    for relative, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
        record.write(f"{relative},sha256={digest},{len(data)}\\n")
    record.write(f"{info}/RECORD,,\\n")
    files[f"{info}/RECORD"] = record.getvalue().encode("utf-8")
    filename = f"{name}-{version}-{_tag()}.whl"
    with zipfile.ZipFile(Path(wheel_directory) / filename, "w", zipfile.ZIP_DEFLATED) as archive:
        for relative, data in files.items():
            archive.writestr(relative, data)
    return filename
"""
