#!/bin/sh
# test_handler_dpifd — the real dpifd (privd, spawner, dpif-handlerd,
# dpif-revald) on a dummy datapath, driven with dpifctl only:
#
#   - the first packet A->B floods, the reply B->A is unicast, and both
#     directions get megaflows whose keys and masks are checked on the
#     dump-flows text (in_port and Ethernet addresses, no L3/L4 fields);
#   - repeated packets hit the datapath: "hit" rises, "missed" does not;
#   - an action upcall with a malformed cookie is counted
#     (upcall_bad_cookie) and the flow that sends it stays the only one;
#   - every handler counter the spec names is reported through
#     "dpifctl counters".
#
# Usage: test_handler_dpifd.sh DPIFD DPIFCTL
set -eu

DPIFD=$1
DPIFCTL=$2
DIR=$(mktemp -d /tmp/test-handler-dpifd.XXXXXX)
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi
    sleep 0.3
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL: $*" >&2
    echo "--- dpifd log:" >&2
    tail -30 "$DIR/log" >&2 || true
    exit 1
}

ctl() { "$DPIFCTL" --socket "$DIR/dpifd.ctl" "$@"; }

# Waits up to 10 s for "$@" to succeed.
wait_for() {
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt 100 ] || return 1
        sleep 0.1
    done
}

n_flows() { ctl show br0 | sed -n 's/^ *flows: *//p'; }
stat() { ctl show br0 | sed -n "s/.*lookups:.*$1:\([0-9]*\).*/\1/p"; }
counter() { ctl counters | awk -v n="$1" '$1 == n { print $2 }'; }
flows_are() { [ "$(n_flows)" = "$1" ]; }
workers_up() { [ "$(ctl procs | grep -c -E 'handler|revalidator')" -ge 2 ] \
               && grep -q "policy generation" "$DIR/log"; }
captured() { ctl capture --clear br0 "$1" | grep -c . || true; }

"$DPIFD" --datapath dummy@br0 --port p1:dummy --port p2:dummy \
         --port p3:dummy --run-dir "$DIR" --handlers 1 --revalidators 1 \
         >"$DIR/log" 2>&1 &
PID=$!
wait_for ctl show br0 || fail "dpifd did not answer"
wait_for workers_up || fail "workers did not start"

A=02:00:00:00:00:0a
B=02:00:00:00:00:0b
udp() { # in_port src dst sport
    echo "in_port($1),eth(src=$2,dst=$3),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64),udp(src=$4,dst=53)"
}

# A -> B floods.
ctl inject --flow "$(udp 1 $A $B 1000)" br0 p1 >/dev/null
wait_for flows_are 1 || fail "no flow for A->B"
[ "$(captured p2)" = 1 ] || fail "A->B not flooded to p2"
[ "$(captured p3)" = 1 ] || fail "A->B not flooded to p3"
[ "$(captured p1)" = 0 ] || fail "A->B sent back to p1"

# B -> A is unicast to p1, where A was learned.
ctl inject --flow "$(udp 2 $B $A 1000)" br0 p2 >/dev/null
wait_for flows_are 2 || fail "no flow for B->A"
[ "$(captured p1)" = 1 ] || fail "B->A not sent to p1"
[ "$(captured p3)" = 0 ] || fail "B->A flooded"

DUMP=$(ctl dump-flows br0)
echo "$DUMP" | grep -q "^in_port(1),eth(src=$A,dst=$B),.*actions:0,2,3$" \
    || fail "A->B flow: $DUMP"
echo "$DUMP" | grep -q "^in_port(2),eth(src=$B,dst=$A),.*actions:1$" \
    || fail "B->A flow: $DUMP"
echo "$DUMP" | grep -q "ipv4\|udp(" && fail "L3/L4 in the masks: $DUMP"

# Repeats (other source ports too) hit the megaflows.
HIT=$(stat hit)
MISSED=$(stat missed)
for p in 1001 1002 1003 1004 1005; do
    ctl inject --flow "$(udp 1 $A $B $p)" br0 p1 >/dev/null
done
sleep 0.3
[ "$(stat hit)" = $((HIT + 5)) ] || fail "hit $(stat hit), was $HIT"
[ "$(stat missed)" = "$MISSED" ] || fail "missed rose: $(stat missed)"
flows_are 2 || fail "repeats installed flows"

# A flow whose USERSPACE action carries a cookie of the wrong size.
ctl add-flow br0 "in_port(3),eth_type(0x0800)" \
    "userspace(pid=1,userdata(01020304))" >/dev/null
for p in 1 2 3; do
    ctl inject --flow "$(udp 3 $A $B $p)" br0 p3 >/dev/null
done
bad_cookies() { [ "$(counter upcall_bad_cookie)" = 3 ]; }
wait_for bad_cookies || fail "upcall_bad_cookie $(counter upcall_bad_cookie)"
# The revalidator may already have deleted the hand-added flow (its mask
# does not cover what "normal" consults, so revalidation removes it, as
# Open vSwitch removes flows it did not install): at most 3 flows.
[ "$(n_flows)" -le 3 ] || fail "a bad upcall installed a flow"

for c in upcall_bad_type upcall_flow_limit_hit upcall_unknown_port \
         upcall_put_ok upcall_put_exists handler_upcalls_lost; do
    [ -n "$(counter $c)" ] || fail "counter $c not reported"
done
[ "$(counter upcall_put_ok)" -ge 2 ] || fail "upcall_put_ok"
echo "PASS"
