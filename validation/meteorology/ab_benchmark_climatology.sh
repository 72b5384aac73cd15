#!/bin/bash
# A/B of the embedded climatology's cost: alternates benchmark_climatology.py runs of this checkout ("on"), this
# checkout with --no-prefetch ("off") and a reference checkout ("base", kernels built in place there), ROUNDS
# times, in one time window. Each run imports esm from its own checkout (cwd first on sys.path); all use this
# checkout's benchmark script (public interface only). Outputs: output/benchmark_climatology_1x1_ab3_<run>.md
# (TAG=<prefix> instead of ab3) and, per run, the log with the background build's item count.
# Usage: validation/meteorology/ab_benchmark_climatology.sh <built reference checkout> [ROUNDS=2]
set -e
HERE=$(cd "$(dirname "$0")/../.." && pwd)
REF=$(cd "$1" && pwd)
ROUNDS=${2:-2}
LOGS=${LOGS:-/tmp}
for r in $(seq 1 "$ROUNDS"); do
  for v in on base off; do
    if [ $v = base ]; then P=$REF; X=""; elif [ $v = off ]; then P=$HERE; X="'--no-prefetch',"; else P=$HERE; X=""; fi
    cd "$P"
    echo "$v$r start $(date +%T) $(cat /proc/loadavg)"
    PYTHONPATH=$P python -c "
import logging, runpy, sys, esm; print('esm from', esm.__file__)
logging.basicConfig(level=logging.WARNING, format='%(asctime)s %(message)s')
logging.getLogger('esm.meteorology.climatology').setLevel(logging.DEBUG)
sys.argv = ['benchmark_climatology.py', $X '--tag', '${TAG:-ab3}_${v}${r}']
runpy.run_path('$HERE/validation/meteorology/benchmark_climatology.py', run_name='__main__')
" > "$LOGS/${TAG:-ab3}_${v}${r}.log" 2>&1
    echo "$v$r end $(date +%T) $(cat /proc/loadavg)"
    grep "Ratio\|Wall\|background" "$LOGS/${TAG:-ab3}_${v}${r}.log" || true
  done
done
