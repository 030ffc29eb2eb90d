"""Wheel coverage of sampled environments (pypm.resolver.tags): which environments a
wheel's tags serve, checked against packaging.tags' own lists."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag, compatible_tags, cpython_tags, parse_tag

from pypm.resolver.environments import target_environment, universal_environments
from pypm.resolver.tags import TagMasks, platform_tags, tag_mask, tag_serves, tags_mask

ENVIRONMENTS = universal_environments(SpecifierSet(">=3.8"), [])


def _served(wheel_tag: str) -> set[tuple[str, str, str]]:
    """(python_version, sys_platform, platform_machine) of every sampled environment a wheel tag serves."""
    mask = tags_mask(frozenset(parse_tag(wheel_tag)), ENVIRONMENTS)
    return {(env["python_version"], env["sys_platform"], env["platform_machine"])
            for index, env in enumerate(ENVIRONMENTS) if mask >> index & 1}


def _pythons(wheel_tag: str) -> list[str]:
    return sorted({python for python, _, _ in _served(wheel_tag)}, key=lambda v: int(v.split(".")[1]))


def _platforms(wheel_tag: str) -> set[str]:
    return {f"{system} {machine}" for _, system, machine in _served(wheel_tag)}


ALL_PYTHONS = [f"3.{minor}" for minor in range(8, 16)]
ALL_PLATFORMS = {"linux x86_64", "linux aarch64", "darwin arm64", "darwin x86_64", "win32 AMD64"}


def test_pure_python_wheel_serves_everything() -> None:
    assert _pythons("py3-none-any") == ALL_PYTHONS
    assert _platforms("py3-none-any") == ALL_PLATFORMS
    assert _served("py2.py3-none-any") == _served("py3-none-any")
    assert _served("py2-none-any") == set()


def test_manylinux_serves_glibc_linux_of_its_machine_only() -> None:
    assert _served("cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64") == {("3.12", "linux", "x86_64")}
    assert _served("cp312-cp312-manylinux_2_28_aarch64") == {("3.12", "linux", "aarch64")}
    assert _served("cp312-cp312-manylinux1_x86_64") == {("3.12", "linux", "x86_64")}
    assert _served("cp312-cp312-manylinux_2_39_x86_64") == {("3.12", "linux", "x86_64")}
    assert _served("cp312-cp312-linux_x86_64") == {("3.12", "linux", "x86_64")}
    # manylinux2010 (glibc 2.12) never existed for aarch64: packaging lists it for x86 only.
    assert _served("cp312-cp312-manylinux2010_aarch64") == set()
    assert _served("cp312-cp312-manylinux_2_17_i686") == set()


def test_musllinux_does_not_serve_a_sampled_linux() -> None:
    """A sampled Linux environment is glibc Linux: a musl wheel does not install there."""
    assert _served("cp312-cp312-musllinux_1_1_x86_64") == set()
    assert _served("cp312-cp312-musllinux_1_2_aarch64") == set()
    assert _served("py3-none-musllinux_1_2_x86_64") == set()


def test_macos_versions_and_architectures() -> None:
    assert _served("cp311-cp311-macosx_11_0_arm64") == {("3.11", "darwin", "arm64")}
    assert _served("cp311-cp311-macosx_14_0_arm64") == {("3.11", "darwin", "arm64")}
    assert _served("cp311-cp311-macosx_26_0_arm64") == {("3.11", "darwin", "arm64")}
    assert _served("cp311-cp311-macosx_10_9_x86_64") == {("3.11", "darwin", "x86_64")}
    assert _served("cp311-cp311-macosx_15_0_x86_64") == {("3.11", "darwin", "x86_64")}
    assert _served("cp311-cp311-macosx_10_6_intel") == {("3.11", "darwin", "x86_64")}
    # universal2 carries both architectures, even with a pre-11 macOS version.
    assert _platforms("cp311-cp311-macosx_10_9_universal2") == {"darwin arm64", "darwin x86_64"}
    # Apple silicon appeared with macOS 11: no arm64 binary targets 10.x.
    assert _served("cp311-cp311-macosx_10_9_arm64") == set()
    # packaging lists only X_0 from macOS 11 on (the minor is a mid-year update).
    assert _served("cp311-cp311-macosx_14_2_arm64") == set()


def test_windows_architectures() -> None:
    assert _served("cp312-cp312-win_amd64") == {("3.12", "win32", "AMD64")}
    # The sampled Windows is AMD64; an ARM64 or 32-bit Windows Python is another environment.
    assert _served("cp312-cp312-win_arm64") == set()
    assert _served("cp312-cp312-win32") == set()
    for machine, tag in (("ARM64", "win_arm64"), ("x86", "win32"), ("AMD64", "win_amd64")):
        (env,) = target_environment("3.12")
        env.update(sys_platform="win32", platform_machine=machine)
        assert tag_serves(Tag("cp312", "cp312", tag), env)
        assert [t for t in ("win_amd64", "win_arm64", "win32") if tag_serves(Tag("cp312", "cp312", t), env)] == [tag]


def test_abi3_serves_its_version_and_newer_cpython() -> None:
    assert _pythons("cp310-abi3-manylinux_2_17_x86_64") == ALL_PYTHONS[2:]
    assert _platforms("cp310-abi3-manylinux_2_17_x86_64") == {"linux x86_64"}
    assert _pythons("cp38-abi3-win_amd64") == ALL_PYTHONS
    # abi3t is the free-threaded stable ABI (PEP 803); a sampled CPython is the GIL build.
    assert _served("cp315-abi3t-manylinux_2_17_x86_64") == set()


def test_version_specific_tags() -> None:
    assert _pythons("cp312-cp312-win_amd64") == ["3.12"]
    assert _pythons("cp312-none-any") == ["3.12"]
    assert _pythons("py312-none-any") == ALL_PYTHONS[4:]  # pyXY is a lower bound (PEP 425)
    assert _pythons("py3-none-manylinux_2_28_x86_64") == ALL_PYTHONS
    assert _served("cp313-cp313t-manylinux_2_17_x86_64") == set()  # free-threaded ABI
    # packaging never pairs an interpreter ABI with `any`: installers refuse these.
    assert _served("cp311-cp311-any") == set()
    assert _served("cp312-abi3-any") == set()


@pytest.mark.parametrize("wheel_tag", [
    "cp312-pypy312_pp73-manylinux_2_17_x86_64",
    "pp310-pypy310_pp73-manylinux_2_17_x86_64",
    "pp310-pypy310_pp73-win_amd64",
    "pp39-pypy39_pp73-macosx_11_0_arm64",
    "py3-pypy_73-any",
    "py3-pypy310_pp73-manylinux_2_17_x86_64",
    "pp310-none-any",
    "graalpy311-graalpy242_311_native-manylinux_2_28_x86_64",
    "graalpy311-none-any",
    "py3-graalpy242_311_native-any",
])
def test_other_implementation_abi_serves_no_cpython(wheel_tag: str) -> None:
    """PEP 425: the ABI tag names the implementation's ABI; a CPython cannot load a PyPy or
    GraalPy extension, whatever the Python tag says (uv: "no wheels with a matching Python ABI")."""
    assert _served(wheel_tag) == set()


def test_same_as_packaging_lists() -> None:
    """For every sampled environment, a tag serves it exactly when packaging's cpython_tags +
    compatible_tags over the environment's platform list contain it."""
    variants = ("any", "musllinux_1_2_x86_64", "win_arm64", "macosx_10_9_arm64", "linux_x86_64")
    for env in ENVIRONMENTS:
        version = (3, int(env["python_version"].split(".")[1]))
        interpreter = f"cp3{version[1]}"
        platforms = platform_tags(env["sys_platform"], env["platform_machine"])
        supported = set(cpython_tags(version, [interpreter], platforms))
        supported |= set(compatible_tags(version, interpreter, platforms))
        assert all(tag_serves(tag, env) for tag in supported)
        pairs = {(tag.interpreter, tag.abi) for tag in supported}
        others = {Tag(interpreter, abi, platform) for interpreter, abi in pairs for platform in variants}
        others |= {Tag("pp310", "pypy310_pp73", platform) for platform in platforms[:3]}
        for tag in others:
            assert tag_serves(tag, env) == (tag in supported), (str(tag), env)


def test_platform_lists() -> None:
    linux = platform_tags("linux", "x86_64")
    assert linux[0] == "manylinux_2_99_x86_64" and linux[-1] == "linux_x86_64"
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "manylinux_2_5_x86_64"} <= set(linux)
    assert not any(tag.startswith("musllinux") for tag in linux)
    assert "manylinux_2_16_aarch64" not in platform_tags("linux", "aarch64")
    assert {"macosx_11_0_arm64", "macosx_10_4_universal2"} <= set(platform_tags("darwin", "arm64"))
    assert platform_tags("win32", "AMD64") == ("win_amd64",)
    assert platform_tags("freebsd", "amd64") == ()


def test_masks_bits_and_memo() -> None:
    tag = Tag("cp312", "cp312", "win_amd64")
    mask = tag_mask(tag, ENVIRONMENTS)
    assert [env for index, env in enumerate(ENVIRONMENTS) if mask >> index & 1] == [
        env for env in ENVIRONMENTS if env["python_version"] == "3.12" and env["sys_platform"] == "win32"]
    masks = TagMasks(ENVIRONMENTS)
    wheel = frozenset(parse_tag("cp312-cp312-win_amd64.win_arm64"))
    assert masks(wheel) == mask == tags_mask(wheel, ENVIRONMENTS)
    assert masks(frozenset()) == 0
    assert tag_mask(tag, ENVIRONMENTS[:1]) == 0 and tag_mask(tag, []) == 0


_INTERPRETERS = ["py3", "py2.py3", "py38", "cp38", "cp311", "cp312", "cp313", "pp310", "graalpy311"]
_ABIS = ["none", "abi3", "cp38", "cp311", "cp312", "cp313t", "pypy310_pp73"]
_PLATFORMS = ["any", "manylinux_2_17_x86_64", "manylinux2014_aarch64", "musllinux_1_2_x86_64", "linux_x86_64",
              "macosx_11_0_arm64", "macosx_10_9_universal2", "macosx_14_0_x86_64", "win_amd64", "win32",
              "win_arm64", "freebsd_14_0_amd64"]


def test_mask_from_factors_matches_each_environments_answer() -> None:
    """The mask is built from (interpreter, ABI) and platform factors: for every combination
    of these parts it equals asking each environment on its own (``tag_serves``)."""
    checked = served = 0
    for interpreter in _INTERPRETERS:
        for abi in _ABIS:
            for platform in _PLATFORMS:
                for tag in parse_tag(f"{interpreter}-{abi}-{platform}"):
                    expected = sum(1 << index for index, env in enumerate(ENVIRONMENTS) if tag_serves(tag, env))
                    assert tag_mask(tag, ENVIRONMENTS) == expected, tag
                    checked += 1
                    served += expected != 0
    assert checked > 700 and served > 50  # the combinations reach both answers
