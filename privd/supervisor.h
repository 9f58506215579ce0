/*
 * supervisor.h — privd's side of the worker boundary.
 *
 * Overview
 * ========
 *
 * For every open datapath the supervisor keeps N dpif-handlerd and M
 * dpif-revald processes (the configured handlers and revalidators) running
 * and is privd's only point of contact with them:
 *
 *   spawn      For each worker: a SOCK_SEQPACKET socketpair
 *              (ipc_socketpair()); the worker's end goes to the spawner
 *              (spawner_request(), privd/spawner.h), which starts the
 *              binary from its fixed list with that end on
 *              DPIF_WORKER_CONTROL_FD.  Spawner worker ids are global:
 *              slot * CONFIG_MAX_WORKERS + index within the role, where
 *              each datapath with workers holds one of CONFIG_MAX_DATAPATHS
 *              slots (below SUPERVISOR_MAX_WORKER_ID, the spawner's
 *              max_worker_id).  Slots are reused round robin, and one that
 *              a removed datapath's processes still hold only when no
 *              other is free, so ids do not collide across add and
 *              remove.
 *
 *   handshake  The worker's first message must be a Hello within
 *              SUPERVISOR_HELLO_TIMEOUT_MSEC: protocol version IPC_VERSION,
 *              the role and id it was spawned as, and the peer pid from
 *              SO_PEERCRED equal to the pid the spawner reported (Hello.pid
 *              differing from it is only logged: pid namespaces).  Anything
 *              else kills it.  The HelloReply carries the datapath, the
 *              counts, batch size, flow limit, idle time, megaflows, the
 *              policy generation and, attached, the shared-memory rings
 *              (fresh for every incarnation: an old worker may have
 *              corrupted the previous ones) and the datapath's status page:
 *
 *                  ring      privd end   handler  revalidator
 *                  UPCALLS   producer    yes*     -
 *                  OPS       consumer    yes      yes
 *                  RESULTS   producer    yes      yes
 *                  DUMP      producer    -        yes
 *                  (* userspace datapaths only)
 *
 *              In socket-only mode (config worker-transport = socket) no
 *              ring is created and the same frames travel on the socketpair.
 *
 *   ops        OpBatches are copied out of the ops ring (shm_ring_pop()
 *              treats the worker's indices and lengths as hostile), decoded,
 *              checked with the request table (privd/op-validate.h) and
 *              executed; the OpResults go back on the results ring.  While
 *              results cannot be delivered (ring full) no further batch of
 *              that worker is taken: backpressure, never unbounded queues.
 *              Each flow a handler created is announced (FlowAnnouncement)
 *              to the revalidator owning ufid_shard(ufid, M).  Each worker
 *              has an Execute work budget and each datapath a flow ledger
 *              (privd/flow-ledger.h: byte budgets for the flows workers
 *              create, from the flow limit at supervisor_add_dp()).
 *
 *   upcalls    Userspace datapaths: upcalls of handler channel i
 *              (dpif_recv()) are batched into UpcallBatches for handler i.
 *
 *   output     Each process gets a pipe as its stdout and stderr, read
 *              here and relayed into privd's log line by line, prefixed
 *              with its role, index and pid, escaped, cut and
 *              rate-limited (privd/worker-log.h); after its exit what it
 *              wrote last is read to the end.
 *
 *   liveness   EOF on a worker's socket means it died (or closed it: it is
 *              then killed).  The spawner reports every exit with its wait
 *              status; the supervisor logs why ("killed by signal 9",
 *              "exited with status 1") and restarts the worker after a
 *              backoff: SUPERVISOR_BACKOFF_MIN_MSEC, doubling per restart up
 *              to SUPERVISOR_BACKOFF_MAX_MSEC, back to the minimum once an
 *              incarnation stayed up SUPERVISOR_BACKOFF_RESET_MSEC.
 *
 *   misbehaviour  A worker that sends malformed, truncated, oversized or
 *              forbidden data (envelope rejections, undecodable records,
 *              refused ops, messages of the wrong kind) gets a strike; at
 *              cfg.malformed_limit strikes within cfg.malformed_window_ms
 *              it is killed and respawned.  Exceeding the Execute work
 *              budget is throttling: at most one strike per
 *              SUPERVISOR_THROTTLE_STRIKE_MSEC.  Ring corruption (shm_ring_pop()
 *              EPROTO) kills it at once: the ring cannot be trusted again.
 *              Killing goes through the spawner (privd may not signal
 *              workers of another uid).
 *
 *   reports    Every SUPERVISOR_REPORT_INTERVAL_MSEC, and on
 *              supervisor_request_reports(), each worker is sent a
 *              ReportRequest; its CounterReport (counters and gauges)
 *              replaces the previous one (names checked: [a-z0-9_], at
 *              most IPC_MAX_NAME; at most SUPERVISOR_MAX_WORKER_COUNTERS
 *              counters and as many gauges, else refused and struck).
 *              A worker's counters are its own story: they never mix with
 *              privd's.  supervisor_for_each_counter() sums them by role
 *              and name and names each sum "ROLE/NAME"
 *              ("handler/upcall_put_ok"), so that an invented
 *              "op_executed" shows as "handler/op_executed", never as
 *              privd's counter of that name.
 *
 *   status     One status page per datapath (privd/status-page.h),
 *              refreshed from the datapath's stats every
 *              SUPERVISOR_STATUS_INTERVAL_MSEC.
 *
 *   datapaths  The supervisor follows privd's datapath set:
 *              supervisor_add_dp() when privd opens one (dpifctl add-dp,
 *              a reload), supervisor_remove_dp() before privd closes one.
 *              A removed datapath's workers get a Shutdown and EOF; those
 *              still running after SUPERVISOR_STOP_GRACE_MSEC are killed
 *              through the spawner, and their exits, when the spawner
 *              reports them, are logged and not restarted.
 *
 * Counters: supervisor_worker_spawned, supervisor_spawn_failed,
 * supervisor_worker_exited, supervisor_worker_killed,
 * supervisor_hello_timeout, supervisor_malformed; one worker's protocol
 * counts worker-channel.h's supervisor_* (hello_rejected, ring_corrupt,
 * upcalls_lost_in_flight, watchdog_kill, policy_deferred...).
 *
 * Use from privd's main loop:
 *
 *     supervisor_create(&privd, &privd.supervisor);   -- spawns everyone
 *     for (;;) {
 *         ... privd_open_dp() / privd_close_dp() call
 *             supervisor_add_dp() / supervisor_remove_dp() ...
 *         supervisor_run(privd.supervisor);
 *         ...
 *         supervisor_wait(privd.supervisor, &poller);
 *         poller_block(&poller);
 *     }
 *     supervisor_destroy(privd.supervisor);           -- before the spawner
 *
 * Ownership: the supervisor borrows 'privd' (its configuration, datapaths
 * and spawner), which must outlive it, and each "struct privd_dp" from
 * supervisor_add_dp() until supervisor_remove_dp(); it owns the workers'
 * sockets, rings and status pages.  Single-threaded.
 */
#ifndef PRIVD_SUPERVISOR_H
#define PRIVD_SUPERVISOR_H 1

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"
#include "privd/config.h"
#include "proto/worker.pb-c.h"

struct Dpif__PolicyUpdate;
struct mac_table;
struct poller;
struct privd;
struct privd_dp;
struct supervisor;

#define SUPERVISOR_BACKOFF_MIN_MSEC 100
#define SUPERVISOR_BACKOFF_MAX_MSEC 10000
#define SUPERVISOR_BACKOFF_RESET_MSEC 60000
#define SUPERVISOR_HELLO_TIMEOUT_MSEC 10000
#define SUPERVISOR_REPORT_INTERVAL_MSEC 5000
#define SUPERVISOR_STATUS_INTERVAL_MSEC 1000
#define SUPERVISOR_STOP_GRACE_MSEC 2000
/* A worker that keeps exceeding its Execute work budget gets one strike
 * per this period (op-validate.h, "Work budgets"). */
#define SUPERVISOR_THROTTLE_STRIKE_MSEC 1000
/* supervisor_destroy() relays what the exiting workers write for at most
 * this long. */
#define SUPERVISOR_LOG_DRAIN_MSEC 1000

/* Most counters (and most gauges) one CounterReport may carry: a real
 * worker reports about 110. */
#define SUPERVISOR_MAX_WORKER_COUNTERS 256

/* Liveness watchdog: a worker that owes privd something (a reply to a
 * ReportRequest, taking records out of a ring privd fills) and makes no
 * progress on it is shown as "stuck" after SUPERVISOR_STUCK_MSEC and
 * killed (then respawned) after SUPERVISOR_STUCK_KILL_MSEC.  An idle
 * worker owes a reply at least every SUPERVISOR_REPORT_INTERVAL_MSEC, so
 * a stopped one is found within REPORT_INTERVAL + STUCK_KILL. */
#define SUPERVISOR_STUCK_MSEC 3000
#define SUPERVISOR_STUCK_KILL_MSEC 10000

/* Worker ids are below this: the spawner's max_worker_id. */
#define SUPERVISOR_MAX_WORKER_ID (CONFIG_MAX_DATAPATHS * CONFIG_MAX_WORKERS)

/* One process, for "dpifctl procs".  Strings are owned by the supervisor
 * and valid during the callback only. */
struct proc_info {
    const char *role;           /* "handler", "revalidator", "spawner". */
    unsigned id;                /* Worker id (spawner worker id). */
    const char *dp;             /* Datapath served (workers), or NULL. */
    const char *state;          /* "starting", "running", "stuck" (see
                                 * SUPERVISOR_STUCK_MSEC), "stopping",
                                 * "down". */
    pid_t pid;                  /* 0 while not running. */
    uid_t uid;                  /* From /proc/PID/status; -1 if unknown. */
    uint64_t cap_eff;           /* CapEff from /proc/PID/status. */
    long long start_msec;       /* time_msec() of the last start. */
    unsigned restarts;          /* Restarts so far. */
    const char *last_exit_reason; /* Why it last died, or "". */
};

/* Creates the supervisor for 'privd' (whose datapaths are open and whose
 * spawner runs) and spawns every worker.  Returns 0 or a positive errno
 * (a status page or spawn setup that failed outright; a worker that fails
 * to start is retried with backoff, not an error). */
int supervisor_create(struct privd *privd, struct supervisor **supp);

/* Starts the workers of 'dp', which privd has just opened: its status
 * page and, for a userspace datapath, its handler channels, then spawns
 * them.  Returns 0 or a positive errno (E2BIG: CONFIG_MAX_DATAPATHS
 * datapaths have workers already; a status page that cannot be made). */
int supervisor_add_dp(struct supervisor *, struct privd_dp *dp);

/* Stops the workers of 'dp', which privd is about to close: sends them a
 * Shutdown, closes their sockets, frees their rings and the status page,
 * and forgets 'dp'.  Processes that have not exited after
 * SUPERVISOR_STOP_GRACE_MSEC are killed; no exit of theirs causes a
 * restart.  A 'dp' without workers is fine. */
void supervisor_remove_dp(struct supervisor *, struct privd_dp *dp);

/* Does all pending work without blocking: spawner exit reports, worker
 * messages, op batches, upcalls, restarts, timers. */
void supervisor_run(struct supervisor *);

/* Registers in 'p' what would give supervisor_run() work. */
void supervisor_wait(struct supervisor *, struct poller *p);

/* Tells every worker to shut down, closes their sockets and frees the
 * supervisor.  The workers exit on EOF.  NULL is fine. */
void supervisor_destroy(struct supervisor *);

/* Calls 'cb' for every worker (and the spawner). */
void supervisor_for_each_proc(const struct supervisor *,
                              void (*cb)(const struct proc_info *,
                                         void *aux),
                              void *aux);

/* Reads the real uid and CapEff of process 'pid' from /proc/PID/status;
 * (uid_t) -1 and 0 when it cannot be read. */
void proc_read_status(pid_t pid, uid_t *uidp, uint64_t *capp);

/* Asks every running worker for a CounterReport now. */
void supervisor_request_reports(struct supervisor *);

/* Calls 'cb' once per role and counter name reported by a worker of that
 * role, with the sum over those workers' latest reports, named
 * "ROLE/NAME" ("handler/upcall_put_ok", "revalidator/ukey_created"), in no
 * particular order. */
void supervisor_for_each_counter(const struct supervisor *,
                                 void (*cb)(const char *name, uint64_t value,
                                            void *aux),
                                 void *aux);

/* Calls 'cb' once per counter of each worker's latest report, with the
 * worker's name: its role and index ("handler0", "revalidator1"), followed
 * by "@" and the datapath ("handler0@br1") when privd serves
 * several datapaths. */
void supervisor_for_each_worker_counter(
    const struct supervisor *,
    void (*cb)(const char *process, const char *name, uint64_t value,
               void *aux),
    void *aux);

/* Publishes a new policy generation for datapath 'dp' in its status page
 * (the PolicyUpdate itself is the policy module's). */
void supervisor_set_policy_generation(struct supervisor *,
                                      const struct privd_dp *dp,
                                      uint64_t generation);

/* Shared state for the workers of datapath 'dp' (privd/policy-feed.h
 * provides it); a datapath without workers is ignored:
 *
 * supervisor_set_mac_table() attaches the MAC learning table's memfd 'fd'
 * ('size' bytes; borrowed, must stay open while the supervisor lives) to
 * every later HelloReply as REGION_USE_MAC_TABLE, and gives privd's
 * read-only mapping 'macs' (borrowed likewise; NULL with fd -1) to the
 * datapath's dump pump, whose cycles then follow the table's changes.
 *
 * supervisor_set_policy() keeps a copy of 'update' (rules inline; no
 * descriptors), sends it to every running worker of 'dp' now, and to every
 * worker of 'dp' right after its HelloReply from then on, and publishes its
 * generation in the status page.  Returns 0, or EINVAL if 'update' cannot
 * be copied. */
void supervisor_set_mac_table(struct supervisor *, const struct privd_dp *dp,
                              int fd, uint64_t size,
                              const struct mac_table *macs);
int supervisor_set_policy(struct supervisor *, const struct privd_dp *dp,
                          const struct Dpif__PolicyUpdate *update);

/* Publishes in datapath 'dp''s status page whether handlers install
 * megaflows (true, the default) or exact-match flows only. */
void supervisor_set_megaflows(struct supervisor *, const struct privd_dp *dp,
                              bool on);

/* Number of workers fully up (handshake done), for tests and waits. */
unsigned int supervisor_n_ready(const struct supervisor *);

/* The revalidation cycle (privd/dump-pump.h): one pump per datapath,
 * created, run and waited on by the supervisor, which hands it the
 * DumpAcks and is its sink (struct dump_pump_sink): it delivers the
 * DumpShards into the revalidators' dump rings, tells their pids and
 * progress, and kills the ones the pump gives up on.
 *
 * supervisor_revalidator_pid() is the process of revalidator 'shard' of
 * datapath 'dp' while it is up, else 0 (a change means the shard lost its
 * ukeys).  supervisor_get_dump_pump() is the pump of datapath 'dp' (NULL
 * if none), for the control commands. */
struct dump_pump;
pid_t supervisor_revalidator_pid(const struct supervisor *,
                                 const struct privd_dp *dp,
                                 unsigned int shard);
struct dump_pump *supervisor_get_dump_pump(const struct supervisor *,
                                           const struct privd_dp *dp);

/* Workers as upcall/show lists them: supervisor_n_workers() is the number
 * of workers of 'role' (WORKER_ROLE_HANDLER or WORKER_ROLE_REVALIDATOR, of
 * common/worker.h) per datapath.  supervisor_get_worker_counter() stores
 * in '*pidp' the process of worker 'index' of that role on datapath 'dp'
 * (0 while it is not up) and returns true with '*valuep' set if its latest
 * CounterReport has counter or gauge 'name'; false otherwise (also for a worker
 * that does not exist, with '*pidp' 0). */
unsigned int supervisor_n_workers(const struct supervisor *, int role);
bool supervisor_get_worker_counter(const struct supervisor *,
                                   const struct privd_dp *dp, int role,
                                   unsigned int index, const char *name,
                                   pid_t *pidp, uint64_t *valuep);

#endif /* supervisor.h */
