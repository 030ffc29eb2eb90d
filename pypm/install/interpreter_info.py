"""Run inside the target interpreter (with packaging on sys.path) to describe it as JSON.

Kept free of pypm imports: it executes as a script under any supported Python.
"""

import json
import os
import sys
import sysconfig

from packaging import tags
from packaging.markers import default_environment


def describe() -> dict:
    """Marker environment, supported tags, install scheme and version of this Python."""
    prefix = sys.prefix
    scheme = sysconfig.get_paths(vars={"base": prefix, "platbase": prefix, "installed_base": prefix})
    return {
        "executable": sys.executable,
        "prefix": prefix,
        "version": ".".join(str(part) for part in sys.version_info[:3]),
        "environment": dict(default_environment()),
        "tags": [str(t) for t in tags.sys_tags()],
        "scheme": {key: scheme[key] for key in ("purelib", "platlib", "scripts", "data", "include")},
        "is_venv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
        "pathsep": os.pathsep,
    }


if __name__ == "__main__":
    sys.stdout.write(json.dumps(describe()))
