from __future__ import annotations

import pytest

from pants_lambda.platforms import RUNTIMES, complete_platform, manylinux_platform_tags


def test_amazon_linux_2_accepts_nothing_newer_than_glibc_2_26() -> None:
    tags = manylinux_platform_tags(RUNTIMES["python3.11"].glibc, "x86_64")
    assert tags[0] == "manylinux_2_26_x86_64"
    assert "manylinux_2_28_x86_64" not in tags
    assert {"manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64"} <= set(tags)


def test_amazon_linux_2023_arm64() -> None:
    tags = manylinux_platform_tags(RUNTIMES["python3.12"].glibc, "aarch64")
    assert tags[0] == "manylinux_2_34_aarch64"
    assert "manylinux2014_aarch64" in tags
    # Older aliases never existed for aarch64.
    assert "manylinux2010_aarch64" not in tags and "manylinux1_aarch64" not in tags


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
@pytest.mark.parametrize("architecture, machine", [("x86_64", "x86_64"), ("arm64", "aarch64")])
def test_complete_platform(runtime: str, architecture: str, machine: str) -> None:
    platform = complete_platform(RUNTIMES[runtime], architecture)
    major, minor = RUNTIMES[runtime].python_version
    env = platform["marker_environment"]
    assert env["python_version"] == f"{major}.{minor}"
    assert env["platform_machine"] == machine
    tags = platform["compatible_tags"]
    assert tags[0].startswith(f"cp{major}{minor}-cp{major}{minor}-manylinux_2_")
    assert f"cp{major}{minor}-abi3-manylinux2014_{machine}" in tags
    assert tags[-1] == "py30-none-any"
    assert not any("linux_" + machine == tag.split("-")[-1] for tag in tags)
    assert not any("macosx" in tag or "win" in tag for tag in tags)
