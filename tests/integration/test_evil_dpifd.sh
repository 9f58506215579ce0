#!/bin/sh
# test_evil_dpifd — the real dpifd with a hostile handler:
# dpif-evil-worker-MODE installed as dpif-handlerd next to a copy of dpifd,
# so that the real spawner starts it in the real sandbox.  Scenarios:
#
#   clones, work  (B6) it floods costly Executes.  "dpifctl show" round
#                 trips are timed meanwhile; the test fails if one takes
#                 longer than MAX_MSEC or if the handler is never struck
#                 and killed.  With MEASURE_ONLY=1 it only prints the
#                 figures (to measure a dpifd without the budgets).
#   forge         (B10) it writes lines that look like privd's to stderr,
#                 with an embedded escape sequence and carriage return:
#                 they reach the log prefixed with the worker and escaped,
#                 and no line of the log starts like privd's forged one.
#   counters      (B12) it reports invented counters named like privd's:
#                 "dpifctl counters" (text and JSON) shows them as
#                 handler/NAME, privd's own are untouched.
#
# Usage: test_evil_dpifd.sh DPIFD DPIFCTL EVIL_WORKER REVALD SCENARIO
set -eu

DPIFD_SRC=$1
DPIFCTL=$2
EVIL=$3
REVALD=$4
SCENARIO=$5
MAX_MSEC=${MAX_MSEC:-1000}
ROUNDS=${ROUNDS:-40}

DPIFD=unset
. "$(dirname "$0")/dpifd-lib.sh"

# dpifd looks for its workers next to itself first.
mkdir "$DIR/bin"
cp "$DPIFD_SRC" "$DIR/bin/dpifd"
cp "$EVIL-$SCENARIO" "$DIR/bin/dpif-handlerd"
cp "$REVALD" "$DIR/bin/dpif-revald"
chmod 755 "$DIR/bin" "$DIR/bin/"*
DPIFD=$DIR/bin/dpifd

# Exceeding the work budget is struck once a second: kill at the second.
echo "malformed-limit = 2" >"$DIR/dpifd.conf"
"$DPIFD" --config "$DIR/dpifd.conf" \
    --datapath dummy@br0 --port p1:dummy --port p2:dummy \
    --handlers 1 --revalidators 1 --run-dir "$DIR/run" >"$DIR/log" 2>&1 &
PID=$!
PIDS_STARTED="$PIDS_STARTED $PID"
wait_for ctl show || fail "dpifd did not answer"

flood() {
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
    echo "mode $SCENARIO: show round trip max ${max} ms, mean" \
         "$((total / ROUNDS)) ms over $ROUNDS; handler kills: ${kills:-0}"
    if [ "${MEASURE_ONLY:-0}" = 1 ]; then
        exit 0
    fi
    [ "$max" -le "$MAX_MSEC" ] || fail "show took $max ms (bound $MAX_MSEC)"
    [ "${kills:-0}" -ge 1 ] || fail "the flooding handler was never killed"
    grep -q "malformed input" "$DIR/log" || fail "no strike logged"
}

forge() {
    _forged() { grep -q "worker_log|info|handler 0 (pid [0-9]*): .*forged" \
                     "$DIR/log"; }
    wait_for _forged || fail "the worker's lines were not relayed"
    # The forged privd line, prefixed and escaped, in one line.
    grep -q "handler 0 (pid [0-9]*): 2026-12-08T00:00:00.000Z|privd|main|info|dpifd: forged\\\\x1b\[2K\\\\rready" \
        "$DIR/log" || fail "forged line not prefixed and escaped"
    grep -q "handler 0 (pid [0-9]*): second forged line" "$DIR/log" \
        || fail "the line after the embedded newline was not prefixed"
    if grep -q "^2026-12-08T00:00:00.000Z" "$DIR/log" \
       || grep -q "^second forged" "$DIR/log"; then
        fail "a forged line starts a line of the log"
    fi
    grep -q "$(printf '\033')" "$DIR/log" && fail "raw escape in the log"
    # The flood after it is cut down to the rate limit.
    _dropped() { [ "$(counter worker_log_dropped)" -gt 0 ]; }
    wait_for _dropped || fail "a flood of lines was not rate-limited"
}

counters() {
    _reported() { [ "$(ctl counters | awk '$1 == "handler/op_executed" { print $2 }')" = 1000000000000 ]; }
    wait_for _reported || fail "invented counter not shown as handler/NAME"
    [ "$(ctl counters | awk '$1 == "op_executed" { print $2 }')" \
      != 1000000000000 ] || fail "a worker's counter posed as privd's"
    ctl -f json counters | python3 -c '
import json, sys
c = json.load(sys.stdin)["counters"]
assert {"name": "handler/supervisor_worker_killed", "process": None,
        "value": 10**12} in c
assert not [x for x in c if x["name"] == "supervisor_worker_killed"
            and x["value"] == 10**12]' \
        || fail "JSON does not name the worker's counter handler/NAME"
    # The third report (300 counters) is refused.
    _refused() { [ "$(counter supervisor_bad_report)" -ge 1 ]; }
    wait_for _refused || fail "an oversized counter report was not refused"
}

case $SCENARIO in
    clones|work) flood ;;
    forge) forge ;;
    counters) counters ;;
    *) fail "unknown scenario $SCENARIO" ;;
esac
dpifd_stop
