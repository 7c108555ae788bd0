#!/usr/bin/env bash
# Firmware checks for CI (called by the repository's .ci/run): installs what
# it needs, then runs every firmware image under QEMU and fails if any build
# fails or QEMU exits non-zero (a failed check, a panic or a HardFault all
# make the image exit with status 1).
#
#   1. train   (Cortex-M4F): on-device training of the sine network and XOR
#              to their targets;
#   2. infer   (Cortex-M4F and Cortex-M0): the host-trained sine network from
#              flash reproduces the host's outputs;
#   3. measure.sh: sizes, stack and instruction counts (also runs `infer`
#              on both cores and the `measure` image).
#
# About 3 minutes on a clean machine (most of it compiling nalgebra for two
# targets, and installing QEMU if it is missing).
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never

step() { printf '\n=== firmware: %s (%(%H:%M:%S)T)\n' "$*" -1; }

step "toolchain and QEMU"
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi
rustup component add llvm-tools
if ! command -v qemu-system-arm >/dev/null; then
  apt-get update
  apt-get install -y qemu-system-arm
fi
qemu-system-arm --version | head -1
command -v gcc >/dev/null || { echo "gcc is needed to build the QEMU plugin" >&2; exit 1; }

step "on-device training (Cortex-M4F, QEMU mps2-an386)"
cargo build --release --bin train
timeout 600 cargo run --release --bin train

step "inference from flash (Cortex-M4F, QEMU mps2-an386)"
timeout 120 cargo run --release --bin infer

step "inference from flash (Cortex-M0, QEMU microbit, soft float)"
cargo build --release --bin infer --target thumbv6m-none-eabi
timeout 120 cargo run --release --bin infer --target thumbv6m-none-eabi

step "measurements"
./measure.sh

step "firmware done"
