#!/bin/sh
# test_revalidator_dpifd — the revalidation cycle of the real dpifd
# (privd, spawner, dpif-handlerd, 2 dpif-revald) on a dummy datapath,
# driven with dpifctl only.  One scenario per run (each its own ctest
# test, each well under a minute):
#
#   idle       --max-idle 500: an idle flow goes within max_idle plus one
#              cycle, an active one stays; after a purge its rule's
#              counters equal the datapath hits exactly (metrics and
#              rules/show).
#   kill       kill -9 of every revalidator: no flow lost, the shards are
#              adopted, the rule counters still equal the hits exactly.
#   mac        a MAC move fixes the flows toward that MAC and leaves the
#              others (and their stats) alone.
#   rules      a rule change (rules/replace, else rules file + SIGHUP)
#              removes or fixes the flows of the changed rule only.
#   limit      slow dumps (DPIFD_TEST_DUMP_DELAY_MS=1500,3) shrink the flow
#              limit, fast dumps of > 2000 flows grow it back; above twice
#              the limit (upcall/set-flow-limit 1000) every flow goes.
#   wait       revalidator/wait answers after a cycle that started after
#              it; a client that hangs up cancels its parked request; at
#              most CONTROL_MAX_PARKED (8) requests are parked.
#   megaflows  disable-megaflows purges and gives exact-match flows;
#              enable-megaflows purges again.
#   adopt      a flow added by hand is adopted and kept; del-flows leaves
#              no ukey; upcall/show text and JSON.
#   exit       keep-flows-on-exit = no: SIGTERM purges every flow through
#              the revalidators.
#
# Usage: test_revalidator_dpifd.sh DPIFD DPIFCTL SCENARIO
set -eu

DPIFD=$1
DPIFCTL=$2
SCENARIO=$3
DIR=$(mktemp -d /tmp/test-reval-dpifd.XXXXXX)
# privd reads the rules and config files after dropping root.
chmod 755 "$DIR"
PID=
cleanup() {
    if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; fi
    sleep 0.3
    rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

fail() {
    echo "FAIL ($SCENARIO): $*" >&2
    echo "--- dpifd log:" >&2
    tail -40 "$DIR/log" >&2 || true
    exit 1
}

ctl() { "$DPIFCTL" --socket "$DIR/dpifd.ctl" "$@"; }

# Waits up to 20 s (wait_for_tenths N: N/10 s) for "$@" to succeed.
wait_for_tenths() {
    n=$1
    shift
    i=0
    until "$@" >/dev/null 2>&1; do
        i=$((i + 1))
        [ $i -lt "$n" ] || return 1
        sleep 0.1
    done
}
wait_for() { wait_for_tenths 200 "$@"; }

n_flows() { ctl show br0 | sed -n 's/^ *flows: *//p'; }
flows_are() { [ "$(n_flows)" = "$1" ]; }
stat() { ctl show br0 | sed -n "s/.*lookups:.*$1:\([0-9]*\).*/\1/p"; }
counter() {
    ctl counters | awk -v n="$1" '{ k = $1; sub(/^[a-z]+\//, "", k) }
                                  k == n { s += $2; f = 1 }
                                  END { if (f) print s }'
}
metric() { # NAME LABELS -> value, or 0
    v=$(ctl metrics | awk -v k="$1{$2}" '$1 == k { print $2 }')
    echo "${v:-0}"
}
rule_packets() { metric dpifd_rule_packets_total "dp=\"br0\",rule=\"$1\""; }
rule_bytes() { metric dpifd_rule_bytes_total "dp=\"br0\",rule=\"$1\""; }
limit() { ctl upcall/show | sed -n 's/.*(limit \([0-9]*\)).*/\1/p'; }
reval_pids() {
    ctl --format json procs | python3 -c '
import json, sys
for p in json.load(sys.stdin)["processes"]:
    if p["role"] == "revalidator" and p["state"] == "running":
        print(p["pid"])'
}
workers_up() { [ "$(reval_pids | grep -c .)" = 2 ] \
               && ctl procs | grep -q '^handler .* running' \
               && grep -q "policy generation" "$DIR/log"; }
captured() { ctl capture --clear br0 "$1" | grep -c . || true; }

# Starts dpifd with extra options "$@" (after the datapath's), with
# $DELAY as DPIFD_TEST_DUMP_DELAY_MS if set.
DELAY=
start() {
    env ${DELAY:+DPIFD_TEST_DUMP_DELAY_MS=$DELAY} "$DPIFD" --datapath dummy@br0 --port p1:dummy --port p2:dummy \
             --port p3:dummy "$@" --run-dir "$DIR" --handlers 1 \
             --revalidators 2 >"$DIR/log" 2>&1 &
    PID=$!
    wait_for ctl show br0 || fail "dpifd did not answer"
    wait_for workers_up || fail "workers did not start"
    ctl revalidator/wait >/dev/null || fail "revalidator/wait"
}

A=02000000000a
B=02000000000b
C=02000000000c
PAD=$(printf '00%.0s' $(seq 46))
# An experimental-ethertype frame DST SRC (hex MACs) of 60 bytes.
frame() { echo "$1$2"88b5"$PAD"; }
mac() { echo "$1" | sed 's/\(..\)\(..\)\(..\)\(..\)\(..\)\(..\)/\1:\2:\3:\4:\5:\6/'; }
send() { # PORT DST SRC [COUNT]
    n=${4:-1}
    set -- "$1" "$(frame "$2" "$3")" "$n"
    f=$2
    while [ "$3" -gt 1 ]; do f="$f $2"; set -- "$1" "$2" $(($3 - 1)); done
    # shellcheck disable=SC2086
    ctl inject br0 "$1" $f >/dev/null
}
flow_to() { ctl dump-flows br0 | grep "dst=$(mac "$1")" | grep "src=$(mac "$2")" || true; }
has_flow() { [ -n "$(flow_to "$1" "$2")" ]; }
no_flow() { [ -z "$(flow_to "$1" "$2")" ]; }

RULES="priority=100,dl_type=0x88b5,actions=normal"

# A on p1 and B on p2 learned, one flow each way (rule 1).
two_flows() {
    send p1 "$B" "$A"
    wait_for has_flow "$B" "$A" || fail "no flow A->B"
    send p2 "$A" "$B"
    wait_for has_flow "$A" "$B" || fail "no flow B->A"
}

# The rule counters equal the datapath's hits once every flow is purged.
check_exactly_once() {
    hits=$(stat hit)
    ctl revalidator/purge >/dev/null || fail "revalidator/purge"
    flows_are 0 || fail "purge left $(n_flows) flows"
    [ "$(rule_packets 1)" = "$hits" ] \
        || fail "rule 1 credited $(rule_packets 1) packets, hits $hits"
    [ "$(rule_bytes 1)" = $((hits * 60)) ] \
        || fail "rule 1 credited $(rule_bytes 1) bytes for $hits hits"
    ctl rules/show br0 | grep -q "^ *n_packets=$hits,n_bytes=$((hits * 60)),.*dl_type=0x88b5" \
        || fail "rules/show counters for $hits hits: $(ctl rules/show br0)"
}

scenario_idle() {
    echo "$RULES" >"$DIR/rules"
    start --rules "$DIR/rules" --max-idle 500
    two_flows
    gone=
    i=0
    while [ $i -lt 15 ]; do
        send p2 "$A" "$B"
        sleep 0.2
        i=$((i + 1))
        if [ -z "$gone" ] && no_flow "$B" "$A"; then gone=$i; fi
    done
    [ -n "$gone" ] || fail "idle flow A->B still there after 3 s"
    # 500 ms idle + one cycle (500 ms) + a margin: 10 rounds of 200 ms.
    [ "$gone" -le 10 ] || fail "idle flow A->B went only after $gone rounds"
    has_flow "$A" "$B" || fail "active flow B->A expired"
    [ "$(rule_packets 1)" -le "$(stat hit)" ] || fail "over-counted"
    check_exactly_once
}

scenario_kill() {
    echo "$RULES" >"$DIR/rules"
    start --rules "$DIR/rules"
    two_flows
    send p1 "$B" "$A" 5
    send p2 "$A" "$B" 5
    ctl revalidator/wait >/dev/null
    ctl revalidator/wait >/dev/null
    old=$(reval_pids | tr '\n' ' ')
    for p in $old; do kill -9 "$p"; done
    respawned() { [ "$(reval_pids | tr '\n' ' ')" != "$old" ] \
                  && [ "$(reval_pids | grep -c .)" = 2 ]; }
    wait_for respawned || fail "revalidators not respawned ($old)"
    flows_are 2 || fail "flows lost: $(n_flows)"
    ctl revalidator/wait >/dev/null
    ctl revalidator/wait >/dev/null
    flows_are 2 || fail "flows lost after adoption: $(n_flows)"
    # Fresh reports from the new revalidators: 2 flows adopted in all.
    adopted() { ctl upcall/show >/dev/null
                [ "$(counter ukey_created_adopted)" = 2 ]; }
    wait_for adopted \
        || fail "ukey_created_adopted $(counter ukey_created_adopted)"
    send p1 "$B" "$A" 5
    send p2 "$A" "$B" 5
    check_exactly_once
}

scenario_mac() {
    start
    two_flows
    send p1 "$B" "$C"
    wait_for has_flow "$B" "$C" || fail "no flow C->B"
    send p2 "$C" "$B"
    wait_for has_flow "$C" "$B" || fail "no flow B->C"
    send p2 "$C" "$B" 3
    ctl revalidator/wait >/dev/null
    flow_to "$A" "$B" | grep -q 'actions:1$' || fail "B->A: $(flow_to "$A" "$B")"
    # A moves to p3.
    send p3 "$B" "$A"
    moved() { flow_to "$A" "$B" | grep -q 'actions:1$' && return 1; return 0; }
    wait_for moved || fail "B->A not fixed: $(flow_to "$A" "$B")"
    ctl revalidator/wait >/dev/null
    flow_to "$C" "$B" | grep -q 'packets:3,.*actions:1$' \
        || fail "B->C touched: $(flow_to "$C" "$B")"
    captured p1 >/dev/null
    captured p3 >/dev/null
    send p2 "$A" "$B"
    [ "$(captured p3)" = 1 ] || fail "B->A not delivered to p3"
    [ "$(captured p1)" = 0 ] || fail "B->A still delivered to p1"
}

scenario_rules() {
    printf '%s\n%s\n' \
        "priority=200,dl_type=0x88b5,dl_dst=$(mac "$B"),actions=normal" \
        "priority=100,dl_type=0x88b5,actions=normal" >"$DIR/rules"
    start --rules "$DIR/rules"
    two_flows
    send p2 "$A" "$B" 3
    ctl revalidator/wait >/dev/null
    printf '%s\n%s\n' \
        "priority=200,dl_type=0x88b5,dl_dst=$(mac "$B"),actions=drop" \
        "priority=100,dl_type=0x88b5,actions=normal" >"$DIR/rules.new"
    policies() { grep -c '|handler|handler|info|policy generation' "$DIR/log"; }
    n_policies=$(policies)
    if ! ctl rules/replace br0 "$DIR/rules.new" >/dev/null 2>&1; then
        cp "$DIR/rules.new" "$DIR/rules"
        kill -HUP "$PID"
    fi
    new_policy() { [ "$(policies)" -gt "$n_policies" ]; }
    if ! wait_for_tenths 50 new_policy; then
        echo "SKIP: this dpifd gives the workers no new rules (neither" \
             "rules/replace nor a reload re-reads them)"
        exit 77
    fi
    fixed() { f=$(flow_to "$B" "$A"); [ -z "$f" ] || echo "$f" | grep -q 'actions:drop$'; }
    wait_for fixed || fail "A->B kept its old actions: $(flow_to "$B" "$A")"
    ctl revalidator/wait >/dev/null
    flow_to "$A" "$B" | grep -q 'packets:3,.*actions:1$' \
        || fail "B->A touched: $(flow_to "$A" "$B")"
}

scenario_limit() {
    DELAY=1500,3
    start --max-idle 60000
    shrunk() { [ "$(limit)" -lt 10000 ]; }
    wait_for shrunk || fail "limit did not shrink: $(limit)"
    # 2112 flows: A on p1 to 2112 unknown MACs, 64 frames per inject.
    i=0
    while [ $i -lt 33 ]; do
        f=
        j=0
        while [ $j -lt 64 ]; do
            f="$f $(frame "$(printf '0200%04x%04x' $i $j)" "$A")"
            j=$((j + 1))
        done
        # shellcheck disable=SC2086
        ctl inject br0 p1 $f >/dev/null
        i=$((i + 1))
    done
    many() { [ "$(n_flows)" -ge 2100 ]; }
    wait_for many || fail "only $(n_flows) flows installed"
    low=$(limit)
    ctl upcall/show | grep -q '(limit' || fail "upcall/show"
    grew() { [ "$(limit)" -ge $((low + 2000)) ]; }
    wait_for grew || fail "limit did not grow back from $low: $(limit)"
    [ "$(n_flows)" -ge 2100 ] || fail "flows lost while growing: $(n_flows)"
    ctl upcall/set-flow-limit 1000 >/dev/null
    [ "$(limit)" = 1000 ] || fail "set-flow-limit: $(limit)"
    wait_for flows_are 0 || fail "$(n_flows) flows above twice the limit"
}

scenario_wait() {
    DELAY=800
    start
    before=$(metric dpifd_dumps_total 'dp="br0"')
    t0=$(date +%s%N)
    ctl revalidator/wait >/dev/null || fail "revalidator/wait"
    t1=$(date +%s%N)
    after=$(metric dpifd_dumps_total 'dp="br0"')
    [ "$after" -gt "$before" ] || fail "no cycle completed ($before, $after)"
    [ $(((t1 - t0) / 1000000)) -ge 700 ] \
        || fail "revalidator/wait took $(((t1 - t0) / 1000000)) ms"
    # A client that gives up cancels its parked request.
    c0=$(counter control_parked_cancelled)
    if ctl --timeout 100 revalidator/wait >/dev/null 2>&1; then
        fail "revalidator/wait within 100 ms"
    fi
    cancelled() { [ "$(counter control_parked_cancelled)" -gt "$c0" ]; }
    wait_for cancelled || fail "parked request not cancelled"
    # At most 8 parked requests.
    waiters=
    for i in 1 2 3 4 5 6 7 8; do
        ctl revalidator/wait >"$DIR/wait$i" 2>&1 &
        waiters="$waiters $!"
    done
    parked8() { [ "$(counter control_parked)" -ge 9 ] \
                && [ "$(ctl counters | grep -c .)" -gt 0 ]; }
    wait_for parked8 || fail "requests not parked"
    if out=$(ctl revalidator/wait 2>&1); then
        # The first cycle may have answered some already: only a busy
        # refusal or success is fine.
        :
    else
        echo "$out" | grep -q "wait for revalidation already" \
            || fail "9th request: $out"
    fi
    for p in $waiters; do wait "$p" || true; done
    for i in 1 2 3 4 5 6 7 8; do
        [ ! -s "$DIR/wait$i" ] || fail "parked request $i: $(cat "$DIR/wait$i")"
    done
}

scenario_megaflows() {
    start
    two_flows
    ctl upcall/disable-megaflows >/dev/null || fail "disable-megaflows"
    flows_are 0 || fail "disable-megaflows left $(n_flows) flows"
    ctl upcall/show | grep -q 'megaflows *: disabled' || fail "upcall/show"
    ctl inject --flow "in_port(2),eth(src=$(mac "$B"),dst=$(mac "$A")),eth_type(0x0800),ipv4(src=10.0.0.2,dst=10.0.0.1,proto=17,ttl=64),udp(src=7,dst=53)" br0 p2 >/dev/null
    wait_for flows_are 1 || fail "no exact-match flow"
    ctl dump-flows br0 | grep -q 'ipv4(.*udp(src=7,dst=53)' \
        || fail "not exact match: $(ctl dump-flows br0)"
    ctl upcall/enable-megaflows >/dev/null || fail "enable-megaflows"
    flows_are 0 || fail "enable-megaflows left $(n_flows) flows"
    ctl upcall/show | grep -q 'megaflows *: enabled' || fail "upcall/show"
    ctl upcall/enable-megaflows >/dev/null || fail "enable twice"
}

scenario_adopt() {
    start
    two_flows
    line=$(ctl dump-flows --more br0 | grep "dst=$(mac "$A")")
    key=$(echo "$line" | sed 's/^ufid:[^ ]* //; s/, packets:.*//')
    actions=$(echo "$line" | sed 's/.*actions://')
    ctl revalidator/purge >/dev/null
    flows_are 0 || fail "purge"
    a0=$(counter ukey_created_adopted)
    a0=${a0:-0}
    ctl add-flow br0 "$key" "$actions" >/dev/null || fail "add-flow $key"
    ctl revalidator/wait >/dev/null
    ctl revalidator/wait >/dev/null
    has_flow "$A" "$B" || fail "hand-added flow not kept"
    adopted() { ctl upcall/show >/dev/null
                [ "$(counter ukey_created_adopted)" -gt "$a0" ]; }
    wait_for adopted || fail "not adopted"
    # upcall/show: keys per revalidator add up to the flows.
    keys_are() { [ "$(ctl --format json upcall/show \
        | python3 -c 'import json,sys; d=json.load(sys.stdin)["datapaths"][0]; print(sum(r["keys"] or 0 for r in d["revalidators"]))')" = "$1" ]; }
    wait_for keys_are 1 || fail "keys: $(ctl upcall/show)"
    out=$(ctl upcall/show)
    echo "$out" | grep -q '^br0:$' || fail "upcall/show: $out"
    echo "$out" | grep -q '^  flows         : (current 1) (avg [0-9]*) (max [0-9]*) (limit 10000)$' \
        || fail "upcall/show flows: $out"
    echo "$out" | grep -q '^  dump duration : [0-9]*ms$' || fail "duration: $out"
    echo "$out" | grep -q '^  megaflows     : enabled$' || fail "megaflows: $out"
    echo "$out" | grep -q '^  revalidators  : 2$' || fail "revalidators: $out"
    echo "$out" | grep -q '^ *ID *PID *KEYS$' || fail "keys header: $out"
    ctl --format json upcall/show | python3 -c '
import json, sys
d = json.load(sys.stdin)["datapaths"][0]
assert d["dp"] == "br0"
assert set(d["flows"]) == {"current", "avg", "max", "limit"}
assert d["megaflows"] is True
assert isinstance(d["dump_duration_msec"], int)
assert len(d["handlers"]) == 1 and len(d["revalidators"]) == 2
for r in d["revalidators"]:
    assert set(r) == {"id", "pid", "keys"} and r["pid"] > 0
' || fail "upcall/show JSON"
    # del-flows leaves no ukey.
    ctl del-flows br0 >/dev/null
    ctl revalidator/wait >/dev/null
    wait_for keys_are 0 || fail "ukeys left after del-flows: $(ctl upcall/show)"
}

scenario_exit() {
    printf 'keep-flows-on-exit = no\n' >"$DIR/dpifd.conf"
    start --config "$DIR/dpifd.conf"
    two_flows
    kill -TERM "$PID"
    i=0
    while kill -0 "$PID" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 100 ] || fail "dpifd did not exit"
        sleep 0.1
    done
    PID=
    grep -q "exit: purged 2 flows" "$DIR/log" || fail "no purge at exit"
}

case $SCENARIO in
idle|kill|mac|rules|limit|wait|megaflows|adopt|exit) "scenario_$SCENARIO" ;;
*) echo "unknown scenario $SCENARIO" >&2; exit 2 ;;
esac
echo "PASS ($SCENARIO)"
