#!/bin/sh
# test_handler_dpifd — upcall handling and the forwarding policy of the
# real dpifd (privd, spawner, dpif-handlerd, dpif-revald; as root with the
# privilege drop) on dummy datapaths, driven with dpifctl only:
#
#   1. L2 (no rules, "normal"): the first packet A->B floods (every other
#      port, the local port included), the reply B->A is unicast to p1,
#      and the revalidator then turns the A->B flow into a unicast to p2
#      (learning B changed its translation); both directions' megaflows
#      have their keys AND masks checked on "dump-flows --more" (in_port
#      and both Ethernet addresses exact, eth_type and every L3/L4 field
#      wildcarded); repeated packets (other
#      L4 ports too) hit the datapath: "hit" rises by their number,
#      "missed" and the flow count do not.
#   2. Bad upcalls: a flow added by hand whose USERSPACE action carries a
#      cookie of the wrong size sends its packets up as action upcalls that
#      are counted (upcall_bad_cookie, exactly the packets the flow took),
#      install nothing and forward nothing.
#   2b. Megaflows disabled (upcall/disable-megaflows): new flows are exact
#      matches, one per distinct packet header, with no wildcarded field.
#   3. Rules: a rules file (--rules) reaches the handler; rules/replace at
#      run time adds a priority-100 rule "udp,tp_dst=80,actions=drop" that
#      puts tp_dst into the mask of a flow it did not match (dst=22:
#      normal), and the flow it matched drops; a bad table is refused with
#      its line and the previous one stays (in force and in the saved
#      rules file); mod_vlan_vid and strip_vlan
#      rules produce exactly the expected frames at the capture ring (the
#      injected frame with an 802.1Q tag of VID 10 inserted, and a tagged
#      frame with its tag removed).
#   4. The flow limit: with --flow-limit 1000 (the smallest allowed;
#      reported by "metrics"), 1200 distinct flows leave at most 1000 in
#      the datapath, the rest counted (upcall_flow_limit_hit), every packet
#      still forwarded (p2's tx_packets).
#   5. Two handlers: upcalls from four ports are served by both (per-
#      process counters: handler0 and handler1 each received upcalls);
#      kill -9 of a handler that was stopped with upcalls in its ring: the
#      upcalls still in its ring are counted as lost
#      (supervisor_upcalls_lost_in_flight, exactly what was injected on its
#      ports meanwhile), the other handler served its ports all along, and
#      the restarted handler serves again.
#
# Not here: an upcall from a port the handler does not know (gets an
# exact-match drop flow).  With the real dpifd, add-if sends the new port
# list to every worker before it answers, so no upcall can come from a port
# the handlers do not know; tests/unit/test_handler_upcall.c
# (unknown_port_gets_exact_drop_flow) covers the handler's side.
#
# Usage: test_handler_dpifd.sh DPIFD DPIFCTL
set -eu

DPIFD=$1
DPIFCTL=$2
. "$(dirname "$0")/dpifd-lib.sh"

A=02:00:00:00:00:0a
B=02:00:00:00:00:0b
PORTS="--port p1:dummy --port p2:dummy --port p3:dummy --port p4:dummy"
# A UDP frame 02:..:01 -> 02:..:02, 10.0.0.1:1025 -> 10.0.0.2:53, "abcd":
# its Ethernet addresses, and everything after the Ethertype.
ETH=020000000002020000000001
IP_UDP=4500002000004000401126cb0a0000010a00000204010035000c22d761626364

# udp IN_PORT SRC DST SPORT DPORT: a UDP flow for "inject --flow".
udp() {
    echo "in_port($1),eth(src=$2,dst=$3),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64),udp(src=$4,dst=$5)"
}
flows_are() { [ "$(n_flows br0)" = "$1" ]; }
clear_captures() {
    for p in p1 p2 p3 p4; do ctl capture --clear br0 $p >/dev/null; done
}

# ----- 1. L2 --------------------------------------------------------------------

dpifd_start 2 --datapath dummy@br0 $PORTS --handlers 1 --revalidators 1

ctl inject --flow "$(udp 1 $A $B 1000 53)" br0 p1 >/dev/null
wait_for flows_are 1 || fail "no flow for A->B"
for p in p2 p3 p4; do
    [ "$(captured br0 $p)" = 1 ] || fail "A->B not flooded to $p"
done
[ "$(captured br0 p1)" = 0 ] || fail "A->B sent back to p1"

ctl inject --flow "$(udp 2 $B $A 1000 53)" br0 p2 >/dev/null
wait_for flows_are 2 || fail "no flow for B->A"
[ "$(captured br0 p1)" = 1 ] || fail "B->A not sent to p1"
for p in p2 p3 p4; do
    [ "$(captured br0 $p)" = 0 ] || fail "B->A flooded to $p"
done

# Learning B is a MAC table change: the revalidator re-translates A->B,
# which now unicasts to p2.  Wait for that before looking at the flows.
revalidated() {
    ctl dump-flows br0 | grep -q "^in_port(1),.*actions:2$"
}
wait_for revalidated || fail "A->B not revalidated: $(ctl dump-flows br0)"

# Keys and masks: --more prints every field, masked ones as VALUE/MASK.
L3L4='eth_type(0x0800/0x0000),ipv4(src=10.0.0.1/0.0.0.0,dst=10.0.0.2/0.0.0.0,proto=17/0,tos=0/0,ttl=64/0),udp(src=1000/0,dst=53/0)'
DUMP=$(ctl dump-flows --more br0)
echo "$DUMP" | grep -q -F "skb_priority(0/0),skb_mark(0/0),recirc_id(0/0),in_port(1),eth(src=$A,dst=$B),$L3L4, packets:0, bytes:0, used:never, actions:2" \
    || fail "A->B flow (key/mask/actions): $DUMP"
echo "$DUMP" | grep -q -F "skb_priority(0/0),skb_mark(0/0),recirc_id(0/0),in_port(2),eth(src=$B,dst=$A),$L3L4, packets:0, bytes:0, used:never, actions:1" \
    || fail "B->A flow (key/mask/actions): $DUMP"

# Repeats, from other source and destination ports too, hit the megaflows.
HIT=$(lookup_stat br0 hit)
MISSED=$(lookup_stat br0 missed)
for p in 1001 1002 1003 1004 1005; do
    ctl inject --flow "$(udp 1 $A $B $p 80)" br0 p1 >/dev/null
done
ctl inject --flow "$(udp 2 $B $A 7 7)" br0 p2 >/dev/null
[ "$(lookup_stat br0 hit)" = $((HIT + 6)) ] \
    || fail "hit $(lookup_stat br0 hit), was $HIT"
[ "$(lookup_stat br0 missed)" = "$MISSED" ] \
    || fail "missed rose: $(lookup_stat br0 missed)"
flows_are 2 || fail "repeats installed flows"
[ "$(captured br0 p2)" = 5 ] || fail "repeats A->B not all on p2"
[ "$(captured br0 p1)" = 1 ] || fail "repeat B->A not on p1"
ctl dump-flows br0 | grep -q "^in_port(1),.*packets:5, bytes:" \
    || fail "A->B flow stats: $(ctl dump-flows br0)"
clear_captures

# ----- 2. bad upcalls ---------------------------------------------------------

# pid=1 is the handler's channel; a cookie must be an xlate cookie.  The
# revalidator deletes the hand-added flow at its next dump (it did not
# install it, as Open vSwitch deletes flows it does not know), so each try
# re-adds it and sends three frames from a new source MAC at once: those
# that hit it are bad upcalls, any that miss (the flow just went) get a
# "normal" flow to p2, where B was learned.
tries=0 hits=0 misses=0 miss_tries=0
while [ $hits = 0 ] && [ $tries -lt 5 ]; do
    tries=$((tries + 1))
    ctl add-flow br0 "in_port(3),eth_type(0x0800)" \
        "userspace(pid=1,userdata(01020304))" >/dev/null 2>&1 || true
    FRAME=02000000000b0200000003$(printf %02x $tries)0800$IP_UDP
    H0=$(lookup_stat br0 hit)
    ctl inject br0 p3 $FRAME $FRAME $FRAME >/dev/null
    h=$(($(lookup_stat br0 hit) - H0))
    hits=$((hits + h))
    misses=$((misses + 3 - h))
    [ $h = 3 ] || miss_tries=$((miss_tries + 1))
done
[ $hits -ge 1 ] || fail "the USERSPACE flow never took a packet"
bad_cookies() { [ "$(counter upcall_bad_cookie)" = $hits ]; }
wait_for bad_cookies \
    || fail "upcall_bad_cookie $(counter upcall_bad_cookie), want $hits"
# Bad upcalls install nothing and forward nothing.
puts() { [ "$(counter upcall_put_ok)" = $((2 + miss_tries)) ]; }
wait_for puts || fail "upcall_put_ok $(counter upcall_put_ok)," \
                      "want $((2 + miss_tries))"
p2_misses() { [ "$(ctl capture br0 p2 | grep -c .)" = $misses ]; }
wait_for p2_misses || fail "p2 got $(ctl capture br0 p2 | grep -c .)," \
                           "want $misses"
for p in p1 p4; do
    [ "$(captured br0 $p)" = 0 ] || fail "a bad upcall was forwarded to $p"
done
for c in upcall_bad_type upcall_flow_limit_hit upcall_unknown_port \
         upcall_put_ok upcall_put_exists handler_upcalls_lost \
         supervisor_upcalls_lost_in_flight; do
    [ -n "$(counter $c)" ] || fail "counter $c not reported"
done

# ----- 2b. megaflows disabled --------------------------------------------------

# Every new flow is an exact match: two packets that differ only in the UDP
# source port (which "normal" never consults) get two flows, each with no
# wildcarded field.
ctl upcall/disable-megaflows >/dev/null || fail "upcall/disable-megaflows"
C=02:00:00:00:00:0c
ctl inject --flow "$(udp 4 $C $B 1 53)" br0 p4 >/dev/null
ctl inject --flow "$(udp 4 $C $B 2 53)" br0 p4 >/dev/null
exact_flows() { [ "$(ctl dump-flows br0 | grep -c 'in_port(4),eth(')" = 2 ]; }
wait_for exact_flows || fail "megaflows off: $(ctl dump-flows br0)"
for sport in 1 2; do
    LINE=$(ctl dump-flows --more br0 | grep -F "in_port(4),eth(src=$C,dst=$B)" \
           | grep -F "udp(src=$sport,dst=53)")
    [ -n "$LINE" ] || fail "megaflows off: no exact flow for port $sport"
    # No field has a mask: the key part (before the stats) has no "/".
    KEY=${LINE%%, packets:*}
    case ${KEY#ufid:*, } in
    */*) fail "megaflows off: a masked field in $KEY" ;;
    esac
done
ctl upcall/enable-megaflows >/dev/null || fail "upcall/enable-megaflows"
dpifd_stop

# ----- 3. rules: tp_dst in the mask, VLAN tagging and stripping ------------

# The VLAN rules come from the rules file at start; the tp_dst rule is
# added at run time with rules/replace, which every handler gets as a new
# policy generation.  privd saves a replaced table to the rules file (a
# temporary file renamed over it): the directory must be privd's after its
# drop to "dpifd".
mkdir "$DIR/rules.d"
[ "$(id -u)" != 0 ] || chown dpifd "$DIR/rules.d"
cat >"$DIR/rules.d/br0.rules" <<EOF
priority=50,in_port=3,actions=mod_vlan_vid:10,output:4
priority=50,in_port=4,actions=strip_vlan,output:3
EOF
dpifd_start 2 --datapath dummy@br0 $PORTS --rules "$DIR/rules.d/br0.rules" \
            --handlers 1 --revalidators 1
grep -q "handler|handler|info|policy generation [0-9]*: 2 rules" "$DIR/log" \
    || fail "the rules file did not reach the handler"
{ echo "priority=100,udp,tp_dst=80,actions=drop"
  cat "$DIR/rules.d/br0.rules"; } \
    >"$DIR/all.rules"
ctl rules/replace br0 "$DIR/all.rules" >/dev/null || fail "rules/replace"
three_rules() {
    grep -q "handler|handler|info|policy generation [0-9]*: 3 rules" \
        "$DIR/log"
}
wait_for three_rules || fail "the new rules did not reach the handler"
# A bad table is refused with its line; the previous one stays.
printf 'priority=1,actions=drop\npriority=x,actions=drop\n' >"$DIR/bad.rules"
if ctl rules/replace br0 "$DIR/bad.rules" >"$DIR/out" 2>&1; then
    fail "a bad rule table was accepted"
fi
grep -q ":2:" "$DIR/out" || fail "bad rules: no line number: $(cat "$DIR/out")"
[ "$(ctl -f json rules/show br0 | grep -c 'priority=')" = 3 ] \
    || fail "rules after a bad table: $(ctl rules/show br0)"
# The table in force is the one saved.
grep -q "tp_dst=80" "$DIR/rules.d/br0.rules" \
    && ! grep -q "priority=x" "$DIR/rules.d/br0.rules" \
    || fail "saved rules: $(cat "$DIR/rules.d/br0.rules")"

ctl inject --flow "$(udp 1 $A $B 1000 22)" br0 p1 >/dev/null
ctl inject --flow "$(udp 1 $A $B 1000 80)" br0 p1 >/dev/null
wait_for flows_are 2 || fail "rules: not 2 flows: $(ctl dump-flows br0)"
DUMP=$(ctl dump-flows --more br0)
# Port 22: translated by "normal" after the tp_dst rule was examined, so
# the mask has nw_proto and tp_dst (exact), the rest of L3/L4 wildcarded.
echo "$DUMP" | grep -q -F "in_port(1),eth(src=$A,dst=$B),eth_type(0x0800),ipv4(src=10.0.0.1/0.0.0.0,dst=10.0.0.2/0.0.0.0,proto=17,tos=0/0,ttl=64/0),udp(src=1000/0,dst=22), packets:0, bytes:0, used:never, actions:0,2,3,4" \
    || fail "dst=22 flow: $DUMP"
# Port 80: dropped by the rule, which looks at nothing else.
echo "$DUMP" | grep -q -F "in_port(1/0),eth(src=$A/00:00:00:00:00:00,dst=$B/00:00:00:00:00:00),eth_type(0x0800),ipv4(src=10.0.0.1/0.0.0.0,dst=10.0.0.2/0.0.0.0,proto=17,tos=0/0,ttl=64/0),udp(src=1000/0,dst=80), packets:0, bytes:0, used:never, actions:drop" \
    || fail "dst=80 flow: $DUMP"
clear_captures

ctl inject br0 p3 "${ETH}0800$IP_UDP" >/dev/null
ctl inject br0 p4 "${ETH}810000140800$IP_UDP" >/dev/null
wait_for flows_are 4 || fail "VLAN: not 4 flows: $(ctl dump-flows br0)"
TAGGED=$(capture_hex br0 p4)
[ "$TAGGED" = "${ETH}8100000a0800$IP_UDP" ] \
    || fail "mod_vlan_vid:10 sent '$TAGGED'"
STRIPPED=$(capture_hex br0 p3)
[ "$STRIPPED" = "${ETH}0800$IP_UDP" ] || fail "strip_vlan sent '$STRIPPED'"
for p in p1 p2; do
    [ "$(captured br0 $p)" = 0 ] || fail "VLAN rules: a frame on $p"
done
dpifd_stop

# ----- 4. the flow limit ----------------------------------------------------------

dpifd_start 2 --datapath dummy@br0 $PORTS --flow-limit 1000 \
            --handlers 1 --revalidators 1
ctl metrics | grep -q "^dpifd_flow_limit 1000$" \
    || fail "metrics: $(ctl metrics | grep flow_limit)"
# tx_packets PORT_NAME: the port's transmit counter from "show".
tx_packets() { ctl show br0 | awk -v p="$1" '$2 == p { print $8 }'; }
# 1200 distinct flows (destination MACs 02:00:00:0a:HH:LL), in chunks of
# 200 frames (a port queues at most 512 upcalls), each chunk forwarded
# before the next.
sent=0
for chunk in 0 1 2 3 4 5; do
    frames=
    i=0
    while [ $i -lt 200 ]; do
        frames="$frames $(printf '020000a%03x%02x' $chunk $i)${ETH#020000000002}0800$IP_UDP"
        i=$((i + 1))
    done
    ctl inject br0 p1 $frames >/dev/null
    sent=$((sent + 200))
    forwarded() { [ "$(tx_packets p2)" = "$sent" ]; }
    wait_for forwarded || fail "flow limit: $(tx_packets p2) of $sent forwarded"
done
[ "$(n_flows br0)" -le 1000 ] && [ "$(n_flows br0)" -ge 900 ] \
    || fail "flow limit 1000: $(n_flows br0) flows"
limit_hits() { [ "$(counter upcall_flow_limit_hit)" -ge 200 ]; }
wait_for limit_hits || fail "upcall_flow_limit_hit $(counter upcall_flow_limit_hit)"
dpifd_stop

# ----- 5. two handlers ----------------------------------------------------------

dpifd_start 3 --datapath dummy@br0 $PORTS --handlers 2 --revalidators 1

# handler_received PROCESS: upcalls that handler reported receiving.
handler_received() {
    ctl counters --per-process \
        | awk -v p="$1" '$1 == "handler_upcalls_received" && $2 == p \
                         { print $3 }'
}
# Ports go to handler port_no % 2: p1, p3 -> handler1; p2, p4 -> handler0.
n=0
for port in 1 2 3 4; do
    for h in 1 2 3 4 5; do
        n=$((n + 1))
        ctl inject --flow "$(udp $port 02:00:00:00:0$port:0$h $B 1000 53)" \
            br0 p$port >/dev/null
    done
done
all_flows() { [ "$(n_flows br0)" = 20 ]; }
wait_for all_flows || fail "two handlers: $(n_flows br0) flows, want 20"
both_reported() {
    [ "$(handler_received handler0)" = 10 ] \
        && [ "$(handler_received handler1)" = 10 ]
}
wait_for both_reported \
    || fail "upcalls per handler: handler0 $(handler_received handler0)," \
            "handler1 $(handler_received handler1)"

# Stop handler1, queue upcalls in its ring, kill it.
H1=$(proc_pid handler 1)
kill -STOP "$H1"
clear_captures
LOST=$(counter supervisor_upcalls_lost_in_flight)
for h in 1 2 3 4 5 6 7; do
    ctl inject --flow "$(udp 1 02:00:00:00:01:1$h $B 1000 53)" br0 p1 >/dev/null
    ctl inject --flow "$(udp 3 02:00:00:00:03:1$h $B 1000 53)" br0 p3 >/dev/null
done
# Meanwhile handler0 serves p2 and p4.
ctl inject --flow "$(udp 2 02:00:00:00:02:11 $B 1000 53)" br0 p2 >/dev/null
ctl inject --flow "$(udp 4 02:00:00:00:04:11 $B 1000 53)" br0 p4 >/dev/null
wait_for flows_are 22 || fail "handler0 stopped with handler1: $(n_flows br0)"
[ "$(lookup_stat br0 missed)" -ge 36 ] || fail "missed $(lookup_stat br0 missed)"
kill -9 "$H1"
kill -CONT "$H1" 2>/dev/null || true
lost14() { [ "$(counter supervisor_upcalls_lost_in_flight)" = $((LOST + 14)) ]; }
wait_for lost14 || fail "supervisor_upcalls_lost_in_flight" \
    "$(counter supervisor_upcalls_lost_in_flight), want $((LOST + 14))"
grep -q "handler 1 (pid $H1): 14 upcalls were still in its ring: lost" \
    "$DIR/log" || fail "the loss is not logged"
# Nothing from the stopped handler was installed or forwarded.
flows_are 22 || fail "lost upcalls installed flows: $(n_flows br0)"
respawned() {
    procs_list | awk -v old="$H1" '$1 == "handler" && $2 == 1 && $3 != old \
        && $3 > 0 && $5 == "running" && $6 == 1 { ok = 1 } END { exit !ok }'
}
wait_for respawned || fail "handler 1 not respawned: $(ctl procs)"
# The new handler1 serves p1 and p3 again.
wait_for _workers_running 3 || fail "workers down after the kill"
ctl inject --flow "$(udp 1 02:00:00:00:01:21 $B 1000 53)" br0 p1 >/dev/null
ctl inject --flow "$(udp 3 02:00:00:00:03:21 $B 1000 53)" br0 p3 >/dev/null
wait_for flows_are 24 || fail "restarted handler1: $(n_flows br0) flows"
dpifd_stop
echo PASS
