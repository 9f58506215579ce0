/*
 * supervisor.c — spawning, handshaking, serving and restarting workers
 * (supervisor.h).
 */
#include "privd/supervisor.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/poller.h"
#include "common/sandbox.h"
#include "common/shm-ring.h"
#include "common/timeval.h"
#include "common/ufid.h"
#include "common/worker.h"
#include "privd/dpif-netlink.h"
#include "privd/dpif.h"
#include "privd/dump-pump.h"
#include "privd/flow-ledger.h"
#include "privd/op-validate.h"
#include "privd/privd.h"
#include "privd/spawner.h"
#include "privd/status-page.h"
#include "privd/worker-log.h"
#include "proto/worker.pb-c.h"

LOG_MODULE(supervisor);

COUNTER_DEFINE(supervisor_worker_spawned);
COUNTER_DEFINE(supervisor_spawn_failed);
COUNTER_DEFINE(supervisor_worker_exited);
COUNTER_DEFINE(supervisor_worker_killed);
COUNTER_DEFINE(supervisor_hello_rejected);
COUNTER_DEFINE(supervisor_hello_timeout);
COUNTER_DEFINE(supervisor_malformed);
COUNTER_DEFINE(supervisor_ring_corrupt);
COUNTER_DEFINE(supervisor_unexpected_msg);
COUNTER_DEFINE(supervisor_bad_report);
COUNTER_DEFINE(supervisor_results_backlog);
COUNTER_DEFINE(supervisor_announce_dropped);
COUNTER_DEFINE(supervisor_upcalls_sent);
COUNTER_DEFINE(supervisor_upcalls_dropped);
COUNTER_DEFINE(supervisor_upcalls_lost_in_flight);
COUNTER_DEFINE(supervisor_worker_stuck);
COUNTER_DEFINE(supervisor_watchdog_kill);
COUNTER_DEFINE(supervisor_policy_deferred);

/* Rings by RingUse - 1. */
#define SUP_N_RINGS 4
#define SUP_RING(USE) (DPIF__RING_USE__RING_USE_##USE - 1)

/* Most op batches taken from one worker per supervisor_run(): fairness
 * among workers and with the rest of privd's loop. */
#define SUP_MAX_BATCHES_PER_RUN 16

/* Life cycle of one worker slot. */
enum sup_state {
    SUP_DOWN,           /* Not running; restart at 'restart_at'. */
    SUP_HELLO,          /* Spawned, waiting for its Hello. */
    SUP_UP,             /* Handshake done, serving. */
    SUP_DYING,          /* Socket closed or kill requested; waiting for
                         * the spawner's exit report. */
};

/* One UpcallBatch in a handler's upcall ring that the handler may not have
 * taken yet. */
struct sup_inflight {
    uint64_t end;               /* shm_ring_produced() after its commit. */
    uint32_t n_upcalls;         /* Upcalls in it. */
};

/* One reported counter. */
struct sup_counter {
    char *name;                 /* Owned. */
    uint64_t value;             /* Latest reported value. */
};

struct sup_dp;

/* One worker slot: a role and index that a succession of processes fill. */
struct sup_worker {
    struct supervisor *sup;     /* Owner. */
    struct sup_dp *dp;          /* Datapath it serves. */
    enum worker_role role;      /* Handler or revalidator. */
    unsigned int index;         /* Index within its role on 'dp'. */
    unsigned int id;            /* Spawner worker id (global). */
    enum sup_state state;       /* See above. */
    pid_t pid;                  /* Current process, 0 if none. */
    struct ipc_conn conn;       /* Control socket (fd -1 if none). */
    struct shm_ring *rings[SUP_N_RINGS]; /* privd's ends, by use. */
    bool ring_waiting[SUP_N_RINGS]; /* prepare_wait() announced. */
    struct buf pending;         /* Results frame not yet delivered. */
    uint32_t seq;               /* Next sequence number we send. */
    long long start_msec;       /* When the current process started. */
    long long hello_deadline;   /* SUP_HELLO: kill after this. */
    long long restart_at;       /* SUP_DOWN: spawn at this time. */
    long long backoff_msec;     /* Next restart delay. */
    unsigned int restarts;      /* Restarts so far. */
    char last_exit[256];        /* Why the last process ended. */
    char kill_reason[128];      /* Why we killed it, if we did. */
    long long strike_window;    /* Start of the malformed-data window. */
    unsigned int strikes;       /* Strikes in the window. */
    struct op_work_budget work; /* Execute work budget (op-validate.h). */
    long long throttle_strike;  /* time_msec() of the last strike for
                                 * exceeding it. */
    struct worker_log log;      /* Its process's stdout and stderr. */
    uint64_t report_id;         /* Last ReportRequest id sent. */
    long long report_due;       /* When the oldest unanswered
                                 * ReportRequest was sent; 0: none. */
    uint64_t ring_tail[SUP_N_RINGS]; /* Rings privd produces: the
                                      * worker's tail seen last. */
    long long ring_stall[SUP_N_RINGS]; /* Since when that ring has held
                                        * records and its tail has not
                                        * moved; 0: not stalled. */
    long long stuck_since;      /* Watchdog: when it was found stuck;
                                 * 0: not stuck. */
    long long owed_since;       /* Watchdog: oldest unmet obligation
                                 * (see sup_run_watchdog()); 0: none. */
    uint64_t n_batches;         /* Op batches taken from it (socket or
                                 * ops ring), for the dump pump. */
    struct sup_counter *counters; /* Latest CounterReport, owned. */
    size_t n_counters;
    struct sup_inflight *inflight; /* Handlers: batches in the upcall ring
                                    * not known to be taken, oldest first
                                    * from 'inflight_first'. */
    size_t inflight_first, n_inflight, inflight_allocated;
    struct sup_counter *gauges; /* Its gauges ("memory": ukeys...), owned. */
    size_t n_gauges;            /* Entries in 'gauges'. */
    unsigned int denied_syscall; /* 1 + the syscall named by its dying
                                  * note (common/sandbox.h), 0 if none. */
    bool policy_owed;           /* The datapath's latest policy found its
                                 * socket full: sup_send_policy() again
                                 * from supervisor_run(). */
};

/* One datapath's workers and status page.  Allocated once (workers point
 * to it) and freed by supervisor_remove_dp(). */
struct sup_dp {
    struct privd_dp *pdp;       /* The datapath (borrowed). */
    unsigned int slot;          /* Its block of worker ids: slot *
                                 * CONFIG_MAX_WORKERS + index in the role. */
    bool userspace;             /* netdev/dummy: upcalls travel in rings. */
    struct status_page *status; /* Owned. */
    struct dump_pump *pump;     /* Revalidation cycle, owned. */
    struct sup_worker *handlers;     /* n_handlers of them. */
    struct sup_worker *revalidators; /* n_revalidators of them. */
    int mac_table_fd;           /* MAC table memfd (borrowed), or -1. */
    uint64_t mac_table_size;    /* Its size. */
    Dpif__PolicyUpdate *policy; /* Latest policy update (owned), or NULL. */
    struct flow_ledger *ledger; /* Bytes of worker-created flows, owned. */
};

/* A process of a removed datapath's worker, from supervisor_remove_dp()
 * until the spawner reports its exit: told to stop, killed if it does not
 * within SUPERVISOR_STOP_GRACE_MSEC, never restarted. */
struct sup_orphan {
    pid_t pid;                  /* The process. */
    enum worker_role role;      /* What it was. */
    unsigned int id;            /* Its spawner worker id. */
    unsigned int slot;          /* Slot of its datapath (ids in use). */
    long long kill_at;          /* time_msec() to kill it at; LLONG_MAX
                                 * once killed. */
    struct worker_log log;      /* Its stdout and stderr, until it exits. */
};

struct supervisor {
    struct privd *privd;        /* Borrowed. */
    struct sup_dp **dps;        /* One per privd datapath, owned. */
    size_t n_dps;               /* Number of 'dps'. */
    unsigned int next_slot;     /* Where the search for a free slot starts:
                                 * slots are reused round robin. */
    struct sup_orphan *orphans; /* Processes of removed datapaths. */
    size_t n_orphans;           /* Number of 'orphans'. */
    size_t allocated_orphans;   /* Allocated size of 'orphans'. */
    unsigned int n_handlers;    /* Per datapath. */
    unsigned int n_revalidators; /* Per datapath. */
    struct op_batch *batch;     /* Scratch for op validation. */
    struct buf rx;              /* Record copied out of a ring. */
    long long next_report;      /* time_msec() of the next reports. */
    long long next_status;      /* time_msec() of the next status update. */
    uint64_t report_seq;        /* Last request_id used. */
};

/* Worker ids: CONFIG_MAX_WORKERS per role for each of CONFIG_MAX_DATAPATHS
 * slots, all accepted by the spawner and the workers' argument parser. */
static_assert(SUPERVISOR_MAX_WORKER_ID <= DPIF_WORKER_MAX_ID,
              "worker ids exceed what dpif-handlerd/dpif-revald accept");
static_assert(CONFIG_MAX_WORKERS <= IPC_MAX_WORKERS,
              "more workers per role than a HelloReply may announce");

static void sup_worker_kill(struct sup_worker *, const char *fmt, ...)
    PRINTF_FORMAT(2, 3);

/* Runs the statement that follows once for every worker 'W' of 'SUP'. */
#define SUP_FOR_EACH_WORKER(W, SUP)                                         \
    for (size_t dp_i_ = 0; dp_i_ < (SUP)->n_dps; dp_i_++)                   \
        for (size_t w_i_ = 0;                                               \
             w_i_ < (SUP)->n_handlers + (SUP)->n_revalidators; w_i_++)      \
            for (struct sup_worker *W = sup_worker_at(SUP, dp_i_, w_i_);    \
                 W; W = NULL)

static struct sup_worker *
sup_worker_at(const struct supervisor *sup, size_t dp, size_t i)
{
    struct sup_dp *d = sup->dps[dp];
    return (i < sup->n_handlers ? &d->handlers[i]
            : &d->revalidators[i - sup->n_handlers]);
}

/* The supervisor's record of datapath 'pdp', or NULL. */
static struct sup_dp *
sup_find_dp(const struct supervisor *sup, const struct privd_dp *pdp)
{
    for (size_t i = 0; i < sup->n_dps; i++) {
        if (sup->dps[i]->pdp == pdp) {
            return sup->dps[i];
        }
    }
    return NULL;
}

static const char *
sup_role_name(const struct sup_worker *w)
{
    return worker_role_to_string(w->role);
}

/* ----- process life cycle --------------------------------------------------- */

/* Forgets the in-flight batches that the handler has taken out of its
 * upcall ring (all of them if the ring is broken: nothing is known then,
 * and sup_count_lost_upcalls() counts what is left). */
static void
sup_prune_inflight(struct sup_worker *w)
{
    struct shm_ring *r = w->rings[SUP_RING(UPCALLS)];
    uint64_t tail;

    if (!r || shm_ring_consumed(r, &tail, NULL)) {
        return;
    }
    while (w->n_inflight && w->inflight[w->inflight_first].end <= tail) {
        w->inflight_first++;
        w->n_inflight--;
    }
    if (!w->n_inflight) {
        w->inflight_first = 0;
    }
}

/* Remembers that an UpcallBatch of 'n' upcalls was just committed to 'w''s
 * upcall ring. */
static void
sup_note_inflight(struct sup_worker *w, uint32_t n)
{
    sup_prune_inflight(w);
    if (w->inflight_first + w->n_inflight == w->inflight_allocated) {
        if (w->inflight_first) {
            memmove(w->inflight, &w->inflight[w->inflight_first],
                    w->n_inflight * sizeof *w->inflight);
            w->inflight_first = 0;
        } else {
            w->inflight_allocated = (w->inflight_allocated
                                     ? 2 * w->inflight_allocated : 64);
            w->inflight = xrealloc(w->inflight, w->inflight_allocated
                                   * sizeof *w->inflight);
        }
    }
    w->inflight[w->inflight_first + w->n_inflight++] = (struct sup_inflight) {
        shm_ring_produced(w->rings[SUP_RING(UPCALLS)]), n,
    };
}

/* The handler's upcall ring is about to go with its process: counts the
 * upcalls still in it, which nobody will handle, as lost in flight.  A
 * batch the handler had already taken out of the ring when it died is
 * not counted (the ring cannot tell), nor, in socket-only mode, the
 * batches still queued on the socket (the kernel discards them). */
static void
sup_count_lost_upcalls(struct sup_worker *w)
{
    uint64_t lost = 0;

    sup_prune_inflight(w);
    for (size_t i = 0; i < w->n_inflight; i++) {
        lost += w->inflight[w->inflight_first + i].n_upcalls;
    }
    if (lost) {
        COUNTER_ADD(supervisor_upcalls_lost_in_flight, lost);
        LOG_WARN("%s %u (pid %ld): %"PRIu64" upcalls were still in its "
                 "ring: lost", sup_role_name(w), w->index, (long) w->pid,
                 lost);
    }
    w->inflight_first = w->n_inflight = 0;
}

static void
sup_worker_release(struct sup_worker *w)
{
    sup_count_lost_upcalls(w);
    ipc_conn_close(&w->conn);
    w->conn.fd = -1;
    for (size_t i = 0; i < SUP_N_RINGS; i++) {
        shm_ring_destroy(w->rings[i]);
        w->rings[i] = NULL;
        w->ring_waiting[i] = false;
        w->ring_tail[i] = 0;
        w->ring_stall[i] = 0;
    }
    buf_clear(&w->pending);
    w->report_due = 0;
    w->stuck_since = 0;
    w->owed_since = 0;
    w->n_batches = 0;
}

static void
sup_worker_clear_counters(struct sup_worker *w)
{
    for (size_t i = 0; i < w->n_counters; i++) {
        free(w->counters[i].name);
    }
    free(w->counters);
    w->counters = NULL;
    w->n_counters = 0;
    for (size_t i = 0; i < w->n_gauges; i++) {
        free(w->gauges[i].name);
    }
    free(w->gauges);
    w->gauges = NULL;
    w->n_gauges = 0;
}

static void
sup_worker_spawn(struct sup_worker *w)
{
    struct supervisor *sup = w->sup;
    struct errbuf eb = { "" };
    int fds[2];
    pid_t pid;

    int error = ipc_socketpair(fds, &eb);
    if (!error) {
        /* Before the worker exists: the kernel stamps credentials on the
         * datagrams sent while the receiver has SO_PASSCRED set. */
        int on = 1;
        if (setsockopt(fds[0], SOL_SOCKET, SO_PASSCRED, &on, sizeof on)) {
            error = errbuf_set(&eb, errno, "SO_PASSCRED: %s",
                               strerror(errno));
            close(fds[0]);
            close(fds[1]);
        }
    }
    int log_fd = -1;
    if (!error && worker_log_open(&w->log, &log_fd, &eb)) {
        LOG_WARN("%s %u: no pipe for its output (%s): it shares the "
                 "spawner's", sup_role_name(w), w->index, eb.msg);
    }
    if (!error) {
        error = spawner_request(sup->privd->spawner, w->role, w->id, fds[1],
                                log_fd, &pid, &eb);
        close(fds[1]);
        if (error) {
            close(fds[0]);
        }
    }
    if (log_fd >= 0) {
        close(log_fd);
    }
    if (!error) {
        worker_log_set_name(&w->log, sup_role_name(w), w->index, pid);
    }
    if (error) {
        COUNTER_INC(supervisor_spawn_failed);
        LOG_ERR("%s %u: cannot start: %s", sup_role_name(w), w->index,
                eb.msg);
        snprintf(w->last_exit, sizeof w->last_exit, "spawn failed: %.200s",
                 eb.msg);
        w->state = SUP_DOWN;
        w->restart_at = time_msec() + w->backoff_msec;
        w->backoff_msec = MIN(w->backoff_msec * 2,
                              SUPERVISOR_BACKOFF_MAX_MSEC);
        return;
    }
    int flags = fcntl(fds[0], F_GETFL);
    if (flags < 0 || fcntl(fds[0], F_SETFL, flags | O_NONBLOCK)) {
        LOG_ERR("%s %u: control socket: %s", sup_role_name(w), w->index,
                strerror(errno));
    }
    ipc_conn_init(&w->conn, fds[0], IPC_TYPE_BIT(IPC_HELLO));
    w->pid = pid;
    w->seq = 1;
    w->state = SUP_HELLO;
    w->start_msec = time_msec();
    w->hello_deadline = w->start_msec + SUPERVISOR_HELLO_TIMEOUT_MSEC;
    w->strikes = 0;
    w->policy_owed = false;     /* The handshake carries the policy. */
    op_work_budget_init(&w->work);
    w->throttle_strike = LLONG_MIN / 2;
    w->kill_reason[0] = '\0';
    COUNTER_INC(supervisor_worker_spawned);
    LOG_INFO("%s %u of %s: started as pid %ld", sup_role_name(w), w->index,
             w->dp->pdp->dpif ? dpif_name(w->dp->pdp->dpif) : "?",
             (long) pid);
}

static void
sup_worker_kill(struct sup_worker *w, const char *fmt, ...)
{
    struct errbuf eb = { "" };
    va_list args;

    va_start(args, fmt);
    vsnprintf(w->kill_reason, sizeof w->kill_reason, fmt, args);
    va_end(args);
    LOG_WARN("%s %u (pid %ld): killing: %s", sup_role_name(w), w->index,
             (long) w->pid, w->kill_reason);
    COUNTER_INC(supervisor_worker_killed);
    sup_worker_release(w);
    if (w->pid && spawner_kill(w->sup->privd->spawner, w->pid, &eb)
        && LOG_DBG_IS_ON()) {
        LOG_DBG("kill %ld: %s", (long) w->pid, eb.msg);
    }
    w->state = SUP_DYING;
}

/* Describes wait status 'status' in 'how': "exited with status 1",
 * "killed by signal 9 (Killed)". */
static void
sup_describe_exit(int status, char *how, size_t size)
{
    if (WIFEXITED(status)) {
        snprintf(how, size, "exited with status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(how, size, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    } else {
        snprintf(how, size, "ended with wait status %#x", status);
    }
}

static void sup_run_socket(struct sup_worker *);

/* The spawner reported that 'w''s process ended with wait status
 * 'status'. */
static void
sup_worker_exited(struct sup_worker *w, int status)
{
    long long now = time_msec();
    char how[64];

    sup_describe_exit(status, how, sizeof how);
    worker_log_drain(&w->log);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS) {
        /* Its seccomp filter killed it: the syscall is in the note it
         * sent last, which may still be in the socket. */
        sup_run_socket(w);
        if (w->denied_syscall) {
            char name[32];
            int nr = (int) w->denied_syscall - 1;
            sandbox_syscall_name(nr, name, sizeof name);
            snprintf(how, sizeof how, "killed by SIGSYS (syscall %d %.24s)",
                     nr, name);
        }
    }
    w->denied_syscall = 0;
    if (w->kill_reason[0]) {
        snprintf(w->last_exit, sizeof w->last_exit, "%.63s after being "
                 "killed: %.127s", how, w->kill_reason);
    } else {
        snprintf(w->last_exit, sizeof w->last_exit, "%s", how);
    }
    COUNTER_INC(supervisor_worker_exited);
    sup_worker_release(w);

    if (w->sup->privd->exiting) {
        /* Stopped along with privd (a signal to the process group). */
        LOG_INFO("%s %u (pid %ld) %s while dpifd is exiting",
                 sup_role_name(w), w->index, (long) w->pid, w->last_exit);
        w->state = SUP_DOWN;
        w->restart_at = LLONG_MAX;
        w->pid = 0;
        return;
    }
    if (now - w->start_msec >= SUPERVISOR_BACKOFF_RESET_MSEC) {
        w->backoff_msec = SUPERVISOR_BACKOFF_MIN_MSEC;
    }
    w->state = SUP_DOWN;
    w->restart_at = now + w->backoff_msec;
    LOG_WARN("%s %u (pid %ld) %s; restarting in %lld ms", sup_role_name(w),
             w->index, (long) w->pid, w->last_exit, w->backoff_msec);
    w->backoff_msec = MIN(w->backoff_msec * 2, SUPERVISOR_BACKOFF_MAX_MSEC);
    w->pid = 0;
}

/* One strike for malformed or forbidden data; kills at the limit. */
static void
sup_worker_strike(struct sup_worker *w, const char *why)
{
    const struct config *cfg = &w->sup->privd->cfg;
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    long long now = time_msec();

    COUNTER_INC(supervisor_malformed);
    if (!w->strikes || now - w->strike_window > cfg->malformed_window_ms) {
        w->strike_window = now;
        w->strikes = 0;
    }
    w->strikes++;
    LOG_WARN_RL(&rl, "%s %u (pid %ld): malformed input (%u in window): %s",
                sup_role_name(w), w->index, (long) w->pid, w->strikes, why);
    if (w->strikes >= cfg->malformed_limit) {
        sup_worker_kill(w, "%u malformed messages within %"PRIu32" ms, "
                        "last: %s", w->strikes, cfg->malformed_window_ms,
                        why);
    }
}

/* ----- sending --------------------------------------------------------------- */

/* Sends 'msg' on the socket.  A full socket buffer loses the message (it is
 * rate-limited and periodic); a dead peer is noticed on receive. */
static int
sup_send(struct sup_worker *w, enum ipc_type type,
         const ProtobufCMessage *msg, const int *fds, size_t n_fds)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    struct errbuf eb = { "" };

    int error = ipc_send(&w->conn, type, w->seq++, msg, fds, n_fds, &eb);
    if (error && error != EPIPE) {
        LOG_WARN_RL(&rl, "%s %u: sending %s: %s", sup_role_name(w), w->index,
                    ipc_type_name(type), eb.msg);
    }
    return error;
}

/* Sends the datapath's latest policy to 'w'.  A policy is state, not an
 * event: one that finds the socket full is owed ('policy_owed') and sent
 * again from supervisor_run() until it goes through, so that no worker is
 * left on an old policy.  A newer policy replaces the owed one (the
 * datapath keeps only the latest).  A worker that never drains its socket
 * stops answering ReportRequests too, and the watchdog replaces it; the
 * new process gets the policy in its handshake. */
static void
sup_send_policy(struct sup_worker *w)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    struct errbuf eb = { "" };

    if (!w->dp->policy) {
        w->policy_owed = false;
        return;
    }
    int error = ipc_send(&w->conn, IPC_POLICY_UPDATE, w->seq++,
                         &w->dp->policy->base, NULL, 0, &eb);
    if (error == EAGAIN) {
        if (!w->policy_owed) {
            COUNTER_INC(supervisor_policy_deferred);
        }
        w->policy_owed = true;
        return;
    }
    w->policy_owed = false;
    if (error && error != EPIPE) {
        LOG_WARN_RL(&rl, "%s %u: sending its policy: %s", sup_role_name(w),
                    w->index, eb.msg);
    }
}

/* Delivers a bulk message: into ring 'ring' (a SUP_RING index) or, in
 * socket-only mode, on the socket.  Returns 0 or ENOBUFS. */
static int
sup_deliver(struct sup_worker *w, size_t ring, enum ipc_type type,
            const ProtobufCMessage *msg)
{
    struct errbuf eb = { "" };
    struct shm_ring *r = w->rings[ring];

    if (!r) {
        int error = sup_send(w, type, msg, NULL, 0);
        return error == EAGAIN ? ENOBUFS : error;
    }
    size_t size = ipc_frame_size(msg);
    void *dst;
    int error = shm_ring_reserve(r, size, &dst, &eb);
    if (!error) {
        error = ipc_frame_pack_into(type, w->seq++, msg, dst, size, &size,
                                    &eb);
        if (!error) {
            shm_ring_commit(r, size);
        }
    } else if (error == EPROTO) {
        COUNTER_INC(supervisor_ring_corrupt);
        sup_worker_kill(w, "%s", eb.msg);
    }
    return error;
}

/* ----- workers of removed datapaths ------------------------------------ */

/* Stops 'w' for good: a Shutdown if it is serving, then EOF on its
 * socket; its process, if any, becomes an orphan until its exit is
 * reported.  Frees what 'w' owns. */
static void
sup_worker_retire(struct sup_worker *w, const char *reason)
{
    struct supervisor *sup = w->sup;

    if (w->state == SUP_UP) {
        Dpif__Shutdown shutdown = DPIF__SHUTDOWN__INIT;
        shutdown.reason = (char *) reason;
        sup_send(w, IPC_SHUTDOWN, &shutdown.base, NULL, 0);
    }
    sup_worker_release(w);
    if (w->pid) {
        if (sup->n_orphans >= sup->allocated_orphans) {
            sup->allocated_orphans = (sup->allocated_orphans
                                      ? 2 * sup->allocated_orphans : 8);
            sup->orphans = xrealloc(sup->orphans, sup->allocated_orphans
                                    * sizeof *sup->orphans);
        }
        sup->orphans[sup->n_orphans++] = (struct sup_orphan) {
            .pid = w->pid,
            .role = w->role,
            .id = w->id,
            .slot = w->dp->slot,
            /* A dying worker was killed already. */
            .kill_at = (w->state == SUP_DYING ? LLONG_MAX
                        : time_msec() + SUPERVISOR_STOP_GRACE_MSEC),
            .log = w->log,
        };
        worker_log_init(&w->log);
    } else {
        worker_log_close(&w->log);
    }
    w->pid = 0;
    w->state = SUP_DOWN;
    sup_worker_clear_counters(w);
    buf_uninit(&w->pending);
    free(w->inflight);
    w->inflight = NULL;
    w->inflight_first = w->n_inflight = w->inflight_allocated = 0;
}

/* If 'pid' is an orphan, forgets it and returns true: its exit is
 * expected, and it is not restarted. */
static bool
sup_orphan_exited(struct supervisor *sup, pid_t pid, int status)
{
    for (size_t i = 0; i < sup->n_orphans; i++) {
        struct sup_orphan *o = &sup->orphans[i];
        if (o->pid == pid) {
            char how[64];
            sup_describe_exit(status, how, sizeof how);
            LOG_INFO("%s %u (pid %ld) of a removed datapath: %s",
                     worker_role_to_string(o->role), o->id, (long) pid, how);
            worker_log_drain(&o->log);
            sup->orphans[i] = sup->orphans[--sup->n_orphans];
            return true;
        }
    }
    return false;
}

/* Kills the orphans that outstayed their grace period. */
static void
sup_run_orphans(struct supervisor *sup, long long now)
{
    for (size_t i = 0; i < sup->n_orphans; i++) {
        struct sup_orphan *o = &sup->orphans[i];
        struct errbuf eb = { "" };

        worker_log_run(&o->log);
        if (now < o->kill_at) {
            continue;
        }
        LOG_WARN("%s %u (pid %ld) of a removed datapath did not stop "
                 "within %d ms: killing", worker_role_to_string(o->role),
                 o->id, (long) o->pid, SUPERVISOR_STOP_GRACE_MSEC);
        COUNTER_INC(supervisor_worker_killed);
        if (spawner_kill(sup->privd->spawner, o->pid, &eb)
            && LOG_DBG_IS_ON()) {
            LOG_DBG("kill %ld: %s", (long) o->pid, eb.msg);
        }
        o->kill_at = LLONG_MAX;
    }
}

/* ----- handshake ------------------------------------------------------------- */

/* A RingDesc and its three descriptors, for the HelloReply. */
struct sup_reply {
    Dpif__HelloReply msg;
    Dpif__RingDesc ring_descs[SUP_N_RINGS];
    Dpif__RingDesc *ring_ptrs[SUP_N_RINGS];
    Dpif__RegionDesc region;
    Dpif__RegionDesc mac_region;
    Dpif__RegionDesc *region_ptrs[2];
    int fds[IPC_MAX_FDS];
    size_t n_fds;
};

static int
sup_add_ring(struct sup_worker *w, struct sup_reply *r, size_t idx,
             enum shm_ring_role privd_end, struct errbuf *eb)
{
    int error = shm_ring_create(privd_end, SHM_RING_DEFAULT_CAPACITY,
                                IPC_MAX_FRAME, &w->rings[idx], eb);
    if (error) {
        return error;
    }
    Dpif__RingDesc *d = &r->ring_descs[r->msg.n_rings];
    int memfd, data_efd, space_efd;
    size_t capacity;

    dpif__ring_desc__init(d);
    shm_ring_export(w->rings[idx], &memfd, &data_efd, &space_efd, &capacity);
    d->use = (Dpif__RingUse) (idx + 1);
    d->capacity = capacity;
    d->memfd = (uint32_t) r->n_fds;
    r->fds[r->n_fds++] = memfd;
    d->data_eventfd = (uint32_t) r->n_fds;
    r->fds[r->n_fds++] = data_efd;
    d->space_eventfd = (uint32_t) r->n_fds;
    r->fds[r->n_fds++] = space_efd;
    r->ring_ptrs[r->msg.n_rings++] = d;
    return 0;
}

/* Kernel datapaths: attaches handler 'w''s netlink upcall socket (privd
 * keeps owning it, so that a respawned handler gets the same socket and
 * the upcalls queued on it), with the "ovs_packet" family id that its
 * messages carry and the pid for the USERSPACE actions the handler
 * installs.  The socket's index among the attached fds goes to
 * '*indexp'. */
static int
sup_add_upcall_socket(struct sup_worker *w, struct sup_reply *r,
                      uint32_t *indexp, struct errbuf *eb)
{
    struct dpif *dpif = w->dp->pdp->dpif;
    struct dpif_netlink_families families;
    int fd = dpif_netlink_handler_fd(dpif, w->index);

    if (fd < 0) {
        return errbuf_set(eb, ENOENT, "%s has no upcall socket for handler "
                          "%u", dpif_name(dpif), w->index);
    }
    int error = dpif_netlink_families_get(&families);
    if (error) {
        return errbuf_set(eb, error, "openvswitch families: %s",
                          strerror(error));
    }
    *indexp = (uint32_t) r->n_fds;
    r->fds[r->n_fds++] = fd;
    r->msg.upcall_sockets = indexp;
    r->msg.n_upcall_sockets = 1;
    r->msg.has_upcall_family = true;
    r->msg.upcall_family = families.packet;
    r->msg.has_upcall_pid = true;
    r->msg.upcall_pid = dpif_port_get_pid(dpif, DPIF_SPECIAL_PORT_PID);
    return 0;
}

static int
sup_send_reply(struct sup_worker *w, struct errbuf *eb)
{
    struct supervisor *sup = w->sup;
    const struct config *cfg = &sup->privd->cfg;
    struct sup_reply r;
    int error = 0;

    memset(&r, 0, sizeof r);
    dpif__hello_reply__init(&r.msg);
    r.msg.protocol_version = IPC_VERSION;
    r.msg.datapath_name = (char *) dpif_name(w->dp->pdp->dpif);
    r.msg.datapath_type = (char *) dpif_type(w->dp->pdp->dpif);
    r.msg.n_handlers = sup->n_handlers;
    r.msg.n_revalidators = sup->n_revalidators;
    r.msg.batch_size = cfg->batch_size;
    r.msg.flow_limit = (uint32_t) status_page_get(w->dp->status)->flow_limit;
    r.msg.max_idle_msec = cfg->max_idle_ms;
    r.msg.megaflows = status_page_get(w->dp->status)->megaflows;
    r.msg.socket_only = cfg->worker_socket_only;
    r.msg.policy_generation = w->dp->pdp->policy_generation;
    r.msg.rings = r.ring_ptrs;

    if (!cfg->worker_socket_only) {
        if (w->role == WORKER_ROLE_HANDLER && w->dp->userspace) {
            error = sup_add_ring(w, &r, SUP_RING(UPCALLS), SHM_RING_PRODUCER,
                                 eb);
        }
        if (!error) {
            error = sup_add_ring(w, &r, SUP_RING(OPS), SHM_RING_CONSUMER, eb);
        }
        if (!error) {
            error = sup_add_ring(w, &r, SUP_RING(RESULTS), SHM_RING_PRODUCER,
                                 eb);
        }
        if (!error && w->role == WORKER_ROLE_REVALIDATOR) {
            error = sup_add_ring(w, &r, SUP_RING(DUMP), SHM_RING_PRODUCER,
                                 eb);
        }
        if (error) {
            return error;
        }
    }
    dpif__region_desc__init(&r.region);
    r.region.use = DPIF__REGION_USE__REGION_USE_STATUS_PAGE;
    r.region.memfd = (uint32_t) r.n_fds;
    r.region.size = STATUS_PAGE_SIZE;
    r.fds[r.n_fds++] = status_page_fd(w->dp->status);
    r.region_ptrs[r.msg.n_regions++] = &r.region;
    if (w->dp->mac_table_fd >= 0) {
        dpif__region_desc__init(&r.mac_region);
        r.mac_region.use = DPIF__REGION_USE__REGION_USE_MAC_TABLE;
        r.mac_region.memfd = (uint32_t) r.n_fds;
        r.mac_region.size = w->dp->mac_table_size;
        r.fds[r.n_fds++] = w->dp->mac_table_fd;
        r.region_ptrs[r.msg.n_regions++] = &r.mac_region;
    }
    r.msg.regions = r.region_ptrs;

    uint32_t upcall_index;
    if (w->role == WORKER_ROLE_HANDLER && !w->dp->userspace) {
        error = sup_add_upcall_socket(w, &r, &upcall_index, eb);
        if (error) {
            return error;
        }
    }

    error = ipc_send(&w->conn, IPC_HELLO_REPLY, w->seq++, &r.msg.base, r.fds,
                     r.n_fds, eb);
    return error;
}

/* Receives the Hello with the sender's credentials, which the kernel
 * stamps on each datagram (SO_PASSCRED): SO_PEERCRED would name privd
 * itself, the creator of the socketpair, not the worker holding the other
 * end.  Returns 0, EAGAIN, EPIPE or EPROTO (with 'eb'). */
static int
sup_recv_hello(struct sup_worker *w, struct ipc_msg *m, struct ucred *cred,
               struct errbuf *eb)
{
    union {
        char buf[CMSG_SPACE(sizeof(struct ucred))
                 + CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
        struct cmsghdr align;
    } control;
    uint8_t frame[4096];
    struct iovec iov = { .iov_base = frame, .iov_len = sizeof frame };
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    bool have_cred = false, have_fds = false;

    ssize_t n = recvmsg(w->conn.fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) {
        return errno == EAGAIN ? EAGAIN : EPIPE;
    } else if (!n) {
        return EPIPE;
    }
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
         c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS
            && c->cmsg_len == CMSG_LEN(sizeof *cred)) {
            memcpy(cred, CMSG_DATA(c), sizeof *cred);
            have_cred = true;
        } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            size_t n_fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            for (size_t i = 0; i < n_fds; i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
                close(fd);
            }
            have_fds = true;
        }
    }
    if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC) || have_fds || !have_cred) {
        return errbuf_set(eb, EPROTO, "Hello datagram truncated, with "
                          "descriptors or without credentials");
    }
    return ipc_frame_decode(frame, (size_t) n, IPC_TYPE_BIT(IPC_HELLO), m,
                            eb);
}

static void
sup_handle_hello(struct sup_worker *w, const struct ipc_msg *m,
                 const struct ucred *credp)
{
    const Dpif__Hello *h = (const Dpif__Hello *) m->msg;
    struct errbuf eb = { "" };
    struct ucred cred = *credp;
    int off = 0;

    if (h->protocol_version != IPC_VERSION) {
        errbuf_set(&eb, EPROTO, "protocol version %"PRIu32", not %d",
                   h->protocol_version, IPC_VERSION);
    } else if ((unsigned int) h->role != (unsigned int) w->role) {
        errbuf_set(&eb, EPROTO, "claims role %d, spawned as %s", h->role,
                   sup_role_name(w));
    } else if (h->worker_id != w->id) {
        errbuf_set(&eb, EPROTO, "claims id %"PRIu32", spawned as %u",
                   h->worker_id, w->id);
    } else if (cred.pid != w->pid) {
        errbuf_set(&eb, EPROTO, "peer pid %ld is not the spawned pid %ld",
                   (long) cred.pid, (long) w->pid);
    }
    if (eb.msg[0]) {
        COUNTER_INC(supervisor_hello_rejected);
        sup_worker_kill(w, "bad Hello: %s", eb.msg);
        return;
    }
    if (h->pid != (uint32_t) cred.pid) {
        LOG_INFO("%s %u: Hello says pid %"PRIu32", SO_PEERCRED %ld (pid "
                 "namespace?)", sup_role_name(w), w->index, h->pid,
                 (long) cred.pid);
    }
    int error = sup_send_reply(w, &eb);
    if (error) {
        sup_worker_kill(w, "cannot send HelloReply: %s", eb.msg);
        return;
    }
    setsockopt(w->conn.fd, SOL_SOCKET, SO_PASSCRED, &off, sizeof off);
    w->conn.accept = (IPC_TYPE_BIT(IPC_OP_BATCH)
                      | IPC_TYPE_BIT(IPC_DUMP_ACK)
                      | IPC_TYPE_BIT(IPC_COUNTER_REPORT)
                      | IPC_TYPE_BIT(IPC_HELLO));
    w->state = SUP_UP;
    LOG_INFO("%s %u (pid %ld, uid %ld): ready", sup_role_name(w), w->index,
             (long) w->pid, (long) cred.uid);
    sup_send_policy(w);
}

/* ----- worker messages -------------------------------------------------------- */

static bool
sup_counter_name_ok(const char *name)
{
    size_t len = strlen(name);
    if (!len || len > IPC_MAX_NAME) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (!islower((unsigned char) *p) && !isdigit((unsigned char) *p)
            && *p != '_') {
            return false;
        }
    }
    return true;
}

static void
sup_handle_report(struct sup_worker *w, const Dpif__CounterReport *r)
{
    if (!r->n_counters && r->n_memory == 1
        && !strcmp(r->memory[0]->name, SANDBOX_DENIED_SYSCALL_NOTE)) {
        /* Worker-written: used only to describe a death by SIGSYS. */
        w->denied_syscall = r->memory[0]->value < 4096
                            ? (unsigned int) r->memory[0]->value + 1 : 0;
        return;
    }
    w->report_due = 0;          /* Answered, even if badly. */
    for (size_t i = 0; i < r->n_memory; i++) {
        if (!sup_counter_name_ok(r->memory[i]->name)) {
            COUNTER_INC(supervisor_bad_report);
            sup_worker_strike(w, "gauge report with a bad name");
            return;
        }
    }
    for (size_t i = 0; i < r->n_counters; i++) {
        if (!sup_counter_name_ok(r->counters[i]->name)) {
            COUNTER_INC(supervisor_bad_report);
            sup_worker_strike(w, "counter report with a bad name");
            return;
        }
    }
    if (r->n_counters > SUPERVISOR_MAX_WORKER_COUNTERS
        || r->n_memory > SUPERVISOR_MAX_WORKER_COUNTERS) {
        COUNTER_INC(supervisor_bad_report);
        sup_worker_strike(w, "counter report too long");
        return;
    }
    sup_worker_clear_counters(w);
    w->counters = xcalloc(r->n_counters ? r->n_counters : 1,
                          sizeof *w->counters);
    for (size_t i = 0; i < r->n_counters; i++) {
        w->counters[i].name = xstrdup(r->counters[i]->name);
        w->counters[i].value = r->counters[i]->value;
    }
    w->n_counters = r->n_counters;
    w->gauges = xcalloc(r->n_memory ? r->n_memory : 1, sizeof *w->gauges);
    for (size_t i = 0; i < r->n_memory; i++) {
        w->gauges[i].name = xstrdup(r->memory[i]->name);
        w->gauges[i].value = r->memory[i]->value;
    }
    w->n_gauges = r->n_memory;
}

/* Announces to the owning revalidator each flow a handler created. */
struct sup_announce {
    struct sup_dp *dp;          /* The datapath. */
    struct supervisor *sup;     /* The supervisor. */
    uint64_t generation;        /* Policy generation to announce. */
};

static void
sup_announce_flow(const struct dpif_flow_put *put, const union ufid *ufid,
                  void *a_)
{
    struct sup_announce *a = a_;
    unsigned int shard = ufid_shard(ufid, a->sup->n_revalidators);
    struct sup_worker *rv = &a->dp->revalidators[shard];
    Dpif__FlowAnnouncement ann = DPIF__FLOW_ANNOUNCEMENT__INIT;
    Dpif__Flow flow = DPIF__FLOW__INIT;
    Dpif__Flow *flows[1] = { &flow };

    if (rv->state != SUP_UP) {
        COUNTER_INC(supervisor_announce_dropped);
        return;
    }
    flow.has_ufid = flow.has_key = flow.has_mask = flow.has_actions = true;
    flow.ufid.data = (uint8_t *) ufid;
    flow.ufid.len = IPC_UFID_LEN;
    flow.key.data = (uint8_t *) put->key;
    flow.key.len = put->key_len;
    flow.mask.data = (uint8_t *) put->mask;
    flow.mask.len = put->mask_len;
    flow.actions.data = (uint8_t *) put->actions;
    flow.actions.len = put->actions_len;
    ann.flows = flows;
    ann.n_flows = 1;
    ann.policy_generation = a->generation;
    if (sup_deliver(rv, SUP_RING(DUMP), IPC_FLOW_ANNOUNCEMENT, &ann.base)) {
        COUNTER_INC(supervisor_announce_dropped);
    }
}

/* Delivers the pending results frame, if any.  Returns true if none is
 * left pending. */
static bool
sup_flush_pending(struct sup_worker *w)
{
    struct errbuf eb = { "" };

    if (!w->pending.size) {
        return true;
    }
    int error;
    if (w->rings[SUP_RING(RESULTS)]) {
        error = shm_ring_push(w->rings[SUP_RING(RESULTS)], w->pending.data,
                              w->pending.size, &eb);
    } else {
        error = ipc_send_frame(w->conn.fd, w->pending.data, w->pending.size,
                               NULL, 0, &eb);
        if (error == EAGAIN) {
            error = ENOBUFS;
        }
    }
    if (error == ENOBUFS) {
        return false;
    } else if (error == EPROTO) {
        COUNTER_INC(supervisor_ring_corrupt);
        sup_worker_kill(w, "%s", eb.msg);
        return false;
    }
    buf_clear(&w->pending);
    return true;
}

static void
sup_handle_op_batch(struct sup_worker *w, const struct ipc_msg *m)
{
    struct supervisor *sup = w->sup;
    struct op_batch *b = sup->batch;
    struct op_context ctx = {
        .dpif = w->dp->pdp->dpif,
        .role = w->role,
        .worker_index = w->index,
        .n_revalidators = sup->n_revalidators,
        .batch_size = sup->privd->cfg.batch_size,
        .flow_limit = status_page_get(w->dp->status)->flow_limit,
        .work = &w->work,
        .ledger = w->dp->ledger,
    };
    Dpif__OpResults results;
    struct errbuf eb = { "" };

    w->n_batches++;
    op_batch_check(b, &ctx, (const Dpif__OpBatch *) m->msg);
    op_batch_execute(b, ctx.dpif);
    op_batch_to_results(b, &results);

    buf_clear(&w->pending);
    if (ipc_frame_pack(IPC_OP_RESULTS, m->hdr.seq, &results.base,
                       &w->pending, &eb)) {
        LOG_ERR("%s %u: cannot pack results: %s", sup_role_name(w),
                w->index, eb.msg);
        buf_clear(&w->pending);
    } else if (!sup_flush_pending(w)) {
        COUNTER_INC(supervisor_results_backlog);
    }

    if (w->role == WORKER_ROLE_HANDLER) {
        struct sup_announce a = { w->dp, sup, w->dp->pdp->policy_generation };
        op_batch_for_each_created(b, sup_announce_flow, &a);
    }
    if (b->n_rejected && w->state == SUP_UP) {
        sup_worker_strike(w, b->error ? b->reason.msg
                          : "op batch with refused ops");
    } else if (b->n_throttled && w->state == SUP_UP
               && time_msec() - w->throttle_strike
                  >= SUPERVISOR_THROTTLE_STRIKE_MSEC) {
        w->throttle_strike = time_msec();
        sup_worker_strike(w, "Execute work budget exceeded");
    }
    op_batch_clear(b);
}

static void
sup_handle_msg(struct sup_worker *w, const struct ipc_msg *m)
{
    char why[96];

    switch (m->hdr.type) {
    case IPC_HELLO:
        break;
    case IPC_OP_BATCH:
        sup_handle_op_batch(w, m);
        return;
    case IPC_COUNTER_REPORT:
        sup_handle_report(w, (const Dpif__CounterReport *) m->msg);
        return;
    case IPC_DUMP_ACK:
        if (w->role == WORKER_ROLE_REVALIDATOR) {
            dump_pump_handle_ack(w->dp->pump, w->index, w->pid,
                                 (const Dpif__DumpAck *) m->msg);
            return;
        }
        break;
    default:
        break;
    }
    COUNTER_INC(supervisor_unexpected_msg);
    snprintf(why, sizeof why, "unexpected %s from a %s",
             ipc_type_name(m->hdr.type), sup_role_name(w));
    sup_worker_strike(w, why);
}

/* Reads what the worker's socket holds. */
static void
sup_run_socket(struct sup_worker *w)
{
    for (int i = 0; i < SUP_MAX_BATCHES_PER_RUN; i++) {
        struct errbuf eb = { "" };
        struct ipc_msg m;

        if (w->conn.fd < 0 || (w->state != SUP_HELLO && w->state != SUP_UP)
            || w->pending.size) {
            return;
        }
        struct ucred cred;
        int error = (w->state == SUP_HELLO
                     ? sup_recv_hello(w, &m, &cred, &eb)
                     : ipc_recv(&w->conn, &m, &eb));
        if (error == EAGAIN) {
            return;
        } else if (error == EPIPE) {
            /* It died, or closed the socket: either way it is done. */
            sup_worker_release(w);
            w->state = SUP_DYING;
            /* Harmless ESRCH if it already exited; needed if it only
             * closed the socket. */
            spawner_kill(w->sup->privd->spawner, w->pid, NULL);
            return;
        } else if (error == EPROTO) {
            if (w->state == SUP_HELLO) {
                COUNTER_INC(supervisor_hello_rejected);
                sup_worker_kill(w, "before its Hello: %s", eb.msg);
                return;
            }
            sup_worker_strike(w, eb.msg);
            continue;
        } else if (error) {
            sup_worker_kill(w, "control socket: %s", eb.msg);
            return;
        }
        if (w->state == SUP_HELLO) {
            sup_handle_hello(w, &m, &cred);
        } else {
            sup_handle_msg(w, &m);
        }
        ipc_msg_destroy(&m);
    }
}

/* Takes op batches out of the worker's ops ring. */
static void
sup_run_ops_ring(struct sup_worker *w)
{
    struct supervisor *sup = w->sup;

    for (int i = 0; i < SUP_MAX_BATCHES_PER_RUN; i++) {
        struct shm_ring *r = w->rings[SUP_RING(OPS)];
        struct errbuf eb = { "" };
        struct ipc_msg m;

        if (!r || w->state != SUP_UP || !sup_flush_pending(w)) {
            return;
        }
        if (w->ring_waiting[SUP_RING(OPS)]) {
            shm_ring_ack_wait(r);
            w->ring_waiting[SUP_RING(OPS)] = false;
        }
        int error = shm_ring_pop(r, &sup->rx, &eb);
        if (error == EAGAIN) {
            return;
        } else if (error) {
            COUNTER_INC(supervisor_ring_corrupt);
            sup_worker_kill(w, "ops ring: %s", eb.msg);
            return;
        }
        error = ipc_frame_decode(sup->rx.data, sup->rx.size,
                                 IPC_TYPE_BIT(IPC_OP_BATCH), &m, &eb);
        if (error) {
            sup_worker_strike(w, eb.msg);
            continue;
        }
        sup_handle_op_batch(w, &m);
        ipc_msg_destroy(&m);
    }
}

/* ----- upcalls ----------------------------------------------------------------- */

static void
sup_pump_upcalls(struct sup_worker *w)
{
    struct supervisor *sup = w->sup;
    struct dpif *dpif = w->dp->pdp->dpif;
    unsigned int max = MIN(sup->privd->cfg.batch_size, IPC_MAX_BATCH);
    struct dpif_upcall ups[IPC_MAX_BATCH];
    Dpif__Upcall msgs[IPC_MAX_BATCH];
    Dpif__Upcall *ptrs[IPC_MAX_BATCH];
    size_t n = 0, bytes = 0;

    if (w->state != SUP_UP || !w->dp->userspace) {
        return;
    }
    for (; n < max; n++) {
        dpif_upcall_init(&ups[n]);
        if (dpif_recv(dpif, w->index, &ups[n])) {
            dpif_upcall_uninit(&ups[n]);
            break;
        }
        struct dpif_upcall *u = &ups[n];
        Dpif__Upcall *pm = &msgs[n];
        dpif__upcall__init(pm);
        pm->type = (u->type == DPIF_UC_ACTION ? DPIF__UPCALL_TYPE__UPCALL_TYPE_ACTION
                    : DPIF__UPCALL_TYPE__UPCALL_TYPE_MISS);
        pm->key.data = u->key.data;
        pm->key.len = u->key.size;
        pm->packet.data = u->packet.data;
        pm->packet.len = u->packet.size;
        if (u->type == DPIF_UC_ACTION) {
            pm->has_userdata = true;
            pm->userdata.data = u->userdata.data;
            pm->userdata.len = u->userdata.size;
        }
        pm->in_port = u->in_port;
        pm->has_channel = true;
        pm->channel = u->pid;
        ptrs[n] = pm;
        bytes += u->key.size + u->packet.size + u->userdata.size + 64;
        if (bytes > IPC_MAX_MSG / 2) {
            n++;
            break;
        }
    }
    if (n) {
        Dpif__UpcallBatch batch = DPIF__UPCALL_BATCH__INIT;
        batch.upcalls = ptrs;
        batch.n_upcalls = n;
        if (sup_deliver(w, SUP_RING(UPCALLS), IPC_UPCALL_BATCH,
                        &batch.base)) {
            COUNTER_ADD(supervisor_upcalls_dropped, n);
        } else {
            COUNTER_ADD(supervisor_upcalls_sent, n);
            if (w->rings[SUP_RING(UPCALLS)]) {
                sup_note_inflight(w, n);
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        dpif_upcall_uninit(&ups[i]);
    }
}

/* ----- liveness watchdog ------------------------------------------- */

/* True for the rings privd produces into (the worker consumes them). */
static bool
sup_ring_is_privd_producer(size_t idx)
{
    return idx != SUP_RING(OPS);
}

/* Notes what 'w' owes privd and since when: a ReportRequest it has not
 * answered, and each ring privd produces into that holds records the
 * worker has not taken while its tail stands still.  A worker that owes
 * nothing is never stuck, however quiet.  One that owes something for
 * SUPERVISOR_STUCK_MSEC is shown as "stuck" (and counted); for
 * SUPERVISOR_STUCK_KILL_MSEC, it is killed and respawned: SIGSTOPped, in
 * an endless loop, or not reading its rings.  Returns false if 'w' was
 * killed. */
static bool
sup_run_watchdog(struct sup_worker *w, long long now)
{
    long long owed = w->report_due;

    for (size_t i = 0; i < SUP_N_RINGS; i++) {
        struct shm_ring *r = w->rings[i];
        struct errbuf eb = { "" };
        uint64_t tail;

        if (!r || !sup_ring_is_privd_producer(i)) {
            continue;
        }
        if (shm_ring_consumed(r, &tail, &eb)) {
            COUNTER_INC(supervisor_ring_corrupt);
            sup_worker_kill(w, "%s", eb.msg);
            return false;
        }
        if (tail == shm_ring_produced(r)) {
            w->ring_stall[i] = 0;
        } else if (tail != w->ring_tail[i] || !w->ring_stall[i]) {
            w->ring_stall[i] = now;
        }
        w->ring_tail[i] = tail;
        if (w->ring_stall[i] && (!owed || w->ring_stall[i] < owed)) {
            owed = w->ring_stall[i];
        }
    }
    w->owed_since = owed;

    long long idle = owed ? now - owed : 0;
    if (idle >= SUPERVISOR_STUCK_KILL_MSEC) {
        COUNTER_INC(supervisor_watchdog_kill);
        sup_worker_kill(w, "stuck: owed privd a reply or took nothing from "
                        "a ring for %lld ms", idle);
        return false;
    } else if (idle >= SUPERVISOR_STUCK_MSEC) {
        if (!w->stuck_since) {
            w->stuck_since = now;
            COUNTER_INC(supervisor_worker_stuck);
            LOG_WARN("%s %u (pid %ld): stuck for %lld ms (killed at %d ms)",
                     sup_role_name(w), w->index, (long) w->pid, idle,
                     SUPERVISOR_STUCK_KILL_MSEC);
        }
    } else if (w->stuck_since) {
        LOG_INFO("%s %u (pid %ld): no longer stuck", sup_role_name(w),
                 w->index, (long) w->pid);
        w->stuck_since = 0;
    }
    return true;
}

/* ----- periodic work --------------------------------------------------------------- */

static void
sup_send_report_requests(struct supervisor *sup)
{
    Dpif__ReportRequest req = DPIF__REPORT_REQUEST__INIT;

    req.request_id = ++sup->report_seq;
    SUP_FOR_EACH_WORKER (w, sup) {
        if (w->state == SUP_UP) {
            w->report_id = req.request_id;
            if (!w->report_due) {
                w->report_due = time_msec();
            }
            sup_send(w, IPC_REPORT_REQUEST, &req.base, NULL, 0);
        }
    }
}

static void
sup_update_status(struct supervisor *sup)
{
    for (size_t i = 0; i < sup->n_dps; i++) {
        struct sup_dp *d = sup->dps[i];
        struct status_page_values v = *status_page_get(d->status);
        struct dpif_dp_stats stats;

        if (!dpif_get_dp_stats(d->pdp->dpif, &stats)) {
            v.flow_count = stats.n_flows;
        }
        v.policy_generation = d->pdp->policy_generation;
        if (!status_page_values_equal(&v, status_page_get(d->status))) {
            status_page_publish(d->status, &v);
        }
    }
}

void
supervisor_run(struct supervisor *sup)
{
    struct privd *privd = sup->privd;
    long long now = time_msec();
    pid_t pid;
    int status;
    struct errbuf eb = { "" };

    for (;;) {
        int error = spawner_recv_exit(privd->spawner, &pid, &status, &eb);
        if (error == EAGAIN) {
            break;
        } else if (error == EPIPE && privd->exiting) {
            /* Stopped along with privd (a signal to the process group). */
            LOG_INFO("spawner: %s while dpifd is exiting", eb.msg);
            break;
        } else if (error) {
            static struct log_rl rl = LOG_RL_INIT(1, 5);
            LOG_ERR_RL(&rl, "spawner: %s", eb.msg);
            break;
        }
        if (sup_orphan_exited(sup, pid, status)) {
            continue;
        }
        SUP_FOR_EACH_WORKER (w, sup) {
            if (w->pid == pid && w->state != SUP_DOWN) {
                sup_worker_exited(w, status);
            }
        }
    }
    sup_run_orphans(sup, now);

    SUP_FOR_EACH_WORKER (w, sup) {
        worker_log_run(&w->log);
        switch (w->state) {
        case SUP_DOWN:
            if (now >= w->restart_at) {
                w->restarts++;
                sup_worker_spawn(w);
            }
            break;
        case SUP_HELLO:
            sup_run_socket(w);
            if (w->state == SUP_HELLO && now >= w->hello_deadline) {
                COUNTER_INC(supervisor_hello_timeout);
                sup_worker_kill(w, "no Hello within %d ms",
                                SUPERVISOR_HELLO_TIMEOUT_MSEC);
            }
            break;
        case SUP_UP:
            sup_run_socket(w);
            if (w->state == SUP_UP && w->policy_owed) {
                sup_send_policy(w);
            }
            sup_run_ops_ring(w);
            if (w->state == SUP_UP && w->role == WORKER_ROLE_HANDLER) {
                sup_pump_upcalls(w);
            }
            if (w->state == SUP_UP) {
                sup_run_watchdog(w, now);
            }
            break;
        case SUP_DYING:
            break;
        }
    }

    if (now >= sup->next_report) {
        sup->next_report = now + SUPERVISOR_REPORT_INTERVAL_MSEC;
        sup_send_report_requests(sup);
    }
    if (now >= sup->next_status) {
        sup->next_status = now + SUPERVISOR_STATUS_INTERVAL_MSEC;
        sup_update_status(sup);
    }
    for (size_t i = 0; i < sup->n_dps; i++) {
        dump_pump_run(sup->dps[i]->pump);
    }
}

/* Sleeps on ring 'idx' of 'w' until 'len' bytes fit (privd producing) or
 * a record arrives (privd consuming).  The doorbell is privd's own,
 * non-blocking end (common/shm-ring.h), so resetting it after the last
 * wake-up cannot block, whatever the worker did to its end. */
static void
sup_ring_wait(struct sup_worker *w, size_t idx, size_t len,
              struct poller *p)
{
    struct shm_ring *r = w->rings[idx];

    if (w->ring_waiting[idx]) {
        shm_ring_ack_wait(r);
        w->ring_waiting[idx] = false;
    }
    if (shm_ring_prepare_wait(r, len)) {
        w->ring_waiting[idx] = true;
        poller_fd_wait(p, shm_ring_wait_fd(r), POLLIN);
    } else {
        poller_immediate_wake(p);
    }
}

void
supervisor_wait(struct supervisor *sup, struct poller *p)
{
    poller_fd_wait(p, spawner_get_fd(sup->privd->spawner), POLLIN);
    poller_timer_wait(p, sup->next_report);
    poller_timer_wait(p, sup->next_status);
    for (size_t i = 0; i < sup->n_orphans; i++) {
        poller_timer_wait(p, sup->orphans[i].kill_at);
        worker_log_wait(&sup->orphans[i].log, p);
    }
    for (size_t i = 0; i < sup->n_dps; i++) {
        dump_pump_wait(sup->dps[i]->pump, p);
    }
    SUP_FOR_EACH_WORKER (w, sup) {
        worker_log_wait(&w->log, p);
        switch (w->state) {
        case SUP_DOWN:
            poller_timer_wait(p, w->restart_at);
            break;
        case SUP_HELLO:
            poller_timer_wait(p, w->hello_deadline);
            poller_fd_wait(p, w->conn.fd, POLLIN);
            break;
        case SUP_UP: {
            struct shm_ring *ops = w->rings[SUP_RING(OPS)];
            struct shm_ring *res = w->rings[SUP_RING(RESULTS)];

            if (w->owed_since) {
                poller_timer_wait(p, w->owed_since
                                  + (w->stuck_since
                                     ? SUPERVISOR_STUCK_KILL_MSEC
                                     : SUPERVISOR_STUCK_MSEC));
            }
            if (w->pending.size) {
                /* Backpressure: wait for room for the results only. */
                if (res) {
                    sup_ring_wait(w, SUP_RING(RESULTS), w->pending.size, p);
                } else {
                    poller_fd_wait(p, w->conn.fd, POLLOUT);
                }
                break;
            }
            if (res && w->ring_waiting[SUP_RING(RESULTS)]) {
                shm_ring_ack_wait(res);
                w->ring_waiting[SUP_RING(RESULTS)] = false;
            }
            poller_fd_wait(p, w->conn.fd, POLLIN);
            if (ops) {
                sup_ring_wait(w, SUP_RING(OPS), 0, p);
            }
            if (w->role == WORKER_ROLE_HANDLER && w->dp->userspace) {
                dpif_recv_wait(w->dp->pdp->dpif, w->index, p);
            }
            break;
        }
        case SUP_DYING:
            break;
        }
    }
}

/* ----- creation and destruction ------------------------------------------------- */

static void
sup_worker_init(struct supervisor *sup, struct sup_dp *d,
                struct sup_worker *w, enum worker_role role,
                unsigned int index)
{
    memset(w, 0, sizeof *w);
    w->sup = sup;
    w->dp = d;
    w->role = role;
    w->index = index;
    w->id = d->slot * CONFIG_MAX_WORKERS + index;
    w->conn.fd = -1;
    w->backoff_msec = SUPERVISOR_BACKOFF_MIN_MSEC;
    w->state = SUP_DOWN;
    buf_init(&w->pending, 0);
    worker_log_init(&w->log);
}

static bool
sup_slot_in_use(const struct supervisor *sup, unsigned int slot)
{
    for (size_t i = 0; i < sup->n_dps; i++) {
        if (sup->dps[i]->slot == slot) {
            return true;
        }
    }
    return false;
}

static bool
sup_slot_has_orphans(const struct supervisor *sup, unsigned int slot)
{
    for (size_t i = 0; i < sup->n_orphans; i++) {
        if (sup->orphans[i].slot == slot) {
            return true;
        }
    }
    return false;
}

/* Chooses the worker id block of a new datapath: the next free slot round
 * robin, preferring one that no process of a removed datapath still uses
 * (exits are matched by pid, so sharing an id with such a process is
 * harmless, only confusing in logs).  UINT_MAX if every slot is taken. */
static unsigned int
sup_pick_slot(const struct supervisor *sup)
{
    unsigned int fallback = UINT_MAX;

    for (unsigned int k = 0; k < CONFIG_MAX_DATAPATHS; k++) {
        unsigned int slot = (sup->next_slot + k) % CONFIG_MAX_DATAPATHS;
        if (sup_slot_in_use(sup, slot)) {
            continue;
        }
        if (!sup_slot_has_orphans(sup, slot)) {
            return slot;
        }
        if (fallback == UINT_MAX) {
            fallback = slot;
        }
    }
    return fallback;
}

int
supervisor_add_dp(struct supervisor *sup, struct privd_dp *pdp)
{
    const struct config *cfg = &sup->privd->cfg;
    const char *name = dpif_name(pdp->dpif);
    struct errbuf eb = { "" };
    struct status_page *status;

    unsigned int slot = sup_pick_slot(sup);
    if (slot == UINT_MAX) {
        LOG_ERR("%s: already %d datapaths with workers", name,
                CONFIG_MAX_DATAPATHS);
        return E2BIG;
    }
    struct status_page_values v = {
        .flow_limit = cfg->flow_limit,
        .megaflows = true,
        .policy_generation = pdp->policy_generation,
    };
    int error = status_page_create(&v, &status, &eb);
    if (error) {
        LOG_ERR("%s: %s", name, eb.msg);
        return error;
    }
    /* Userspace datapaths queue upcalls in privd, which pumps them into the
     * handlers' rings; a kernel datapath gets one netlink socket per
     * handler, which privd only passes on. */
    error = dpif_handlers_set(pdp->dpif, sup->n_handlers);
    if (!error) {
        error = dpif_recv_set(pdp->dpif, true);
    }
    if (error) {
        LOG_ERR("%s: cannot enable upcalls for %u handlers: %s", name,
                sup->n_handlers, strerror(error));
        status_page_destroy(status);
        return error;
    }

    struct sup_dp *d = xzalloc(sizeof *d);
    d->pdp = pdp;
    d->slot = slot;
    d->userspace = strcmp(dpif_type(pdp->dpif), "system") != 0;
    d->status = status;
    d->mac_table_fd = -1;
    d->handlers = xcalloc(sup->n_handlers, sizeof *d->handlers);
    d->revalidators = xcalloc(sup->n_revalidators, sizeof *d->revalidators);
    for (unsigned int j = 0; j < sup->n_handlers; j++) {
        sup_worker_init(sup, d, &d->handlers[j], WORKER_ROLE_HANDLER, j);
    }
    for (unsigned int j = 0; j < sup->n_revalidators; j++) {
        sup_worker_init(sup, d, &d->revalidators[j], WORKER_ROLE_REVALIDATOR,
                        j);
    }
    d->pump = dump_pump_create(sup, pdp, d->status, sup->n_revalidators,
                               cfg->flow_limit, cfg->max_idle_ms);
    uint64_t dp_budget, worker_budget;
    flow_ledger_budgets(cfg->flow_limit, sup->n_handlers, &dp_budget,
                        &worker_budget);
    d->ledger = flow_ledger_create(dp_budget, worker_budget,
                                   sup->n_handlers);
    sup->dps = xrealloc(sup->dps, (sup->n_dps + 1) * sizeof *sup->dps);
    sup->dps[sup->n_dps++] = d;
    sup->next_slot = (slot + 1) % CONFIG_MAX_DATAPATHS;

    LOG_INFO("%s: starting %u handlers and %u revalidators (worker ids "
             "from %u)", name, sup->n_handlers, sup->n_revalidators,
             slot * CONFIG_MAX_WORKERS);
    for (unsigned int j = 0; j < sup->n_handlers; j++) {
        sup_worker_spawn(&d->handlers[j]);
    }
    for (unsigned int j = 0; j < sup->n_revalidators; j++) {
        sup_worker_spawn(&d->revalidators[j]);
    }
    return 0;
}

/* Retires every worker of 'd' with 'reason' and frees 'd'. */
static void
sup_dp_destroy(struct supervisor *sup, struct sup_dp *d, const char *reason)
{
    for (unsigned int j = 0; j < sup->n_handlers; j++) {
        sup_worker_retire(&d->handlers[j], reason);
    }
    for (unsigned int j = 0; j < sup->n_revalidators; j++) {
        sup_worker_retire(&d->revalidators[j], reason);
    }
    free(d->handlers);
    free(d->revalidators);
    dump_pump_destroy(d->pump);
    flow_ledger_destroy(d->ledger);
    status_page_destroy(d->status);
    if (d->policy) {
        dpif__policy_update__free_unpacked(d->policy, NULL);
    }
    free(d);
}

void
supervisor_remove_dp(struct supervisor *sup, struct privd_dp *pdp)
{
    for (size_t i = 0; i < sup->n_dps; i++) {
        struct sup_dp *d = sup->dps[i];
        if (d->pdp != pdp) {
            continue;
        }
        char reason[IPC_MAX_REASON];
        snprintf(reason, sizeof reason, "datapath %s is removed",
                 dpif_name(pdp->dpif));
        LOG_INFO("%s: stopping its workers", dpif_name(pdp->dpif));
        dpif_recv_set(pdp->dpif, false);
        memmove(&sup->dps[i], &sup->dps[i + 1],
                (sup->n_dps - i - 1) * sizeof *sup->dps);
        sup->n_dps--;
        sup_dp_destroy(sup, d, reason);
        return;
    }
}

int
supervisor_create(struct privd *privd, struct supervisor **supp)
{
    struct supervisor *sup = xzalloc(sizeof *sup);
    const struct config *cfg = &privd->cfg;

    sup->privd = privd;
    sup->n_handlers = MIN(MAX(cfg->n_handlers, 1u), CONFIG_MAX_WORKERS);
    sup->n_revalidators = MIN(MAX(cfg->n_revalidators, 1u),
                              CONFIG_MAX_WORKERS);
    sup->batch = op_batch_create();
    buf_init(&sup->rx, 0);
    for (size_t i = 0; i < privd->n_dps; i++) {
        int error = supervisor_add_dp(sup, privd->dps[i]);
        if (error) {
            supervisor_destroy(sup);
            return error;
        }
    }
    long long now = time_msec();
    sup->next_report = now + SUPERVISOR_REPORT_INTERVAL_MSEC;
    sup->next_status = now;
    *supp = sup;
    return 0;
}

/* The workers' last words as they exit: their logs until EOF, for at
 * most SUPERVISOR_LOG_DRAIN_MSEC. */
static void
sup_drain_orphan_logs(struct supervisor *sup)
{
    long long deadline = time_msec() + SUPERVISOR_LOG_DRAIN_MSEC;

    for (;;) {
        struct poller p;
        bool open = false;

        poller_clear(&p);
        for (size_t i = 0; i < sup->n_orphans; i++) {
            worker_log_run(&sup->orphans[i].log);
            worker_log_wait(&sup->orphans[i].log, &p);
            open |= sup->orphans[i].log.fd >= 0;
        }
        if (!open || time_msec() >= deadline) {
            break;
        }
        poller_timer_wait(&p, deadline);
        poller_block(&p);
    }
    for (size_t i = 0; i < sup->n_orphans; i++) {
        worker_log_close(&sup->orphans[i].log);
    }
}

void
supervisor_destroy(struct supervisor *sup)
{
    if (!sup) {
        return;
    }
    /* The workers exit on the Shutdown or on EOF; their exits are no
     * longer listened to. */
    for (size_t i = 0; i < sup->n_dps; i++) {
        sup_dp_destroy(sup, sup->dps[i], "dpifd is exiting");
    }
    sup_drain_orphan_logs(sup);
    free(sup->dps);
    free(sup->orphans);
    op_batch_destroy(sup->batch);
    buf_uninit(&sup->rx);
    free(sup);
}

/* ----- introspection ----------------------------------------------------------------- */

void
proc_read_status(pid_t pid, uid_t *uidp, uint64_t *capp)
{
    char path[64], line[256];
    FILE *f;

    *uidp = (uid_t) -1;
    *capp = 0;
    snprintf(path, sizeof path, "/proc/%ld/status", (long) pid);
    f = fopen(path, "re");
    if (!f) {
        return;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned long uid;
        unsigned long long cap;
        if (sscanf(line, "Uid: %lu", &uid) == 1) {
            *uidp = (uid_t) uid;
        } else if (sscanf(line, "CapEff: %llx", &cap) == 1) {
            *capp = cap;
        }
    }
    fclose(f);
}

void
supervisor_for_each_proc(const struct supervisor *sup,
                         void (*cb)(const struct proc_info *, void *aux),
                         void *aux)
{
    if (sup->privd->spawner) {
        struct proc_info info = {
            .role = "spawner",
            .pid = spawner_get_pid(sup->privd->spawner),
            .state = "running",
            .start_msec = sup->privd->start_msec, /* Forked at startup. */
            .last_exit_reason = "",
        };
        proc_read_status(info.pid, &info.uid, &info.cap_eff);
        cb(&info, aux);
    }
    SUP_FOR_EACH_WORKER (w, sup) {
        static const char *const states[] = {
            [SUP_DOWN] = "down",
            [SUP_HELLO] = "starting",
            [SUP_UP] = "running",
            [SUP_DYING] = "stopping",
        };
        bool stuck = w->state == SUP_UP && w->stuck_since;
        struct proc_info info = {
            .role = sup_role_name(w),
            .id = w->id,
            .dp = dpif_name(w->dp->pdp->dpif),
            .state = stuck ? "stuck" : states[w->state],
            .pid = w->pid,
            .uid = (uid_t) -1,
            .start_msec = w->start_msec,
            .restarts = w->restarts,
            .last_exit_reason = w->last_exit,
        };
        if (w->pid) {
            proc_read_status(w->pid, &info.uid, &info.cap_eff);
        }
        cb(&info, aux);
    }
}

void
supervisor_request_reports(struct supervisor *sup)
{
    sup_send_report_requests(sup);
}

void
supervisor_for_each_counter(const struct supervisor *sup,
                            void (*cb)(const char *name, uint64_t value,
                                       void *aux),
                            void *aux)
{
    /* Sums by role and name: for each counter, add up the same name in
     * every later worker of the role unless an earlier one already
     * reported it. */
    size_t n_workers = sup->n_dps * (sup->n_handlers + sup->n_revalidators);
    for (size_t a = 0; a < n_workers; a++) {
        const struct sup_worker *wa = sup_worker_at(
            sup, a / (sup->n_handlers + sup->n_revalidators),
            a % (sup->n_handlers + sup->n_revalidators));
        for (size_t i = 0; i < wa->n_counters; i++) {
            const char *name = wa->counters[i].name;
            bool seen = false;
            uint64_t sum = 0;

            for (size_t b = 0; b < n_workers && !seen; b++) {
                const struct sup_worker *wb = sup_worker_at(
                    sup, b / (sup->n_handlers + sup->n_revalidators),
                    b % (sup->n_handlers + sup->n_revalidators));
                if (wb->role != wa->role) {
                    continue;
                }
                for (size_t j = 0; j < wb->n_counters; j++) {
                    if (!strcmp(wb->counters[j].name, name)) {
                        if (b < a) {
                            seen = true;
                        }
                        sum += wb->counters[j].value;
                        break;
                    }
                }
            }
            if (!seen) {
                char full[IPC_MAX_NAME + 32];
                snprintf(full, sizeof full, "%s/%s", sup_role_name(wa), name);
                cb(full, sum, aux);
            }
        }
    }
}

void
supervisor_for_each_worker_counter(
    const struct supervisor *sup,
    void (*cb)(const char *process, const char *name, uint64_t value,
               void *aux),
    void *aux)
{
    SUP_FOR_EACH_WORKER (w, sup) {
        char process[64];
        if (sup->n_dps > 1) {
            snprintf(process, sizeof process, "%s%u@%s", sup_role_name(w),
                     w->index, w->dp->pdp->dpif ? dpif_name(w->dp->pdp->dpif)
                                                : "?");
        } else {
            snprintf(process, sizeof process, "%s%u", sup_role_name(w),
                     w->index);
        }
        for (size_t i = 0; i < w->n_counters; i++) {
            cb(process, w->counters[i].name, w->counters[i].value, aux);
        }
    }
}

void
supervisor_set_policy_generation(struct supervisor *sup,
                                 const struct privd_dp *pdp,
                                 uint64_t generation)
{
    struct sup_dp *d = sup_find_dp(sup, pdp);
    if (d) {
        struct status_page_values v = *status_page_get(d->status);
        v.policy_generation = generation;
        status_page_publish(d->status, &v);
    }
}

void
supervisor_set_mac_table(struct supervisor *sup, const struct privd_dp *pdp,
                         int fd, uint64_t size, const struct mac_table *macs)
{
    struct sup_dp *d = sup_find_dp(sup, pdp);
    if (d) {
        d->mac_table_fd = fd;
        d->mac_table_size = size;
        dump_pump_set_mac_table(d->pump, macs);
    }
}

int
supervisor_set_policy(struct supervisor *sup, const struct privd_dp *pdp,
                      const struct Dpif__PolicyUpdate *update)
{
    struct sup_dp *d = sup_find_dp(sup, pdp);
    if (!d) {
        return EINVAL;
    }
    size_t len = dpif__policy_update__get_packed_size(update);
    uint8_t *packed = xmalloc(len ? len : 1);
    dpif__policy_update__pack(update, packed);
    Dpif__PolicyUpdate *copy = dpif__policy_update__unpack(NULL, len,
                                                           packed);
    free(packed);
    if (!copy) {
        return EINVAL;
    }
    if (d->policy) {
        dpif__policy_update__free_unpacked(d->policy, NULL);
    }
    d->policy = copy;
    supervisor_set_policy_generation(sup, pdp, copy->generation);
    for (unsigned int i = 0; i < sup->n_handlers; i++) {
        if (d->handlers[i].state == SUP_UP) {
            sup_send_policy(&d->handlers[i]);
        }
    }
    for (unsigned int i = 0; i < sup->n_revalidators; i++) {
        if (d->revalidators[i].state == SUP_UP) {
            sup_send_policy(&d->revalidators[i]);
        }
    }
    return 0;
}

void
supervisor_set_megaflows(struct supervisor *sup, const struct privd_dp *pdp,
                         bool on)
{
    struct sup_dp *d = sup_find_dp(sup, pdp);
    if (d) {
        struct status_page_values v = *status_page_get(d->status);
        v.megaflows = on;
        status_page_publish(d->status, &v);
    }
}

unsigned int
supervisor_n_ready(const struct supervisor *sup)
{
    unsigned int n = 0;
    SUP_FOR_EACH_WORKER (w, sup) {
        n += w->state == SUP_UP;
    }
    return n;
}

/* ----- dump pump hooks (privd/dump-pump.h) ----------------------------------- */

int
supervisor_send_dump(struct supervisor *sup, const struct privd_dp *pdp,
                     unsigned int shard, const Dpif__DumpShard *msg)
{
    struct sup_dp *d = sup_find_dp(sup, pdp);
    if (!d || shard >= sup->n_revalidators) {
        return EINVAL;
    }
    struct sup_worker *w = &d->revalidators[shard];
    if (w->state != SUP_UP) {
        return ENOTCONN;
    }
    return sup_deliver(w, SUP_RING(DUMP), IPC_DUMP_SHARD, &msg->base);
}

pid_t
supervisor_revalidator_pid(const struct supervisor *sup,
                           const struct privd_dp *pdp, unsigned int shard)
{
    const struct sup_dp *d = sup_find_dp(sup, pdp);
    if (!d || shard >= sup->n_revalidators) {
        return 0;
    }
    const struct sup_worker *w = &d->revalidators[shard];
    return w->state == SUP_UP ? w->pid : 0;
}

uint64_t
supervisor_revalidator_progress(const struct supervisor *sup,
                                const struct privd_dp *pdp,
                                unsigned int shard)
{
    const struct sup_dp *d = sup_find_dp(sup, pdp);
    if (!d || shard >= sup->n_revalidators) {
        return 0;
    }
    const struct sup_worker *w = &d->revalidators[shard];
    struct shm_ring *r = w->rings[SUP_RING(DUMP)];
    uint64_t tail = 0;

    if (w->state != SUP_UP) {
        return 0;
    }
    if (r && shm_ring_consumed(r, &tail, NULL)) {
        tail = 0;               /* Broken: the supervisor kills it. */
    }
    return tail + w->n_batches;
}

void
supervisor_kill_revalidator(struct supervisor *sup,
                            const struct privd_dp *pdp, unsigned int shard,
                            const char *reason)
{
    struct sup_dp *d = sup_find_dp(sup, pdp);
    if (d && shard < sup->n_revalidators
        && d->revalidators[shard].state == SUP_UP) {
        sup_worker_kill(&d->revalidators[shard], "%s", reason);
    }
}

struct dump_pump *
supervisor_get_dump_pump(const struct supervisor *sup,
                         const struct privd_dp *pdp)
{
    const struct sup_dp *d = sup_find_dp(sup, pdp);
    return d ? d->pump : NULL;
}

/* ----- upcall/show -------------------------------------------------------- */

unsigned int
supervisor_n_workers(const struct supervisor *sup, int role)
{
    return (role == WORKER_ROLE_HANDLER ? sup->n_handlers
            : role == WORKER_ROLE_REVALIDATOR ? sup->n_revalidators : 0);
}

bool
supervisor_get_worker_counter(const struct supervisor *sup,
                              const struct privd_dp *pdp, int role,
                              unsigned int index, const char *name,
                              pid_t *pidp, uint64_t *valuep)
{
    const struct sup_dp *d = sup_find_dp(sup, pdp);

    *pidp = 0;
    if (!d || index >= supervisor_n_workers(sup, role)) {
        return false;
    }
    const struct sup_worker *w = (role == WORKER_ROLE_HANDLER
                                  ? &d->handlers[index]
                                  : &d->revalidators[index]);
    *pidp = w->state == SUP_UP ? w->pid : 0;
    for (size_t i = 0; i < w->n_counters + w->n_gauges; i++) {
        const struct sup_counter *c = (i < w->n_counters ? &w->counters[i]
                                       : &w->gauges[i - w->n_counters]);
        if (!strcmp(c->name, name)) {
            *valuep = c->value;
            return true;
        }
    }
    return false;
}
