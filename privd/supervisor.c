/*
 * supervisor.c — the workers' life cycle (supervisor.h): datapaths and
 * their worker slots, spawning with backoff, exits, strikes and kills,
 * orphans of removed datapaths, and the run loop.  One worker's protocol
 * is in worker-channel.c, /proc and counter aggregation in worker-stats.c;
 * the structures they share are in supervisor-internal.h.
 */
#include "privd/supervisor.h"
#include "privd/supervisor-internal.h"
#include "privd/worker-channel.h"

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
COUNTER_DEFINE(supervisor_hello_timeout);
COUNTER_DEFINE(supervisor_malformed);

/* Worker ids: CONFIG_MAX_WORKERS per role for each of CONFIG_MAX_DATAPATHS
 * slots, all accepted by the spawner and the workers' argument parser. */
static_assert(SUPERVISOR_MAX_WORKER_ID <= DPIF_WORKER_MAX_ID,
              "worker ids exceed what dpif-handlerd/dpif-revald accept");
static_assert(CONFIG_MAX_WORKERS <= IPC_MAX_WORKERS,
              "more workers per role than a HelloReply may announce");

/* The supervisor's record of datapath 'pdp' (pdp->sup), or NULL. */
struct sup_dp *
sup_find_dp(const struct supervisor *sup, const struct privd_dp *pdp)
{
    return pdp->sup && pdp->sup->sup == sup ? pdp->sup : NULL;
}

/* ----- process life cycle --------------------------------------------------- */

void
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

void
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
void
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

/* ----- dump pump sink (privd/dump-pump.h) ----------------------------------- */

/* The dump pump's sink of each datapath: 'ctx' is its struct sup_dp, and
 * the pump asks only about shards below sup->n_revalidators. */

static int
sup_pump_send_shard(void *d_, unsigned int shard, const Dpif__DumpShard *msg)
{
    struct sup_dp *d = d_;
    struct sup_worker *w = &d->revalidators[shard];

    if (w->state != SUP_UP) {
        return ENOTCONN;
    }
    return sup_deliver(w, SUP_RING(DUMP), IPC_DUMP_SHARD, &msg->base);
}

static pid_t
sup_pump_revalidator_pid(void *d_, unsigned int shard)
{
    const struct sup_dp *d = d_;
    const struct sup_worker *w = &d->revalidators[shard];

    return w->state == SUP_UP ? w->pid : 0;
}

static uint64_t
sup_pump_revalidator_progress(void *d_, unsigned int shard)
{
    const struct sup_dp *d = d_;
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

static void
sup_pump_kill_revalidator(void *d_, unsigned int shard, const char *reason)
{
    struct sup_dp *d = d_;

    if (d->revalidators[shard].state == SUP_UP) {
        sup_worker_kill(&d->revalidators[shard], "%s", reason);
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
    d->sup = sup;
    d->pdp = pdp;
    d->slot = slot;
    d->userspace = !dpif_has_upcall_sockets(pdp->dpif);
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
    struct dump_pump_sink sink = {
        .send_shard = sup_pump_send_shard,
        .revalidator_pid = sup_pump_revalidator_pid,
        .revalidator_progress = sup_pump_revalidator_progress,
        .kill_revalidator = sup_pump_kill_revalidator,
        .ctx = d,
    };
    d->pump = dump_pump_create(&sink, pdp, d->status, sup->n_revalidators,
                               cfg->flow_limit, cfg->max_idle_ms);
    uint64_t dp_budget, worker_budget;
    flow_ledger_budgets(cfg->flow_limit, sup->n_handlers, &dp_budget,
                        &worker_budget);
    d->ledger = flow_ledger_create(dp_budget, worker_budget,
                                   sup->n_handlers);
    sup->dps = xrealloc(sup->dps, (sup->n_dps + 1) * sizeof *sup->dps);
    sup->dps[sup->n_dps++] = d;
    pdp->sup = d;
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
    d->pdp->sup = NULL;
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

void
supervisor_request_reports(struct supervisor *sup)
{
    sup_send_report_requests(sup);
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

pid_t
supervisor_revalidator_pid(const struct supervisor *sup,
                           const struct privd_dp *pdp, unsigned int shard)
{
    struct sup_dp *d = sup_find_dp(sup, pdp);
    return d && shard < sup->n_revalidators
           ? sup_pump_revalidator_pid(d, shard) : 0;
}

struct dump_pump *
supervisor_get_dump_pump(const struct supervisor *sup,
                         const struct privd_dp *pdp)
{
    const struct sup_dp *d = sup_find_dp(sup, pdp);
    return d ? d->pump : NULL;
}

