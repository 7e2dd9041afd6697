"""Builds the docker backend's image with no image registry: debootstrap makes a Debian rootfs with
Python, `docker import` turns it into an image. Needs root, debootstrap and a Debian mirror."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from sandbox.base import SandboxError
from sandbox.docker_backend import IMAGE, docker_client

DEFAULT_MIRROR = "http://deb.debian.org/debian"
PRUNE = ("usr/share/doc", "usr/share/man", "usr/share/locale", "var/cache/apt/archives", "var/lib/apt/lists")


def build_image(image: str = IMAGE, suite: str = "bookworm", mirror: str = DEFAULT_MIRROR) -> str:
    """Returns the new image's id."""
    client = docker_client()
    if client is None:
        raise SandboxError("no Docker engine answers: start dockerd first")
    if shutil.which("debootstrap") is None:
        raise SandboxError("debootstrap is missing: apt-get install debootstrap")
    repository, _, tag = image.partition(":")
    with tempfile.TemporaryDirectory(prefix="envgen-rootfs-") as work:
        rootfs = Path(work) / "rootfs"
        command = ["debootstrap", "--variant=minbase", "--include=python3", suite, str(rootfs), mirror]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise SandboxError(f"debootstrap failed ({done.returncode}): {done.stderr[-2000:] or done.stdout[-2000:]}")
        for relative in PRUNE:
            shutil.rmtree(rootfs / relative, ignore_errors=True)
        archive = Path(work) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(archive), "."], check=True)
        client.api.import_image_from_file(
            str(archive), repository=repository, tag=tag or "latest", changes=["USER 65534:65534", "WORKDIR /tmp"]
        )
    return str(client.images.get(image).id)
