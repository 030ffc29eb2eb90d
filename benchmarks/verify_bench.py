"""Time ``pypm verify`` on a synced 100-package environment (figures: ``benchmarks/verify.md``).

Run from the repository root with the dev venv: ``python -m benchmarks.verify_bench``
(``--packages N``, ``--runs N``, ``--keep`` to leave the directory). Builds N wheels
with pypm's test builders (10-30 modules of 1-16 KiB each, every tenth package with a
2 MiB (``--pad-mib``) data file standing in for an extension module, every fifth with a console script),
serves them from a local index, locks and syncs a project that needs them all, then runs
``pypm verify`` as a user would (a new process each time, wall clock of the whole
command, file cache warm after one untimed run).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pypm.testing import DistSpec
from pypm.testing.builders import build_wheel
from pypm.testing.index_server import IndexServer

ROOT = Path(__file__).resolve().parents[1]


def package_specs(count: int, pad_mib: int = 2) -> list[DistSpec]:
    """``count`` deterministic packages (see the module docstring)."""
    specs = []
    for index in range(count):
        rng = random.Random(index)
        name = f"pkg{index:03d}"
        files = {f"{name}/__init__.py": f'"""Package {name}."""\n'}
        for module in range(rng.randint(10, 30)):
            lines = rng.randint(16, 256)  # ~64 bytes a line: 1-16 KiB
            files[f"{name}/mod{module:02d}.py"] = "".join(
                f"VALUE_{line} = {rng.random()!r}  # {'x' * rng.randint(10, 30)}\n" for line in range(lines))
        scripts = {f"{name}-cli": f"{name}:main"} if index % 5 == 0 else {}
        specs.append(DistSpec(name, "1.0", files=files, entry_points=scripts,
                              pad_bytes=pad_mib << 20 if index % 10 == 0 else 0))
    return specs


def pypm(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run ``python -m pypm args``: (wall seconds, the finished process)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pypm", *args], cwd=cwd, env=env, capture_output=True, text=True)
    return time.perf_counter() - started, done


def main() -> int:
    """Build, sync, time; print the figures as Markdown."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, default=100)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--pad-mib", type=int, default=2, help="size of every tenth package's data file")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="pypm-verify-bench-"))
    specs = package_specs(args.packages, args.pad_mib)
    for spec in specs:
        build_wheel(spec, base / "files")
    server = IndexServer(base / "files", "json").start()
    try:
        project = base / "project"
        project.mkdir()
        deps = ", ".join(f'"{spec.name}"' for spec in specs)
        (project / "pyproject.toml").write_text(
            f'[project]\nname = "bench"\nversion = "1.0"\nrequires-python = ">=3.10"\ndependencies = [{deps}]\n')
        env = {key: value for key, value in os.environ.items() if not key.startswith("PYPM_")}
        env.update(PYPM_INDEX_URL=server.url, PYPM_CACHE_DIR=str(base / "cache"), NO_COLOR="1",
                   PYPM_CONFIG_FILE=str(base / "no-config.toml"), PYTHONPATH=str(ROOT))
        sync_seconds, done = pypm(["sync"], project, env)
        if done.returncode:
            print(done.stderr, file=sys.stderr)
            return 1
        _report(project, env, args.runs, sync_seconds)
    finally:
        server.stop()
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)
        else:
            print(f"kept {base}", file=sys.stderr)
    return 0


def _report(project: Path, env: dict[str, str], runs: int, sync_seconds: float) -> None:
    """Time ``pypm verify`` ``runs`` times after one warm-up; print the figures."""
    _, warm = pypm(["verify"], project, env)
    assert warm.returncode == 0, warm.stdout + warm.stderr
    walls, inner = [], []
    for _ in range(runs):
        seconds, done = pypm(["verify"], project, env)
        assert done.returncode == 0 and "Merkle root holds" in done.stdout, done.stdout + done.stderr
        walls.append(seconds)
        inner.append(float(done.stderr.split(" in ")[1].split("s:")[0]))
    site = next(project.glob(".venv/lib/python3*/site-packages"))
    files = sum(len(names) for _, _, names in os.walk(site))
    size = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(site) for n in names)
    print(warm.stderr.strip())
    print(f"- site-packages: {files} files, {size / 2**20:.1f} MiB; "
          f"sync (cold cache, lock included) {sync_seconds:.2f}s")
    print(f"- `pypm verify`, wall clock of the command, {runs} runs: median {statistics.median(walls):.3f}s, "
          f"min {min(walls):.3f}s, max {max(walls):.3f}s")
    print(f"- of which the checks (the figure verify prints): median {statistics.median(inner):.3f}s")
    print(f"- machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {sys.platform}")


if __name__ == "__main__":
    raise SystemExit(main())
