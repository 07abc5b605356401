#!/usr/bin/env bash
# Peer for bench/serve_create.mjs: Python start-up natively and under bubblewrap 0.8 with the sandbox of
# /work/shared/spec/isolation-notes.md §7.1 (all namespaces, read-only /usr and /etc, fresh /proc, /dev and a tmpfs
# /tmp, cleared environment: no HOME, so matplotlib rebuilds its font cache on every run, as noted there).
#
# Usage: bench/bwrap_python.sh [N]   (default 20)
# Output: one line per run, "<case> <milliseconds>"; the cases are interleaved so that load drift hits them alike.
# Timing uses bash's $EPOCHREALTIME around a plain fork+exec of the command, so both sides pay the same spawn cost.
set -euo pipefail

n=${1:-20}
python=/usr/bin/python3
imports='import numpy, pandas, matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot'

command -v bwrap >/dev/null || { echo "bwrap_python.sh: bwrap is missing (apt-get install bubblewrap)" >&2; exit 1; }
"$python" -c 'import numpy, pandas, matplotlib' 2>/dev/null ||
  { echo "bwrap_python.sh: $python lacks numpy/pandas/matplotlib" >&2; exit 1; }

bwrap_args=(--unshare-all --die-with-parent --ro-bind /usr /usr --symlink usr/bin /bin --symlink usr/lib /lib
            --symlink usr/lib64 /lib64 --symlink usr/sbin /sbin --ro-bind /etc /etc --proc /proc --dev /dev
            --tmpfs /tmp --chdir /tmp --clearenv --setenv PATH /usr/bin)

run_case() {
  case $1 in
    native_true) /bin/true ;;
    bwrap_true) bwrap "${bwrap_args[@]}" /bin/true ;;
    native_pass) "$python" -c pass ;;
    bwrap_pass) bwrap "${bwrap_args[@]}" "$python" -c pass ;;
    native_imports) "$python" -c "$imports" ;;
    bwrap_imports) bwrap "${bwrap_args[@]}" "$python" -c "$imports" ;;
  esac
}

cases=(native_true bwrap_true native_pass bwrap_pass native_imports bwrap_imports)
# Warm the page cache once, not measured (stderr: fontconfig complains about the read-only sandbox).
for c in "${cases[@]}"; do
  run_case "$c" >/dev/null 2>&1 || { echo "bwrap_python.sh: case $c failed:" >&2; run_case "$c" >&2; exit 1; }
done

records=()
for ((i = 0; i < n; i++)); do
  for c in "${cases[@]}"; do
    t0=$EPOCHREALTIME
    run_case "$c" >/dev/null 2>&1
    t1=$EPOCHREALTIME
    records+=("$c $t0 $t1")
  done
done
printf '%s\n' "${records[@]}" | awk '{ printf "%s %.3f\n", $1, ($3 - $2) * 1000 }'
