#!/bin/sh
# test_execute_flood_dpifd — the real dpifd with a hostile handler that
# floods Executes (B6): dpif-evil-worker-MODE installed as dpif-handlerd next
# to a copy of dpifd, so that the real spawner starts it in the real
# sandbox.  While it floods, "dpifctl show" round trips are timed; the test
# fails if one takes longer than MAX_MSEC or if the handler is never struck
# and killed.  With MEASURE_ONLY=1 it only prints the figures (to measure a
# dpifd without the budgets).
#
# Usage: test_execute_flood_dpifd.sh DPIFD DPIFCTL EVIL_WORKER REVALD [MODE]
set -eu

DPIFD_SRC=$1
DPIFCTL=$2
EVIL=$3
REVALD=$4
MODE=${5:-clones}
MAX_MSEC=${MAX_MSEC:-1000}
ROUNDS=${ROUNDS:-40}

DPIFD=unset
. "$(dirname "$0")/dpifd-lib.sh"

# dpifd looks for its workers next to itself first.
mkdir "$DIR/bin"
cp "$DPIFD_SRC" "$DIR/bin/dpifd"
cp "$EVIL-$MODE" "$DIR/bin/dpif-handlerd"
cp "$REVALD" "$DIR/bin/dpif-revald"
chmod 755 "$DIR/bin" "$DIR/bin/"*
DPIFD=$DIR/bin/dpifd

"$DPIFD" --datapath dummy@br0 --port p1:dummy --port p2:dummy \
    --handlers 1 --revalidators 1 --run-dir "$DIR/run" >"$DIR/log" 2>&1 &
PID=$!
PIDS_STARTED="$PIDS_STARTED $PID"
wait_for ctl show || fail "dpifd did not answer"

# Time ROUNDS round trips of "show", 50 ms apart.
max=0
total=0
i=0
while [ $i -lt "$ROUNDS" ]; do
    t0=$(date +%s%N)
    ctl show >/dev/null || fail "show failed"
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    total=$((total + ms))
    [ $ms -le $max ] || max=$ms
    i=$((i + 1))
    sleep 0.05
done
kills=$(counter supervisor_worker_killed)
echo "mode $MODE: show round trip max ${max} ms, mean $((total / ROUNDS)) ms" \
     "over $ROUNDS; handler kills: ${kills:-0}"
if [ "${MEASURE_ONLY:-0}" = 1 ]; then
    [ -z "${SHOW_LOG:-}" ] || tail -"$SHOW_LOG" "$DIR/log"
    exit 0
fi
[ "$max" -le "$MAX_MSEC" ] || fail "show took $max ms (bound $MAX_MSEC)"
[ "${kills:-0}" -ge 1 ] || fail "the flooding handler was never killed"
grep -q "malformed messages" "$DIR/log" || fail "no strike logged"
dpifd_stop
