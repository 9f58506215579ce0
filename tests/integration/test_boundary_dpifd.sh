#!/bin/sh
# test_boundary_dpifd — the real dpifd (privd, spawner, sandbox, dummy
# datapath) against a hostile handler (issue 13): a copy of dpifd next to
# dpif-evil-worker installed as its dpif-handlerd, in the mode named by
# "evil-mode" beside it (tests/integration/helpers/evil_worker.c).
#
#   B1 doorbell: the handler fills privd's doorbell pipes, announces that
#      it sleeps on every ring so that privd rings on every record, never
#      empties a doorbell and never reads its socket.  privd keeps
#      answering its control socket (each "show" within 2 s), counts the
#      rings on full pipes (shm_ring_doorbell_full), shows the handler as
#      "stuck" in procs, kills it (supervisor_watchdog_kill) and respawns
#      it, and SIGTERM still stops it with status 0.
#
# Usage: test_boundary_dpifd.sh DPIFD DPIFCTL EVIL_WORKER REVALD
set -eu

REAL_DPIFD=$1
DPIFCTL=$2
EVIL=$3
REVALD=$4
WAIT_SEC=40
. "$(dirname "$0")/dpifd-lib.sh"

# install_evil MODE: DIR/bin holds dpifd, dpif-revald and the evil worker as
# dpif-handlerd, root-owned and not group-writable (the spawner checks).
install_evil() {
    rm -rf "$DIR/bin"
    mkdir "$DIR/bin"
    chmod 755 "$DIR/bin"
    cp "$REAL_DPIFD" "$DIR/bin/dpifd"
    cp "$REVALD" "$DIR/bin/dpif-revald"
    cp "$EVIL" "$DIR/bin/dpif-handlerd"
    chmod 755 "$DIR/bin/dpifd" "$DIR/bin/dpif-revald" "$DIR/bin/dpif-handlerd"
    echo "$1" >"$DIR/bin/evil-mode"
    chmod 644 "$DIR/bin/evil-mode"
    DPIFD=$DIR/bin/dpifd
}

counter_above() { [ "$(counter "$1")" -gt "$2" ] 2>/dev/null; }
handler_stuck() {
    procs_list | awk '$1 == "handler" && $5 == "stuck"' | grep -q .
}

# ---- B1 --------------------------------------------------------------------
install_evil doorbell
# The evil handler never logs a policy generation.
DPIFD_START_NO_POLICY=1 dpifd_start 2 --datapath dummy@br0 \
    --port p1:dummy --port p2:dummy --handlers 1 --revalidators 1
# One loop watches it all: the control socket answers every time within
# 2 s, privd rings full pipes, the handler shows as stuck, then the watchdog
# kills it.
seen_full=no
seen_stuck=no
start=$(date +%s)
while :; do
    timeout 2 "$DPIFCTL" --socket "$DIR/run/dpifd.ctl" show >/dev/null \
        || fail "the control socket did not answer within 2 s"
    if counter_above shm_ring_doorbell_full 0; then
        seen_full=yes
    fi
    if handler_stuck; then
        seen_stuck=yes
    fi
    if [ "$seen_full" = yes ] && counter_above supervisor_watchdog_kill 0
    then
        break
    fi
    [ $(( $(date +%s) - start )) -lt "$WAIT_SEC" ] \
        || fail "no full doorbell (seen: $seen_full) or no watchdog kill"
    sleep 0.1
done
[ "$seen_stuck" = yes ] || fail "procs never showed the handler as stuck"
grep -q "handler 0 (pid [0-9]*): killing: stuck" "$DIR/log" \
    || fail "no watchdog kill in the log"
_respawned() {
    procs_list | awk '$1 == "handler" && $3 > 0 && $6 >= 1' | grep -q .
}
wait_for _respawned || fail "the handler was not respawned"
timeout 2 "$DPIFCTL" --socket "$DIR/run/dpifd.ctl" show >/dev/null \
    || fail "the control socket did not answer after the kill"
dpifd_stop
echo "B1 doorbell: ok"
