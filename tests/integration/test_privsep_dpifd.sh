#!/bin/sh
# test_privsep_dpifd — the privilege separation of the real dpifd, seen
# from outside: every process of its tree is found with "dpifctl procs
# --format json" and checked in /proc/PID/status.
#
#   1. Privileges.  As root (with the privilege drop): privd runs as
#      "dpifd" with exactly CAP_NET_ADMIN permitted and effective and an
#      empty bounding set; the spawner is uid 0 with exactly CAP_KILL,
#      CAP_SETGID, CAP_SETUID, CAP_SETPCAP and CAP_SYS_CHROOT
#      (docs/privsep.md); every worker runs as "dpifd-worker" (neither 0
#      nor privd's uid) with CapEff = CapPrm = CapBnd = CapInh = CapAmb =
#      0, NoNewPrivs 1, Seccomp 2 and a root directory other than "/".
#      "procs" reports the same uids and capabilities, and the datapath
#      of each worker.  As any other user
#      (and, when root, once more as "nobody"): every process keeps that
#      uid, workers have no capabilities, NoNewPrivs 1 and Seccomp 2.
#   2. CAP_NET_RAW only with AF_PACKET ports (root, in a private network
#      namespace with a veth pair): a netdev datapath with a "system" port
#      leaves privd with CAP_NET_ADMIN and CAP_NET_RAW.
#   3. kill -9 of a handler, then of a revalidator: each is respawned
#      ("procs": restarts 1, last exit "killed by signal 9"), and the
#      switch still forwards new flows (inject on p1, capture on p2).
#   4. kill -9 of privd: the spawner and every worker exit within a second.
#   5. worker-transport = socket: the switch forwards end to end (flood,
#      unicast reply, flows installed, repeats hit the datapath).
#
# Usage: test_privsep_dpifd.sh DPIFD DPIFCTL
set -eu

DPIFD=$1
DPIFCTL=$2
. "$(dirname "$0")/dpifd-lib.sh"

CAP_NET_ADMIN=0000000000001000
CAP_NET_ADMIN_RAW=0000000000003000
SPAWNER_CAPS=00000000000401e0
NO_CAPS=0000000000000000

NOBODY=$(id -u nobody)
A=02:00:00:00:00:0a
B=02:00:00:00:00:0b

# udp IN_PORT SRC DST: a UDP flow for "inject --flow".
udp() {
    echo "in_port($1),eth(src=$2,dst=$3),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=17,ttl=64),udp(src=1000,dst=53)"
}

# forwards SRC_MAC: a frame from a new source on p1 reaches p2.
forwards() {
    ctl capture --clear br0 p2 >/dev/null
    ctl inject --flow "$(udp 1 "$1" ff:ff:ff:ff:ff:ff)" br0 p1 >/dev/null
    _got() { [ "$(ctl capture br0 p2 | grep -c .)" = 1 ]; }
    wait_for _got
}

# check_ids PID UID: every one of the four uids of PID is UID.
check_ids() {
    [ "$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$1/status")" \
      = "$2 $2 $2 $2" ] || fail "pid $1: uids $(status_field "$1" Uid), want $2"
}

# check_caps PID HEX [BOUNDING]: CapEff and CapPrm of PID are HEX, CapBnd
# is BOUNDING (default HEX).
check_caps() {
    for f in CapEff CapPrm CapBnd; do
        _want=$2
        [ $f != CapBnd ] || _want=${3:-$2}
        [ "$(status_field "$1" $f)" = "$_want" ] \
            || fail "pid $1: $f $(status_field "$1" $f), want $_want"
    done
}

# check_worker PID UID: a sandboxed worker running as UID.  Its bounding
# set must be empty too when it was started by root (an unprivileged
# process cannot clear it: the log says so).
check_worker() {
    check_ids "$1" "$2"
    if [ "$(id -u)" = 0 ] && [ "$2" != "$NOBODY" ]; then
        check_caps "$1" $NO_CAPS
    else
        check_caps "$1" $NO_CAPS "$(status_field "$1" CapBnd)"
    fi
    for f in CapInh CapAmb; do
        [ "$(status_field "$1" $f)" = $NO_CAPS ] || fail "pid $1: $f"
    done
    [ "$(status_field "$1" NoNewPrivs)" = 1 ] || fail "pid $1: NoNewPrivs"
    [ "$(status_field "$1" Seccomp)" = 2 ] || fail "pid $1: Seccomp"
}

# ----- 1. privileges ---------------------------------------------------------

# check_tree PRIVD_UID WORKER_UID: the running tree's ids and capabilities.
check_tree() {
    procs_list >"$DIR/procs"
    [ "$(awk '$1 == "privd" { print $3 }' "$DIR/procs")" = "$PID" ] \
        || fail "procs: privd is not pid $PID: $(cat "$DIR/procs")"
    [ "$(awk '$1 == "handler" || $1 == "revalidator"' "$DIR/procs" \
         | wc -l)" = 3 ] || fail "procs: not 3 workers: $(cat "$DIR/procs")"
    # Workers name their datapath; privd and the spawner serve none.
    [ "$(ctl -f json procs | grep -c '"dp": "br0"')" = 3 ] \
        && [ "$(ctl -f json procs | grep -c '"dp": null')" = 2 ] \
        || fail "procs: datapaths: $(ctl procs)"
    check_ids "$PID" "$1"
    [ "$(status_field "$PID" NoNewPrivs)" = 1 ] || fail "privd: NoNewPrivs"
    while read -r role id pid uid state restarts last; do
        [ "$state" = running ] || fail "$role $id is $state"
        [ "$uid" = "$(awk '$1 == "Uid:" { print $3 }' "/proc/$pid/status")" ] \
            || fail "procs: uid $uid of $role $id (pid $pid)"
        case $role in
        handler|revalidator)
            check_worker "$pid" "$2"
            if [ "$(id -u)" = 0 ] && [ "$2" != "$NOBODY" ]; then
                [ "$2" != 0 ] || fail "$role $id runs as root"
                [ "$(readlink "/proc/$pid/root")" != / ] \
                    || fail "$role $id: root directory is /"
            fi
            ;;
        esac
    done <"$DIR/procs"
}

dpifd_start 3 --datapath dummy@br0 --port p1:dummy --port p2:dummy \
            --handlers 2 --revalidators 1
if [ "$(id -u)" = 0 ]; then
    DPIFD_UID=$(id -u dpifd)
    WORKER_UID=$(id -u dpifd-worker)
    [ "$DPIFD_UID" != 0 ] && [ "$WORKER_UID" != "$DPIFD_UID" ] \
        || fail "users dpifd ($DPIFD_UID), dpifd-worker ($WORKER_UID)"
    check_tree "$DPIFD_UID" "$WORKER_UID"
    check_caps "$PID" $CAP_NET_ADMIN $NO_CAPS
    SPAWNER=$(proc_pid spawner 0)
    check_ids "$SPAWNER" 0
    check_caps "$SPAWNER" $SPAWNER_CAPS
    [ "$(status_field "$SPAWNER" NoNewPrivs)" = 1 ] || fail "spawner: NNP"
    ctl procs | grep -q "^privd .* net_admin  *running" \
        || fail "procs: privd's capabilities: $(ctl procs)"
    [ "$(ctl procs | grep -c -E '^(handler|revalidator) .* none  *running')" \
      = 3 ] || fail "procs: worker capabilities: $(ctl procs)"
else
    ME=$(id -u)
    check_tree "$ME" "$ME"
    for f in CapEff CapPrm; do
        [ "$(status_field "$PID" $f)" = $NO_CAPS ] || fail "privd: $f"
    done
fi
forwards $A || fail "the switch does not forward"

# ----- 3. kill -9 of a handler, then of a revalidator ----------------------

# respawned ROLE ID OLD_PID: running again as another pid, restarts 1.
respawned() {
    procs_list | awk -v r="$1" -v i="$2" -v old="$3" '
        $1 == r && $2 == i && $3 != old && $3 > 0 && $5 == "running" \
        && $6 == 1 && /killed by signal 9/ { ok = 1 }
        END { exit !ok }'
}

# Handler 1 serves p1 (ports go to handler port_no % n_handlers).
for worker in "handler 1" "revalidator 0"; do
    set -- $worker
    OLD=$(proc_pid "$1" "$2")
    [ -n "$OLD" ] && [ "$OLD" -gt 0 ] || fail "no $worker"
    kill -9 "$OLD"
    wait_for respawned "$1" "$2" "$OLD" \
        || fail "$worker not respawned: $(ctl procs)"
    ctl procs | grep -q "^$1 .*killed by signal 9 (Killed)$" \
        || fail "procs does not say why $worker died: $(ctl procs)"
    NEW=$(proc_pid "$1" "$2")
    [ "$(id -u)" != 0 ] || check_worker "$NEW" "$WORKER_UID"
    # Wait for the new process to have its policy, then a new flow.
    wait_for _workers_running 3 || fail "workers down after the kill"
    if [ "$1" = handler ]; then
        MAC=02:00:00:00:01:01
    else
        MAC=02:00:00:00:01:02
    fi
    forwards $MAC || fail "no forwarding after kill -9 of $worker"
done
[ "$(counter supervisor_worker_exited)" = 2 ] \
    || fail "supervisor_worker_exited $(counter supervisor_worker_exited)"

# ----- 4. kill -9 of privd ----------------------------------------------------

# gone PID: the process no longer exists or is a zombie.
gone() {
    [ ! -e "/proc/$1/status" ] \
        || [ "$(awk '$1 == "State:" { print $2 }' "/proc/$1/status")" = Z ]
}

OTHERS=$(procs_list | awk '$1 != "privd" && $3 > 0 { print $3 }')
[ "$(echo "$OTHERS" | wc -w)" -ge 3 ] || fail "procs: $OTHERS"
dpifd_kill
START=$(date +%s%N)
for p in $OTHERS; do
    until gone "$p"; do
        [ $(( ($(date +%s%N) - START) / 1000000 )) -lt 1000 ] \
            || fail "pid $p still runs 1 s after privd was killed"
        sleep 0.02
    done
done

# ----- 5. socket-only transport ------------------------------------------------

printf 'worker-transport = socket\n' >"$DIR/socket.conf"
dpifd_start 2 --config "$DIR/socket.conf" --datapath dummy@br0 \
            --port p1:dummy --port p2:dummy --port p3:dummy \
            --handlers 1 --revalidators 1
[ "$(grep -c "serving dummy@br0 (.*, socket-only)" "$DIR/log")" = 2 ] \
    || fail "workers do not say they use the socket transport"
ctl inject --flow "$(udp 1 $A $B)" br0 p1 >/dev/null
_one() { [ "$(n_flows br0)" = 1 ]; }
wait_for _one || fail "socket mode: no flow for A->B"
_flooded() { [ "$(ctl capture br0 p2 | grep -c .)" = 1 ] \
             && [ "$(ctl capture br0 p3 | grep -c .)" = 1 ]; }
wait_for _flooded || fail "socket mode: A->B not flooded"
ctl capture --clear br0 p2 >/dev/null
ctl capture --clear br0 p3 >/dev/null
ctl inject --flow "$(udp 2 $B $A)" br0 p2 >/dev/null
_two() { [ "$(n_flows br0)" = 2 ]; }
wait_for _two || fail "socket mode: no flow for B->A"
_unicast() { [ "$(ctl capture br0 p1 | grep -c .)" = 1 ]; }
wait_for _unicast || fail "socket mode: B->A not delivered to p1"
[ "$(captured br0 p3)" = 0 ] || fail "socket mode: B->A flooded"
HIT=$(lookup_stat br0 hit)
ctl inject --flow "$(udp 1 $A $B)" br0 p1 >/dev/null
[ "$(lookup_stat br0 hit)" = $((HIT + 1)) ] || fail "socket mode: no hit"
dpifd_stop

# ----- root only: unprivileged once more, and CAP_NET_RAW -------------------

if [ "$(id -u)" = 0 ]; then
    # As "nobody", with no capabilities at all: everything stays nobody.
    chown nobody "$DIR"
    DPIFD_REAL=$DPIFD
    DPIFD="$DIR/as-nobody"
    printf '#!/bin/sh\nexec setpriv --reuid=nobody --regid=%s --clear-groups --inh-caps=-all %s "$@"\n' \
        "$(id -g nobody)" "$DPIFD_REAL" >"$DPIFD"
    chmod 755 "$DPIFD"
    dpifd_start 3 --datapath dummy@br0 --port p1:dummy --port p2:dummy \
                --handlers 2 --revalidators 1
    check_tree "$NOBODY" "$NOBODY"
    for f in CapEff CapPrm; do
        [ "$(status_field "$PID" $f)" = $NO_CAPS ] || fail "privd: $f"
    done
    forwards $A || fail "unprivileged: the switch does not forward"
    dpifd_stop
    DPIFD=$DPIFD_REAL

    # A "system" port (AF_PACKET) on a veth inside a private network
    # namespace: privd keeps CAP_NET_RAW too.
    if unshare --net true 2>/dev/null; then
        printf '#!/bin/sh\nip link add e2e0 type veth peer name e2e1 && ip link set e2e0 up && exec "$@"\n' \
            >"$DIR/in-netns"
        chmod 755 "$DIR/in-netns"
        DPIFD="unshare --net $DIR/in-netns $DPIFD_REAL"
        # dpifd_start runs "$DPIFD" as one word: use a wrapper instead.
        printf '#!/bin/sh\nexec %s "$@"\n' "$DPIFD" >"$DIR/netns-dpifd"
        chmod 755 "$DIR/netns-dpifd"
        DPIFD="$DIR/netns-dpifd"
        dpifd_start 2 --datapath netdev@br9 --port e2e0:system \
                    --handlers 1 --revalidators 1
        check_caps "$PID" $CAP_NET_ADMIN_RAW $NO_CAPS
        dpifd_stop
        DPIFD=$DPIFD_REAL
    else
        echo "SKIP: CAP_NET_RAW check (no network namespaces)"
    fi
fi
echo PASS
