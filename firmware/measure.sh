#!/usr/bin/env bash
# Builds the firmware images and measures the sine network on an emulated
# Cortex-M4F (QEMU mps2-an386) and Cortex-M0 (QEMU microbit):
#
#   * flash (text) and static RAM of the inference-only image `infer`, which
#     never formats a float, and where the weights are (llvm-size, llvm-nm);
#   * peak stack (stack painting) of that whole image, of one inference and
#     of one training step (batch 1 and 8), beside the compile-time consts;
#   * instructions per inference, per training step, and per
#     multiply-accumulate of a 64 -> 64 dense layer forward and backward,
#     counted exactly by the QEMU TCG plugin in tools/ (a copy of
#     ../shared/tools/qemu-insn-count, built here with gcc).
#
# Usage: firmware/measure.sh   (from anywhere; needs qemu-system-arm, gcc,
# the thumbv7em-none-eabihf and thumbv6m-none-eabi targets and llvm-tools:
# ci.sh installs them). Exits non-zero if a build or a QEMU run fails or an
# image reports a wrong result. Writes the report to target/measure.txt too.
set -euo pipefail
cd "$(dirname "$0")"

bin=$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin
size=$bin/llvm-size
nm=$bin/llvm-nm
objdump=$bin/llvm-objdump
m4=thumbv7em-none-eabihf
m0=thumbv6m-none-eabi
qemu_m4=(qemu-system-arm -cpu cortex-m4 -machine mps2-an386 -nographic
         -semihosting-config enable=on,target=native)
qemu_m0=(qemu-system-arm -cpu cortex-m0 -machine microbit -nographic
         -semihosting-config enable=on,target=native)

mkdir -p target
report=target/measure.txt
: >"$report"
say() { printf '%s\n' "$*" | tee -a "$report"; }

echo "== building (release, LTO) ..."
cargo build --release --quiet --bin infer --bin measure --bin train --bin cnn --target $m4
cargo build --release --quiet --bin infer --bin cnn --target $m0
plugin=$(sh tools/build.sh target/plugin)

addr() { "$nm" "$1" | awk -v s="$2" '$3 == s { print "0x" $1 }'; }

# run ELF QEMU... : runs the image with the instruction-count plugin, output
# (semihosting and plugin) to target/NAME.out; fails if QEMU exits non-zero.
run() {
  local elf=$1 out=target/$2.out
  shift 2
  local start end
  start=$(addr "$elf" region_start)
  end=$(addr "$elf" region_end)
  if ! timeout 300 "$@" -plugin "$plugin,start=$start,end=$end" -d plugin -kernel "$elf" \
      >"$out" 2>&1; then
    cat "$out"
    echo "FAILED: $elf under QEMU (output above)" >&2
    exit 1
  fi
}
region() { sed -n "s/^insn_region: region $2: \([0-9]*\) instructions$/\1/p" "target/$1.out"; }

infer4=target/$m4/release/infer
infer0=target/$m0/release/infer
meas=target/$m4/release/measure
run "$infer4" infer-m4 "${qemu_m4[@]}"
run "$infer0" infer-m0 "${qemu_m0[@]}"
run "$meas" measure-m4 "${qemu_m4[@]}"
cnn4=target/$m4/release/cnn
cnn0=target/$m0/release/cnn
run "$cnn4" cnn-m4 "${qemu_m4[@]}"
run "$cnn0" cnn-m0 "${qemu_m0[@]}"

# Berkeley format: text (= flash: vector table, code, read-only data), data, bss.
read -r text4 data4 bss4 _ < <("$size" "$infer4" | tail -1)
read -r text0 data0 bss0 _ < <("$size" "$infer0" | tail -1)
peak() { sed -n 's/^infer: peak stack since reset \([0-9]*\) bytes$/\1/p' "target/$1.out"; }
stack4=$(peak infer-m4)
stack0=$(peak infer-m0)
ram4=$((data4 + bss4 + stack4))
ram0=$((data0 + bss0 + stack0))
infer_insn4=$(region infer-m4 0)
infer_insn0=$(region infer-m0 0)

say "# stackprop firmware measurements ($(date -u +%Y-%m-%d), $(rustc --version | cut -d' ' -f1-2), $(qemu-system-arm --version | head -1 | cut -d'(' -f1))"
say
say "## Inference-only image \`infer\` (sine 1-16-16-1 ReLU, weights in flash, no float formatting)"
say
say "$(grep '^infer:' target/infer-m4.out | sed 's/^/    M4: /')"
say "$(grep '^infer:' target/infer-m0.out | sed 's/^/    M0: /')"
say
say "| target | flash (text) | static RAM (data+bss) | peak stack, whole image | RAM incl. stack | instructions per inference |"
say "|---|---|---|---|---|---|"
say "| Cortex-M4F ($m4) | $text4 B | $((data4 + bss4)) B | $stack4 B | $ram4 B | $infer_insn4 |"
say "| Cortex-M0 ($m0, soft float) | $text0 B | $((data0 + bss0)) B | $stack0 B | $ram0 B | $infer_insn0 |"
say
say "Where the weights are (llvm-objdump -t; flash is below 0x20000000, RAM at 0x20000000):"
say "$("$objdump" -t -C "$infer4" | grep 'sine_weights::SINE\b' | sed 's/^/    M4: /')"
say "$("$objdump" -t -C "$infer0" | grep 'sine_weights::SINE\b' | sed 's/^/    M0: /')"
say "$("$size" -A "$infer4" | grep -E '^(\.vector_table|\.text|\.rodata|\.data|\.bss) ' | sed 's/^/    M4 section: /')"
say
say "## Stack painting (image \`measure\`, Cortex-M4F) beside the compile-time consts"
say
say "$(grep '^stack:' target/measure-m4.out | sed 's/^stack: /    /')"
say
say "## Instructions (QEMU plugin, exact; image \`measure\`, Cortex-M4F)"
say
say "| region | instructions | multiply-accumulates | instructions per MAC |"
say "|---|---|---|---|"
while IFS= read -r line; do
  k=$(sed -n 's/^region \([0-9]*\): .*/\1/p' <<<"$line")
  name=$(sed -n 's/^region [0-9]*: \(.*\); macs [0-9]*$/\1/p' <<<"$line")
  macs=$(sed -n 's/.*; macs \([0-9]*\)$/\1/p' <<<"$line")
  n=$(region measure-m4 "$k")
  [ -n "$n" ] || { echo "no count for region $k" >&2; exit 1; }
  if [ "$macs" -gt 0 ]; then
    per=$(awk -v n="$n" -v m="$macs" 'BEGIN { printf "%.2f", n / m }')
  else
    per=-
  fi
  say "| $name | $n | $macs | $per |"
done < <(grep '^region [0-9]*:' target/measure-m4.out)
say
grep -q '^measure: done$' target/measure-m4.out || { echo "measure image failed" >&2; exit 1; }

# The MNIST-1D CNN image: sizes, stack beside the consts, instructions.
read -r ctext4 cdata4 cbss4 _ < <("$size" "$cnn4" | tail -1)
read -r ctext0 cdata0 cbss0 _ < <("$size" "$cnn0" | tail -1)
cmacs=$(sed -n 's/^cnn: multiply-accumulates per inference \([0-9]*\)$/\1/p' target/cnn-m4.out)
cstack() { sed -n 's/^cnn: stack: arena inference measured \([0-9]*\) B.*/\1/p' "target/$1.out"; }
cconst=$(sed -n 's/^cnn: stack: arena inference .* = \([0-9]*\) B$/\1/p' target/cnn-m4.out)
per() { awk -v n="$1" -v m="$cmacs" 'BEGIN { printf "%.2f", n / m }'; }
say "## The MNIST-1D CNN (image \`cnn\`: 3 x Conv1d of 25 channels + Linear, 5,210 weights and 100 test signals in flash)"
say
say "$(grep '^cnn: [af][ro]' target/cnn-m4.out | sed 's/^/    M4: /')"
say "$(grep '^cnn: [af][ro]' target/cnn-m0.out | sed 's/^/    M0: /')"
say "$(grep '^cnn: stack' target/cnn-m4.out | sed 's/^cnn: stack: /    M4: /')"
say "$(grep '^cnn: stack' target/cnn-m0.out | sed 's/^cnn: stack: /    M0: /')"
say
say "| target | flash (text) | static RAM | stack, one inference in the arena (measured / const) | instructions per inference, arena | per MAC | by \`forward\` | per MAC |"
say "|---|---|---|---|---|---|---|---|"
for t in 4 0; do
  if [ $t = 4 ]; then name="Cortex-M4F ($m4)"; tx=$ctext4; st=$((cdata4 + cbss4)); else name="Cortex-M0 ($m0, soft float)"; tx=$ctext0; st=$((cdata0 + cbss0)); fi
  a=$(region cnn-m$t 0); f=$(region cnn-m$t 1)
  say "| $name | $tx B | $st B | $(cstack cnn-m$t) / $cconst B | $a | $(per "$a") | $f | $(per "$f") |"
done
say
say "($cmacs multiply-accumulates per inference; the flash includes the 100 test signals, 16,000 B.)"
say
within=$(awk -v m="$(cstack cnn-m4)" -v c="$cconst" 'BEGIN { print (m <= 1.1 * c && m >= 0.9 * c) }')

mac_fwd=$(awk -v n="$(region measure-m4 6)" 'BEGIN { printf "%.2f", n / 4096 }')
mac_fwd8=$(awk -v n="$(region measure-m4 8)" 'BEGIN { printf "%.2f", n / 32768 }')
verdict() { if [ "$1" = 1 ]; then echo met; else echo "not met"; fi; }
say "## Goals"
say
say "    flash <= 8 kB (8192 B): $text4 B on M4 -> $(verdict $((text4 <= 8192)))"
say "    RAM incl. stack <= 1.5 kB (1536 B): $ram4 B on M4 -> $(verdict $((ram4 <= 1536)))"
say "    <= 3 instructions per MAC, 64 -> 64 forward: batch 1 $mac_fwd, batch 8 $mac_fwd8 -> batch 1 $(verdict "$(awk -v a="$mac_fwd" 'BEGIN { print (a <= 3) }')"), batch 8 $(verdict "$(awk -v a="$mac_fwd8" 'BEGIN { print (a <= 3) }')")"
say "    MNIST-1D CNN on M4: painted stack of an arena inference within 10 % of the compile-time const: $(cstack cnn-m4) B vs $cconst B -> $(verdict "$within")"
tm=$(sed -n 's/^stack: conv training step batch 8 Adam: measured \([0-9]*\) B.*/\1/p' target/measure-m4.out)
tc=$(sed -n 's/^stack: conv training step .* BACKWARD_SCRATCH \([0-9]*\) B (the step.*/\1/p' target/measure-m4.out)
twithin=$(awk -v m="$tm" -v c="$tc" 'BEGIN { print (m <= 1.1 * c && m >= 0.9 * c) }')
say "    Conv1d training step on M4 (batch 8, Adam): painted stack of the step within 10 % of BACKWARD_SCRATCH: $tm B vs $tc B -> $(verdict "$twithin")"
echo
echo "report written to firmware/$report"
