"""Run inside a target interpreter to describe it as JSON, with the standard library only.

No pypm and no third-party imports, and no syntax newer than Python 3.8: it runs under any
Python a project may target, including ones older than pypm's own. The marker environment
is computed here the way PEP 508 defines it; wheel tags are computed by pypm afterwards
from the facts reported here (see :func:`pypm.install.venv.describe_interpreter`).
"""

import json
import os
import platform
import sys
import sysconfig

CONFIG_VARS = ("SOABI", "EXT_SUFFIX", "Py_DEBUG", "Py_GIL_DISABLED", "WITH_PYMALLOC", "MULTIARCH")


def _implementation_version():
    info = sys.implementation.version
    version = f"{info.major}.{info.minor}.{info.micro}"
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


def marker_environment():
    """The PEP 508 marker variables of this interpreter."""
    return {
        "implementation_name": sys.implementation.name,
        "implementation_version": _implementation_version(),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "platform_python_implementation": platform.python_implementation(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    }


def describe():
    """Marker environment, install scheme, version and the facts wheel tags depend on."""
    prefix = sys.prefix
    scheme = sysconfig.get_paths(vars={"base": prefix, "platbase": prefix, "installed_base": prefix})
    return {
        "executable": sys.executable,
        "prefix": prefix,
        "version": ".".join(str(part) for part in sys.version_info[:3]),
        "version_info": list(sys.version_info[:2]),
        "implementation": sys.implementation.name,
        "config": {name: sysconfig.get_config_var(name) for name in CONFIG_VARS},
        "platform": sysconfig.get_platform(),
        "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
        "environment": marker_environment(),
        "scheme": {key: scheme[key] for key in ("purelib", "platlib", "scripts", "data", "include")},
        "is_venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
        "pathsep": os.pathsep,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(describe()))
