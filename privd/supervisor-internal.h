/*
 * supervisor-internal.h — what the supervisor's files share (privd only).
 *
 * The supervisor (privd/supervisor.h) is split in three files that run in
 * privd's main loop and share the structures below:
 *
 *   privd/supervisor.c      life cycle: datapaths and their worker slots,
 *                           spawning with backoff, exits, strikes, kills,
 *                           orphans of removed datapaths, the run loop;
 *   privd/worker-channel.c  one worker's protocol: the handshake, message
 *                           dispatch, op batches and their results, flow
 *                           announcements, upcall feeding and the
 *                           accounting of upcalls in flight, the watchdog;
 *   privd/worker-stats.c    /proc reading and the aggregation of the
 *                           counters and gauges the workers report.
 *
 * Ownership: a struct supervisor owns its struct sup_dp records (one per
 * privd datapath, whose struct privd_dp it borrows) and its orphans; a
 * struct sup_dp owns its worker slots, status page, dump pump, flow ledger
 * and latest policy; a struct sup_worker owns its control socket, its ends
 * of the rings, its pending results frame, its log and its latest
 * counter report.  Everything a worker sends is untrusted: worker-channel.c
 * validates it before anything else reads it.
 *
 * Not an interface: nothing outside the three files includes this.
 */
#ifndef PRIVD_SUPERVISOR_INTERNAL_H
#define PRIVD_SUPERVISOR_INTERNAL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/buf.h"
#include "common/util.h"
#include "common/ipc.h"
#include "common/shm-ring.h"
#include "common/worker.h"
#include "privd/op-validate.h"
#include "privd/supervisor.h"
#include "privd/worker-log.h"
#include "proto/worker.pb-c.h"

struct poller;

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
    struct supervisor *sup;     /* Owner. */
    struct privd_dp *pdp;       /* The datapath (borrowed); pdp->sup points
                                 * back here. */
    unsigned int slot;          /* Its block of worker ids: slot *
                                 * CONFIG_MAX_WORKERS + index in the role. */
    bool userspace;             /* !dpif_has_upcall_sockets(): privd
                                 * feeds upcalls into the rings. */
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

/* The supervisor: every datapath's workers and the orphans. */
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


/* Runs the statement that follows once for every worker 'W' of 'SUP'. */
#define SUP_FOR_EACH_WORKER(W, SUP)                                         \
    for (size_t dp_i_ = 0; dp_i_ < (SUP)->n_dps; dp_i_++)                   \
        for (size_t w_i_ = 0;                                               \
             w_i_ < (SUP)->n_handlers + (SUP)->n_revalidators; w_i_++)      \
            for (struct sup_worker *W = sup_worker_at(SUP, dp_i_, w_i_);    \
                 W; W = NULL)

static inline struct sup_worker *
sup_worker_at(const struct supervisor *sup, size_t dp, size_t i)
{
    struct sup_dp *d = sup->dps[dp];
    return (i < sup->n_handlers ? &d->handlers[i]
            : &d->revalidators[i - sup->n_handlers]);
}

/* "handler" or "revalidator". */
static inline const char *
sup_role_name(const struct sup_worker *w)
{
    return worker_role_to_string(w->role);
}

/* ----- supervisor.c ----------------------------------------------------- */

/* The supervisor's record of datapath 'pdp' (pdp->sup), or NULL. */
struct sup_dp *sup_find_dp(const struct supervisor *, const struct privd_dp *);

/* Closes 'w''s socket and rings (its process, if any, keeps running). */
void sup_worker_release(struct sup_worker *);

/* Kills 'w''s process for the reason 'fmt' says; it goes SUP_DYING. */
void sup_worker_kill(struct sup_worker *, const char *fmt, ...)
    PRINTF_FORMAT(2, 3);

/* One strike for malformed or forbidden data; kills at the limit. */
void sup_worker_strike(struct sup_worker *, const char *why);

/* worker-channel.c: see privd/worker-channel.h. */

/* ----- worker-stats.c --------------------------------------------------- */

/* Frees 'w''s latest counter and gauge report. */
void sup_worker_clear_counters(struct sup_worker *);

#endif /* supervisor-internal.h */
