#!/usr/bin/env bash
# The MNIST-1D CNN benchmark in one run: stackprop (criterion, benches/cnn.rs),
# PyTorch and JAX (tools/cnn_peers.py), and the core's f32 FMA peak
# (benches/fma_peak.rs), all pinned to one core; prints a markdown table.
#
# usage: tools/cnn_bench.sh [--quick] [--no-build] [--no-python] [--no-parts]
#   --quick      short timing (smoke test): criterion 0.2 s + 0.5 s per benchmark,
#                peers 0.05 s warm-up, 3 x 0.02 s
#   --no-build   run what is built (the bench binaries are still checked by cargo)
#   --no-python  stackprop and the FMA peak only
#   --no-parts   skip the train step's pieces (criterion group cnn_parts)
#
# Environment:
#   CNN_CPU           core to pin to (default: the last one)
#   CNN_PYTHON        Python with numpy, torch and jax (default: /work/venv/bin/python;
#                     `pip install numpy torch jax` into a venv, or the env that
#                     `../shared/peers/run.sh --setup-python` makes, provides one)
#   CARGO_TARGET_DIR  (default: target/ of the repository); criterion's results are
#                     read from $CARGO_TARGET_DIR/criterion/*/new/estimates.json
#   PEERS_WARMUP_S, PEERS_REP_S, PEERS_REPS   the Python peers' timing (0.2 / 0.1 / 7)
# Output: the table on stdout; raw lines and logs in $CARGO_TARGET_DIR/cnn_bench/.
#
# Everything runs single-threaded (the thread-count variables below, torch's
# set_num_threads(1), XLA's flags for JAX) and pinned with `taskset -c $CNN_CPU`,
# as ../shared/peers/run.sh runs its peers: XLA's CPU client sizes its thread pool
# from the affinity mask, so pinning is what makes JAX single-core.
#
# FLOPs: 2 per multiply-accumulate of the forward (a convolution does CO*CI*K*LO per
# sample, a linear layer in*out), a train step counts 3 x the forward (BENCHMARKS.md):
# 63,500 per sample forward; cnn_train_b32 6.096 MFLOP, cnn_infer_b1 63.5 kFLOP.
set -u -o pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$REPO/target}"
case "$CARGO_TARGET_DIR" in /*) ;; *) CARGO_TARGET_DIR="$REPO/$CARGO_TARGET_DIR" ;; esac
PYTHON="${CNN_PYTHON:-/work/venv/bin/python}"
NCPU="$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)"
CPU="${CNN_CPU:-$((NCPU - 1))}"
export RUSTFLAGS="-C target-cpu=native"
export RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
export MATMUL_NUM_THREADS=1

QUICK=0 BUILD=1 PY=1 PARTS=1
for a in "$@"; do
  case "$a" in
    --quick) QUICK=1 ;;
    --no-build) BUILD=0 ;;
    --no-python) PY=0 ;;
    --no-parts) PARTS=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "cnn_bench.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
CRIT_ARGS=()
if [ "$QUICK" = 1 ]; then
  CRIT_ARGS=(--warm-up-time 0.2 --measurement-time 0.5)
  export PEERS_WARMUP_S=0.05 PEERS_REP_S=0.02 PEERS_REPS=3
fi
[ "$PARTS" = 1 ] || CRIT_ARGS+=("^cnn_(train|infer)")

PIN=()
if command -v taskset >/dev/null 2>&1; then PIN=(taskset -c "$CPU"); else
  echo "cnn_bench.sh: taskset not found, nothing is pinned" >&2; CPU=none; fi

OUT="$CARGO_TARGET_DIR/cnn_bench"
mkdir -p "$OUT"
LINES="$OUT/results.jsonl" LOG="$OUT/log.txt"
: > "$LINES"; : > "$LOG"

if [ "$BUILD" = 1 ]; then
  echo "== building benches cnn and fma_peak (log: $LOG)" >&2
  t0=$SECONDS
  if ! cargo bench --bench cnn --bench fma_peak --no-run >> "$LOG" 2>&1; then
    tail -n 30 "$LOG" >&2; echo "cnn_bench.sh: build failed" >&2; exit 1
  fi
  echo "   ok ($((SECONDS - t0)) s)" >&2
fi

echo "== FMA peak (pinned to core $CPU)" >&2
"${PIN[@]}" cargo bench --bench fma_peak 2> >(cat >> "$LOG") | tee -a "$LOG" | grep '^fma=' > "$OUT/peak.txt"
sed 's/^/   /' "$OUT/peak.txt" >&2

echo "== stackprop: criterion bench cnn (pinned to core $CPU)" >&2
stamp="$OUT/.start"; touch "$stamp"
if ! "${PIN[@]}" cargo bench --bench cnn -- "${CRIT_ARGS[@]}" > "$OUT/criterion.txt" 2>> "$LOG"; then
  tail -n 30 "$OUT/criterion.txt" >&2; echo "cnn_bench.sh: the criterion bench failed" >&2; exit 1
fi
grep '^{' "$OUT/criterion.txt" >> "$LINES"
# criterion's medians of this run (estimates older than the run are left out)
find "$CARGO_TARGET_DIR/criterion" -path '*/new/estimates.json' -newer "$stamp" 2>/dev/null |
  while read -r f; do
    id="${f#"$CARGO_TARGET_DIR/criterion/"}"; id="${id%/new/estimates.json}"
    case "$id" in cnn_*) ;; *) continue ;; esac
    echo "{\"peer\":\"criterion\",\"id\":\"$id\",\"estimates\":$(tr -d '\n' < "$f")}"
  done >> "$LINES"

if [ "$PY" = 1 ]; then
  echo "== PyTorch and JAX: tools/cnn_peers.py with $PYTHON (pinned to core $CPU)" >&2
  if [ -x "$PYTHON" ]; then
    "${PIN[@]}" env XLA_FLAGS="--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1" \
      JAX_PLATFORMS=cpu "$PYTHON" tools/cnn_peers.py 2>> "$LOG" | tee -a "$LOG" | grep '^{' >> "$LINES"
  else
    echo "{\"peer\":\"python\",\"skipped\":\"no python at $PYTHON (set CNN_PYTHON)\"}" >> "$LINES"
  fi
fi

cpu_model="$(grep -m1 'model name' /proc/cpuinfo 2>/dev/null | sed 's/.*: //')"
TABLE_PY="$(command -v python3 || echo "$PYTHON")"
"$TABLE_PY" - "$LINES" "$OUT/peak.txt" "$cpu_model" "$CPU" <<'EOF'
import json, re, sys

lines, peak_file, cpu, core = sys.argv[1:5]
FWD = 63_500  # FLOPs per sample forward (see the header of this script)
FLOPS = {"cnn_train_b32": 3 * 32 * FWD, "cnn_infer_b1": FWD, "cnn_infer_b1_arena": FWD}

peaks = [float(g) for l in open(peak_file) for g in re.findall(r"([\d.]+) GFLOP/s", l)]
peak = max(peaks) if peaks else None
rows, checks, parts, notes = {}, [], {}, []
for l in open(lines):
    d = json.loads(l)
    if d.get("peer") == "criterion":
        ns = d["estimates"]["median"]["point_estimate"]
        if d["id"].startswith("cnn_parts/"):
            parts[d["id"].split("/", 1)[1]] = ns
        else:
            wl = d["id"]
            rows[(wl.replace("_arena", ""), "stackprop" + (" (arena)" if wl.endswith("_arena") else ""))] = (ns, wl)
    elif "check" in d:
        checks.append(d)
    elif "workload" in d:
        rows[(d["workload"], d["peer"])] = (d["ns_per_iter"], d["workload"])
    elif "skipped" in d:
        notes.append(f"{d['peer']} skipped: {d['skipped']}")
    elif "meta" in d:
        notes.append(f"{d['peer']}: " + ", ".join(f"{k} {v}" for k, v in d["meta"].items()))

def t(ns):
    return f"{ns / 1e3:.1f} µs" if ns >= 1e3 else f"{ns:.0f} ns"

print(f"CPU: {cpu}, pinned to core {core}; f32 FMA peak {peak:.1f} GFLOP/s "
      f"(benches/fma_peak.rs, best of {len(peaks)} probes)\n" if peak else "FMA peak not measured\n")
print("| workload | peer | median | GFLOP/s | % of FMA peak | time / stackprop's |")
print("|---|---|---:|---:|---:|---:|")
order = {"stackprop": 0, "stackprop (arena)": 1, "torch": 2, "jax": 3}
for wl in ("cnn_train_b32", "cnn_infer_b1"):
    ref = rows.get((wl, "stackprop"), (None,))[0]
    for (w, peer), (ns, full) in sorted(rows.items(), key=lambda kv: order.get(kv[0][1], 9)):
        if w != wl:
            continue
        g = FLOPS[full] / ns
        pct = f"{100 * g / peak:.1f} %" if peak else "–"
        ratio = f"{ns / ref:.2f}×" if ref else "–"
        print(f"| {wl} | {peer} | {t(ns)} | {g:.2f} | {pct} | {ratio} |")
if checks:
    print("\nCheck (batch 32, one step from the same init; should agree to ~1e-6):\n")
    print("| peer | loss before | gradient norm | loss after |\n|---|---:|---:|---:|")
    for c in checks:
        print(f"| {c['peer']} | {c['loss_before']:.7f} | {c['grad_norm']:.7f} | {c['loss_after']:.7f} |")
if parts:
    step = rows.get(("cnn_train_b32", "stackprop"), (None,))[0]
    print("\nstackprop's train step (batch 32) in pieces, each timed alone (criterion medians):\n")
    print("| piece | median | share of the step | GFLOP/s |\n|---|---:|---:|---:|")
    # FLOPs of each piece (backward: 2x the forward, conv1 without dx: 1x)
    macs = {"conv1": 25 * 5 * 19, "conv2": 25 * 25 * 3 * 10, "conv3": 25 * 25 * 3 * 5, "linear": 1250}
    pf = {"forward_train": 32 * FWD, "gradient": 3 * 32 * FWD}
    for n, m in macs.items():
        pf[f"{n}_forward"] = 2 * 32 * m
        pf[f"{n}_backward"] = 4 * 32 * m
    pf["conv1_backward_no_dx"] = 2 * 32 * macs["conv1"]
    for name in ("forward_train", "gradient", "update", "conv1_forward", "conv2_forward",
                 "conv3_forward", "linear_forward", "conv1_backward_no_dx", "conv2_backward",
                 "conv3_backward", "linear_backward"):
        if name in parts:
            ns = parts[name]
            share = f"{100 * ns / step:.0f} %" if step else "–"
            g = f"{pf[name] / ns:.2f}" if name in pf else "–"
            print(f"| {name} | {t(ns)} | {share} | {g} |")
if notes:
    print()
    for n in notes:
        print(f"- {n}")
EOF
