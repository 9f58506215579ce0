#!/bin/sh
# test_worker_attacks_dpifd — the real dpifd (privd, spawner, workers; as
# root with the privilege drop) on dummy datapaths, against what a
# compromised or merely unlucky worker does to it, driven with dpifctl:
#
#   1. Scale (B3).  1,000 ports (add-if, in chunks), then 10,000
#      forwarding rules (rules/replace): handler and revalidator sort them
#      inside the sandbox, where glibc's qsort() died of sysinfo(2); no
#      worker restarts, the log has no SIGSYS, and the switch still
#      forwards (a flood to every port, then a unicast reply learned
#      through the MAC table).
#   2. A forbidden syscall is named (B3).  dpif-evil-worker installed as
#      dpif-handlerd (mode "sigsys") calls sysinfo(2) after its
#      handshake: "procs" shows its last exit as
#      "killed by SIGSYS (syscall N sysinfo)", the log has the number, and
#      the revalidator and privd carry on.
#   3. A handler scribbles the shared MAC table (B2).  Handler 0 is
#      dpif-evil-worker (mode "mac": all bytes 0xff, random bytes, every
#      slot claimed just now, fake held-mutex words, header included,
#      renewed every 10 ms); handler 1 is the real dpif-handlerd.  While it
#      scribbles, fdb/show and fdb/flush answer within a second each time,
#      privd does not crash, and handler 1 (ports p1 and p3) keeps
#      forwarding new flows and stays up.  In the ASan build dpifd_stop
#      also fails on any sanitizer report.
#   4. A handler learns a storm of MACs (mode "macstorm": a new address
#      every millisecond, through the table's API): the table's change
#      count never rests, yet privd starts at most one cycle per 100 ms
#      for it (at most 26 cycles in 2 s).
#
# Usage: test_worker_attacks_dpifd.sh DPIFD DPIFCTL EVIL_WORKER REVALD
set -eu

DPIFD=$1
DPIFCTL=$2
EVIL=$3
REVALD=$4
. "$(dirname "$0")/dpifd-lib.sh"

A=02:00:00:00:00:0a
B=02:00:00:00:00:0b

udp() {
    echo "in_port($1),eth(src=$2,dst=$3),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64),udp(src=$4,dst=$5)"
}
flows_at_least() { [ "$(n_flows br0)" -ge "$1" ]; }
now_ms() { date +%s%3N; }

# ----- 1. scale: 10,000 rules, 1,000 ports -------------------------------------

RULES=$DIR/rules.d/br0.rules
mkdir "$DIR/rules.d"
[ "$(id -u)" != 0 ] || chown dpifd "$DIR/rules.d"
echo "priority=0,actions=normal" >"$RULES"
dpifd_start 2 --datapath dummy@br0 --port p1:dummy --port p2:dummy \
    --rules "$RULES" --handlers 1 --revalidators 1

# Ports first, all in one add-if: every port is a policy generation sent
# on the workers' sockets, so 998 of them fill a socket; privd owes the
# latest policy to a worker whose socket was full and sends it again
# (supervisor_policy_deferred) instead of dropping it (before: the handler
# stayed at 996 of 1001 ports).
handler_has() {
    grep -q "handler|handler|info|policy generation [0-9]*: $1 rules, $2 ports" \
        "$DIR/log"
}
IFACES=$(seq -f 'q%g' 3 1000 | tr '\n' ' ')
# shellcheck disable=SC2086
ctl add-if br0 $IFACES >/dev/null || fail "add-if of 998 ports"
wait_for handler_has 1 1001 \
    || fail "the handler never had the 1001 ports (local port included)"
echo "scale: 998 ports in one add-if; policy updates deferred on a full" \
     "socket: $(counter supervisor_policy_deferred)"
n_q() { ctl show br0 | grep -c '^ *[0-9]*  *q[0-9]* '; }
[ "$(n_q)" = 998 ] || fail "ports: $(n_q) of 998"

# Then the rules: one generation.
awk 'BEGIN {
    for (i = 0; i < 10000; i++) {
        printf "ip,nw_dst=10.1.%d.%d,actions=drop\n", i / 250, i % 250 + 1
    }
    print "priority=0,actions=normal"
}' >"$DIR/big.rules"
ctl rules/replace br0 "$DIR/big.rules" >/dev/null || fail "rules/replace"
wait_for handler_has 10001 1001 || fail "the handler never had the rules"

ctl inject --flow "$(udp 1 $A $B 1000 53)" br0 p1 >/dev/null
wait_for flows_at_least 1 || fail "scale: no flow for A->B"
[ "$(captured br0 p2)" = 1 ] || fail "scale: A->B not flooded to p2"
[ "$(captured br0 q1000)" = 1 ] || fail "scale: A->B not flooded to q1000"
[ "$(captured br0 q500)" = 1 ] || fail "scale: A->B not flooded to q500"
ctl inject --flow "$(udp 2 $B $A 1000 53)" br0 p2 >/dev/null
wait_for flows_at_least 2 || fail "scale: no flow for B->A"
[ "$(captured br0 p1)" = 1 ] || fail "scale: B->A not sent to p1"
[ "$(captured br0 q500)" = 0 ] || fail "scale: B->A flooded"
procs_list | awk '($1 == "handler" || $1 == "revalidator") && \
                  ($5 != "running" || $6 != 0) { bad = 1 } END { exit bad }' \
    || fail "scale: a worker restarted: $(procs_list)"
! grep -q "SIGSYS\|forbidden system call" "$DIR/log" \
    || fail "scale: a worker was killed by its filter"
dpifd_stop

# ----- an evil dpif-handlerd next to a copy of dpifd ----------------------------

BIN=$DIR/bin
mkdir "$BIN"
cp "$DPIFD" "$BIN/dpifd"
cp "$EVIL" "$BIN/dpif-handlerd"
cp "$REVALD" "$BIN/dpif-revald"
chmod 755 "$BIN" "$BIN/dpifd" "$BIN/dpif-handlerd" "$BIN/dpif-revald"
REAL_DPIFD=$DPIFD
DPIFD=$BIN/dpifd

# An evil handler never logs a policy generation.
DPIFD_START_NO_POLICY=1

# ----- 2. a forbidden syscall is reported ---------------------------------------

echo sigsys >"$BIN/evil-mode"
# Only the revalidator stays up.
dpifd_start 1 --datapath dummy@br0 --port p1:dummy --handlers 1 \
    --revalidators 1
SYSINFO=$(printf '#include <sys/syscall.h>\nSYS_sysinfo\n' \
          | cc -E -P - 2>/dev/null | tail -1)
case "$SYSINFO" in
    ''|*[!0-9]*) SYSINFO=99 ;;
esac
sigsys_reported() {
    procs_list | awk -v want="killed by SIGSYS (syscall $SYSINFO sysinfo)" \
        '$1 == "handler" && index($0, want) { found = 1 } END { exit !found }'
}
wait_for sigsys_reported || fail "procs: $(procs_list)"
grep -q "sandbox: forbidden system call $SYSINFO: dying of SIGSYS" \
    "$DIR/log" || fail "the worker's note is not in the log"
grep -q "handler 0 (pid [0-9]*) killed by SIGSYS (syscall $SYSINFO sysinfo)" \
    "$DIR/log" || fail "privd did not log the syscall"
procs_list | awk '$1 == "revalidator" && $5 == "running" { ok = 1 }
                  END { exit !ok }' || fail "revalidator: $(procs_list)"
dpifd_stop

# ----- 3. a handler scribbles the MAC table ------------------------------------

echo mac >"$BIN/evil-mode"
dpifd_start 3 --datapath dummy@br0 --port p1:dummy --port p2:dummy \
    --port p3:dummy --port p4:dummy --handlers 2 --revalidators 1
scribbling() { grep -q "scribbling the MAC table" "$DIR/log"; }
wait_for scribbling || fail "the evil handler did not start scribbling"
H1=$(proc_pid handler 1)

# Ports go to handler port_no % 2: p1 and p3 to handler 1, the real one.
# Each round: a new source on p1 (flood: p3 gets it) and a reply from p3
# (p1 gets it, by unicast or, when the table is scribbled, by flood),
# then fdb/show and fdb/flush, each timed.
flows=0
for round in 1 2 3 4 5 6 7 8 9 10; do
    SRC=02:00:00:00:01:$(printf %02x $round)
    DST=02:00:00:00:03:$(printf %02x $round)
    ctl inject --flow "$(udp 1 $SRC $DST 1000 53)" br0 p1 >/dev/null
    flows=$((flows + 1))
    wait_for flows_at_least $flows \
        || fail "round $round: handler 1 installed nothing ($(n_flows br0))"
    [ "$(captured br0 p3)" -ge 1 ] || fail "round $round: p3 got nothing"
    ctl inject --flow "$(udp 3 $DST $SRC 1000 53)" br0 p3 >/dev/null
    flows=$((flows + 1))
    wait_for flows_at_least $flows \
        || fail "round $round: no reply flow ($(n_flows br0))"
    [ "$(captured br0 p1)" -ge 1 ] || fail "round $round: p1 got nothing"
    for cmd in fdb/show fdb/flush; do
        t0=$(now_ms)
        timeout 10 "$DPIFCTL" --socket "$DIR/run/dpifd.ctl" $cmd br0 \
            >/dev/null || fail "round $round: $cmd failed"
        t=$(($(now_ms) - t0))
        [ $t -lt 1000 ] || fail "round $round: $cmd took $t ms"
    done
    kill -0 "$PID" || fail "privd died"
    sleep 0.1
done
[ "$(proc_pid handler 1)" = "$H1" ] \
    || fail "handler 1 restarted: $(procs_list)"
procs_list | awk '$1 == "handler" && $2 == 1 && $5 == "running" { ok = 1 }
                  END { exit !ok }' || fail "handler 1: $(procs_list)"
[ -n "$(counter mac_table_slot_invalid)" ] \
    || fail "no process counted an invalid slot"
dpifd_stop

# ----- 4. a handler learns a storm of MACs ------------------------------------

# Handler 0 learns a new address every millisecond, so the table's change
# count never rests: privd starts a cycle for MAC changes at most every
# DUMP_PUMP_MAC_MIN_INTERVAL_MSEC (100 ms), so 2 s hold at most 20 of those
# plus the periodic ones (before: a cycle after every cycle).
echo macstorm >"$BIN/evil-mode"
dpifd_start 3 --datapath dummy@br0 --port p1:dummy --port p2:dummy \
    --handlers 2 --revalidators 1
storming() { grep -q "learning a MAC storm" "$DIR/log"; }
wait_for storming || fail "the evil handler did not start its MAC storm"
sleep 0.5
d0=$(counter dump_pump_dumps)
sleep 2
d1=$(counter dump_pump_dumps)
echo "macstorm: $((d1 - d0)) dump cycles in 2 s;" \
     "MAC changes seen: $(counter dump_pump_mac_changes)"
[ "$(counter dump_pump_mac_changes)" -gt 0 ] \
    || fail "privd saw no MAC change"
[ $((d1 - d0)) -le 26 ] \
    || fail "the MAC storm drove $((d1 - d0)) dump cycles in 2 s"
kill -0 "$PID" || fail "privd died"
dpifd_stop
DPIFD=$REAL_DPIFD
echo PASS
