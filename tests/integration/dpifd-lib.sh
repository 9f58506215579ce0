# dpifd-lib.sh — helpers for the shell integration tests that run the real
# dpifd (privd, spawner, dpif-handlerd, dpif-revald) as the test's own
# process tree on dummy datapaths and drive it with dpifctl only.
#
# Source it after setting DPIFD and DPIFCTL.  It makes a temporary
# directory DIR (world-readable, so that dpifd can still reach its run
# directory after dropping to the "dpifd" user) and removes it, with every
# daemon the test started, at exit.  When the test runs as root it makes
# sure the "dpifd" and "dpifd-worker" users exist (dpifd refuses to start
# as root without them).
#
# Functions:
#   dpifd_start N_WORKERS ARG...  start dpifd with ARG... plus --run-dir
#                                 (log in DIR/log, truncated; a fresh
#                                 DIR/run), wait until
#                                 it answers, N_WORKERS workers run and
#                                 every handler has its policy (sets PID;
#                                 not the last with DPIFD_START_NO_POLICY
#                                 set: a hostile handler never logs it)
#   dpifd_stop                    SIGTERM dpifd; fail unless it exits 0
#                                 within WAIT_SEC and its log (workers'
#                                 included) has no sanitizer report
#   dpifd_kill                    SIGKILL dpifd and reap it (fails too on
#                                 a sanitizer report in the log)
#   ctl ARG...                    dpifctl on this test's control socket
#   wait_for CMD...               retry CMD for up to WAIT_SEC seconds
#   fail MSG                      print MSG and dpifd's log, exit 1
#   procs_list                    one line per process from "procs -f json":
#                                 ROLE ID PID UID STATE RESTARTS LAST_EXIT
#   proc_pid ROLE ID              pid of that process (0 if down)
#   status_field PID FIELD        a field of /proc/PID/status
#   n_flows [DP]                  the datapath's flow count from "show"
#   lookup_stat DP hit|missed|lost  a lookup counter from "show"
#   counter NAME                  a counter summed over the processes:
#                                 privd's NAME and the workers' ROLE/NAME
#   captured DP PORT              frames captured on PORT (cleared)
#   capture_hex DP PORT           the captured frames, hex, one per line
#                                 (cleared)

WAIT_SEC=${WAIT_SEC:-20}
DIR=$(mktemp -d /tmp/dpifd-e2e.XXXXXX)
chmod 755 "$DIR"
PID=
PIDS_STARTED=

_dpifd_cleanup() {
    for p in $PIDS_STARTED; do
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$DIR"
}
trap _dpifd_cleanup EXIT
trap 'exit 1' HUP INT PIPE TERM

if [ "$(id -u)" = 0 ]; then
    for u in dpifd dpifd-worker; do
        id "$u" >/dev/null 2>&1 \
            || useradd --system --no-create-home --shell /usr/sbin/nologin \
                       "$u" \
            || { echo "cannot create user $u" >&2; exit 1; }
    done
fi

fail() {
    echo "FAIL: $*" >&2
    echo "--- dpifd log (last 40 lines):" >&2
    tail -40 "$DIR/log" >&2 2>/dev/null || true
    exit 1
}

ctl() { "$DPIFCTL" --socket "$DIR/run/dpifd.ctl" "$@"; }

wait_for() {
    _i=0
    until "$@" >/dev/null 2>&1; do
        _i=$((_i + 1))
        [ $_i -lt $((WAIT_SEC * 20)) ] || return 1
        sleep 0.05
    done
}

procs_list() {
    ctl -f json procs | awk '
        function val(s) {
            sub(/^[^:]*: */, "", s); sub(/,$/, "", s); gsub(/"/, "", s)
            return s
        }
        /^      "role":/ { role = val($0) }
        /^      "id":/ { id = val($0) }
        /^      "pid":/ { pid = val($0) }
        /^      "uid":/ { uid = val($0) }
        /^      "state":/ { state = val($0) }
        /^      "restarts":/ { restarts = val($0) }
        /^      "last_exit":/ {
            print role, id, pid, uid, state, restarts, val($0)
        }'
}

proc_pid() { procs_list | awk -v r="$1" -v i="$2" '$1 == r && $2 == i { print $3 }'; }

_workers_running() {
    [ "$(procs_list | awk '($1 == "handler" || $1 == "revalidator") \
                           && $5 == "running" && $3 > 0' | wc -l)" -ge "$1" ] \
        && grep -q "policy generation" "$DIR/log"
}

dpifd_start() {
    _n=$1
    shift
    : >"$DIR/log"
    rm -rf "$DIR/run"
    "$DPIFD" "$@" --run-dir "$DIR/run" >"$DIR/log" 2>&1 &
    PID=$!
    PIDS_STARTED="$PIDS_STARTED $PID"
    wait_for ctl show || fail "dpifd did not answer"
    wait_for _workers_running "$_n" || fail "$_n workers did not start"
    [ -z "${DPIFD_START_NO_POLICY:-}" ] || return 0
    # Each handler logs its policy once it has it; wait for all of them.
    _h=$(procs_list | awk '$1 == "handler"' | wc -l)
    _policies() {
        [ "$(grep -c "handler|handler|info|policy generation" "$DIR/log")" \
              -ge "$_h" ]
    }
    wait_for _policies || fail "handlers did not get the policy"
}

# Sanitizer builds (-DDPIFD_SANITIZE=ON) report into the log; any report
# fails the test.
_no_sanitizer_report() {
    if grep -q -E "ERROR: (Address|Leak)Sanitizer|runtime error:" \
            "$DIR/log"; then
        fail "sanitizer report in the log"
    fi
}

dpifd_stop() {
    kill -TERM "$PID"
    _t=0
    while kill -0 "$PID" 2>/dev/null \
          && [ "$(awk '$1 == "State:" { print $2 }' "/proc/$PID/status" \
                  2>/dev/null)" != Z ]; do
        _t=$((_t + 1))
        [ $_t -lt $((WAIT_SEC * 20)) ] || fail "dpifd ignored SIGTERM"
        sleep 0.05
    done
    _status=0
    wait "$PID" || _status=$?
    [ "$_status" = 0 ] || fail "dpifd exited with status $_status"
    _no_sanitizer_report
}

dpifd_kill() {
    kill -9 "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    _no_sanitizer_report
}

status_field() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }

n_flows() { ctl show ${1:-} | sed -n 's/^ *flows: *//p'; }
lookup_stat() { ctl show "$1" | sed -n "s/.*lookups:.*$2:\([0-9]*\).*/\1/p"; }
counter() {
    ctl counters | awk -v n="$1" '{ k = $1; sub(/^[a-z]+\//, "", k) }
                                  k == n { s += $2; f = 1 }
                                  END { if (f) print s }'
}
captured() { ctl capture --clear "$1" "$2" | grep -c . || true; }
capture_hex() { ctl capture --clear "$1" "$2"; }
