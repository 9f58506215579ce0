/*
 * op-validate.h — the request table: what a worker may ask of a datapath.
 *
 * Overview
 * ========
 *
 * Workers (dpif-handlerd, dpif-revald) parse hostile input and are assumed
 * compromisable.  The only thing they can do to a datapath is send an
 * OpBatch (proto/worker.proto) to privd.  This module is the gate every op
 * of every batch passes before a datapath sees it, in the manner of
 * OpenSSH's monitor request table: a fixed table says which role may send
 * which op with which flags, and a fixed list of checks runs on each field
 * before anything is acted on.
 *
 * The request table
 * =================
 *
 *     op          handler                      revalidator
 *     ----------  ---------------------------  -----------------------------
 *     FLOW_PUT    create only (create=1,       modify only (modify=1,
 *                 modify=0, zero_stats=0)      create=0); its UFID in the
 *                                              revalidator's own shard
 *     FLOW_DEL    never                        by UFID only, in its shard
 *     EXECUTE     yes                          never
 *     FLOW_GET    yes                          yes
 *
 * Dumps are not requests: privd pushes DumpShards to revalidators.  An op
 * of a kind the table does not allow is refused with EPERM.
 *
 * "Its own shard": revalidator i owns the flows with ufid_shard(ufid, M) ==
 * i (M revalidators).  A revalidator that modifies or deletes a flow of
 * another shard is outside its role (EPERM), and deletes must name the UFID
 * so that the shard is known (a delete by key could reach any flow).
 *
 * The checks, in order, per op
 * ============================
 *
 *     1. the op is set (oneof present) and the table allows it (EPERM);
 *     2. UFIDs are exactly IPC_UFID_LEN (16) bytes (EINVAL);
 *     3. keys and masks are 1..IPC_MAX_KEY bytes, 4-byte aligned and
 *        well-formed for the key codec (common/odp-key.h): a key that
 *        decodes with fitness ODP_FIT_ERROR, or a mask that does, is
 *        refused (EINVAL); an Execute's key must name an in_port that is a
 *        port of the datapath (ENODEV);
 *     4. actions: at most IPC_MAX_ACTIONS bytes, then odp_actions_validate()
 *        with this module's policy: the allowed types below, nesting at most
 *        OP_VALIDATE_MAX_DEPTH, OUTPUT/EGRESS_TUN_PORT ports that exist on
 *        the datapath (dpif_port_query_by_number()), USERSPACE pids that are
 *        the datapath's own handler channels (dpif_port_get_pid() of one of
 *        its ports or of DPIF_SPECIAL_PORT_PID);
 *     5. Execute packets: at least an Ethernet header (14 bytes), at most
 *        IPC_MAX_PACKET (EINVAL);
 *     6. cost, once the actions are known to be well formed: at most
 *        OP_VALIDATE_MAX_COPIES CLONE and SAMPLE actions in the whole list,
 *        nested ones included, since each runs its actions on a copy of
 *        the packet (E2BIG, op_rejected_copies); at most
 *        op_validate_outputs_max() outputs (OUTPUT and USERSPACE, nested
 *        ones included: POLICY_MAX_ACTIONS per port of the datapath, so
 *        that one frame cannot become thousands on a datapath of a few
 *        ports) (E2BIG, op_rejected_outputs); a FLOW_PUT's actions at most
 *        op_validate_flow_actions_max() bytes (EMSGSIZE,
 *        op_rejected_flow_actions): an installed flow runs for every
 *        packet that hits it, so its size is bounded by what translation
 *        can produce for this datapath, not by the frame limit.
 *
 * Work budgets (Executes)
 * =======================
 *
 * privd runs a handler's Executes itself on the userspace datapath, in its
 * one thread, between control-socket requests.  An Execute's work is
 * estimated as packet bytes x (1 + copies + outputs), an upper bound of the
 * bytes the executor copies or hands to ports.  Two budgets bound it:
 *
 *   per batch   the Executes of one batch together at most
 *               OP_VALIDATE_MAX_BATCH_WORK; the first that would exceed it
 *               and every later one are refused (EDQUOT,
 *               op_rejected_batch_work);
 *   per worker  a token bucket (struct op_work_budget, owned by the
 *               supervisor's worker slot) refilled at OP_VALIDATE_WORK_RATE
 *               bytes per second up to OP_VALIDATE_WORK_BURST; an Execute
 *               that finds too few tokens is refused (ENOBUFS,
 *               op_refused_work_budget).
 *
 * An Execute that alone costs more than OP_VALIDATE_MAX_BATCH_WORK (a
 * 9,000-byte frame flooded to some 1,800 ports) is never run; the flow
 * its handler installs still forwards the packets that follow.
 *
 * Both refusals are throttling, not malformed data (a flood of jumbo
 * frames on many ports can reach them legitimately): they count in
 * op_batch.n_throttled, and the supervisor strikes a worker for them at
 * most once per SUPERVISOR_THROTTLE_STRIKE_MSEC, so one that keeps
 * exceeding its budget is killed at the malformed limit while a burst
 * costs a strike that expires.  With both budgets, one supervisor_run() spends at most OP_VALIDATE_WORK_BURST
 * plus what the bucket refilled since the last one on each worker's
 * Executes, so privd's control socket is answered within a bound however a
 * handler floods it (docs/privsep.md, test execute_flood_is_bounded).
 *
 * The flow limit: at execution, a handler's FLOW_PUT create that would
 * take the datapath beyond op_context.flow_limit flows (the status page's
 * limit) is not executed and gets ENOSPC ("flow limit N reached", counter
 * op_refused_flow_limit).  Handlers stop creating at the limit themselves,
 * from an estimate; this makes it hold exactly.  It is not misbehaviour
 * (no strike).
 *
 * The byte budget: at execution too, a handler's FLOW_PUT create whose key
 * + mask + actions bytes would take the datapath or the handler beyond its
 * budget in the datapath's flow ledger (privd/flow-ledger.h) is not
 * executed and gets ENOSPC ("flow byte budget ... reached", counter
 * op_refused_flow_bytes), after a reconciliation removed the entries of
 * flows that are gone.  Not misbehaviour either: translation's flows are
 * as big as the rules make them.  Successful creates are entered in the
 * ledger, revalidators' modifies resize their entries (not refused: they
 * reinstall what translation produced, within the per-flow caps) and
 * their deletes release them.
 *
 * Before the ops, the batch: 1..batch_size ops (batch_size the configured
 * value, itself at most IPC_MAX_BATCH = 64).  A batch that fails this is
 * refused as a whole: one result carrying the error (as worker.proto says).
 *
 * Allowed action types, for both roles: OUTPUT, USERSPACE, SET, SET_MASKED,
 * PUSH_VLAN, POP_VLAN, SAMPLE, TRUNC, CLONE.  RECIRC and HASH are refused:
 * dpifd's forwarding policy has no recirculation (no bonds, no conntrack),
 * and a worker-chosen recirculation id would steer packets into flows that
 * no translation ever produced for them.  Revalidators get the same set as
 * handlers because a modify installs what translation produced.
 *
 * Datapath identity: an OpBatch names no datapath.  Each worker serves the
 * one datapath its HelloReply named, and the supervisor passes that dpif
 * here; there is no field a worker could set to reach another datapath.
 *
 * Nothing partial
 * ===============
 *
 * op_batch_check() validates every op of the batch before
 * op_batch_execute() sends any to the datapath, and the datapath receives
 * only fully validated ops.  A refused op gets its errno and reason in its
 * result and is never executed; the other ops of the batch run.  Every
 * refusal counts in a named counter (below) and in op_batch.n_rejected,
 * which the supervisor counts against the worker's malformed-data budget.
 *
 * Counters: op_rejected_batch_empty, op_rejected_batch_too_long,
 * op_rejected_no_op, op_rejected_role, op_rejected_flags,
 * op_rejected_shard, op_rejected_ufid, op_rejected_key, op_rejected_mask,
 * op_rejected_actions, op_rejected_port, op_rejected_pid,
 * op_rejected_packet, op_rejected_copies, op_rejected_outputs,
 * op_rejected_flow_actions, op_rejected_batch_work,
 * op_refused_work_budget, op_refused_flow_limit (a handler's create beyond
 * the flow limit, ENOSPC: refused, not a strike), op_refused_flow_bytes
 * (the same at the byte budget); and op_executed,
 * op_failed for what the datapath did.
 *
 * Typical use (privd's supervisor)
 * ================================
 *
 *     struct op_batch *b = op_batch_create();
 *     struct op_context ctx = { .dpif = dpif, .role = role, .worker_index =
 *                               i, .n_revalidators = m, .batch_size = 50 };
 *     op_batch_check(b, &ctx, msg);         -- never fails as a call
 *     op_batch_execute(b, dpif);
 *     op_batch_to_results(b, &results);      -- OpResults, borrows from b
 *     ...send results, op_batch_for_each_created() for announcements...
 *     op_batch_clear(b);                     -- or op_batch_destroy(b)
 *
 * Ownership: a struct op_batch borrows the decoded OpBatch given to
 * op_batch_check() (key, mask, action and packet bytes point into it) until
 * op_batch_clear(); the OpResults filled by op_batch_to_results() borrows
 * from the op_batch likewise.  Single-threaded, like privd.
 */
#ifndef PRIVD_OP_VALIDATE_H
#define PRIVD_OP_VALIDATE_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipc-limits.h"
#include "common/odp-actions.h"
#include "common/policy.h"
#include "common/ufid.h"
#include "common/util.h"
#include "common/worker.h"
#include "privd/dpif.h"
#include "privd/flow-ledger.h"
#include "proto/worker.pb-c.h"

/* Deepest nesting of SAMPLE, CLONE and USERSPACE contents an op may use:
 * clone(sample(userspace(...))) is the deepest translation produces. */
#define OP_VALIDATE_MAX_DEPTH 3

/* Action types either role may submit (see above). */
#define OP_VALIDATE_ALLOWED_ACTIONS                                         \
    (ODP_ACTION_BIT(OVS_ACTION_ATTR_OUTPUT)                                 \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_USERSPACE)                            \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_SET)                                  \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_SET_MASKED)                           \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_PUSH_VLAN)                            \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_POP_VLAN)                             \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_SAMPLE)                               \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_TRUNC)                                \
     | ODP_ACTION_BIT(OVS_ACTION_ATTR_CLONE))

/* Shortest packet an Execute may carry: an Ethernet header. */
#define OP_VALIDATE_MIN_PACKET 14

/* The caps below are sized so that no rules file can make translation
 * exceed them (a refusal is a strike: a legitimate handler must never get
 * one), and an attacker gains little below them.  A rule has at most
 * POLICY_MAX_ACTIONS actions, each of which translates to at most:
 *
 *     sample     one SAMPLE holding one USERSPACE (under 128 bytes);
 *     flood,     one OUTPUT per port but the input port (8 bytes each),
 *     normal     or a single OUTPUT;
 *     output     one OUTPUT;
 *     set, vlan  one SET_MASKED (at most 88 bytes, IPv6) or VLAN action.
 *
 * and translation makes no CLONE.  So a translated list has at most
 * POLICY_MAX_ACTIONS copies, POLICY_MAX_ACTIONS outputs per port, and
 * POLICY_MAX_ACTIONS x (128 + 8 per port) bytes (and translation itself
 * refuses more than IPC_MAX_ACTIONS); test_op_validate checks the worst
 * rules against the real translation (translated_worst_rules_accepted). */

/* Most CLONE and SAMPLE actions in one action list, at every depth. */
#define OP_VALIDATE_MAX_COPIES POLICY_MAX_ACTIONS

/* Outputs (OUTPUT and USERSPACE, at every depth) an action list may have
 * per port of the datapath (see op_validate_outputs_max()). */
#define OP_VALIDATE_OUTPUTS_PER_PORT POLICY_MAX_ACTIONS

/* A FLOW_PUT's actions may have OP_VALIDATE_FLOW_ACTIONS_BASE bytes plus
 * OP_VALIDATE_FLOW_ACTIONS_PER_PORT per port of the datapath, and never more
 * than IPC_MAX_ACTIONS (see op_validate_flow_actions_max()). */
#define OP_VALIDATE_FLOW_ACTIONS_BASE (POLICY_MAX_ACTIONS * 128)
#define OP_VALIDATE_FLOW_ACTIONS_PER_PORT (POLICY_MAX_ACTIONS * 8)

/* Work (packet bytes x (1 + copies + outputs)) of all Executes of a
 * batch. */
#define OP_VALIDATE_MAX_BATCH_WORK (16ull * 1024 * 1024)

/* A worker's Execute work budget: refill rate per second and bucket size. */
#define OP_VALIDATE_WORK_RATE (256ull * 1024 * 1024)
#define OP_VALIDATE_WORK_BURST (2 * OP_VALIDATE_MAX_BATCH_WORK)

/* A worker's Execute work budget: a token bucket in bytes of work.  Owned
 * by the supervisor's slot for the worker; op_work_budget_init() for each
 * new process. */
struct op_work_budget {
    uint64_t tokens;            /* Work it may still do now. */
    long long refilled_msec;    /* time_msec() of the last refill. */
};

/* Gives 'budget' a full bucket as of now. */
void op_work_budget_init(struct op_work_budget *budget);

/* The most action bytes a FLOW_PUT may carry on a datapath of 'n_ports'
 * ports. */
size_t op_validate_flow_actions_max(size_t n_ports);

/* The most outputs an action list may have on a datapath of 'n_ports'
 * ports: OP_VALIDATE_OUTPUTS_PER_PORT for each (for at least one). */
size_t op_validate_outputs_max(size_t n_ports);

/* Who is asking, and of what.  Borrowed for one op_batch_check() call. */
struct op_context {
    struct dpif *dpif;          /* The worker's datapath. */
    enum worker_role role;      /* The worker's role (from the supervisor,
                                 * never from the worker's messages). */
    unsigned int worker_index;  /* Its index among its role's workers of
                                 * this datapath: for revalidators, the
                                 * shard it owns. */
    unsigned int n_revalidators; /* Shards of this datapath (>= 1). */
    unsigned int batch_size;    /* Configured ops per batch, 1..
                                 * IPC_MAX_BATCH. */
    uint64_t flow_limit;        /* Handlers: creates beyond this many flows
                                 * in the datapath are refused (ENOSPC);
                                 * 0 for no limit. */
    struct op_work_budget *work; /* The worker's Execute budget, or NULL
                                  * for none (tests, fuzzers). */
    struct flow_ledger *ledger; /* The datapath's flow ledger, or NULL for
                                 * no byte budget. */
};

/* One op of a batch, after validation. */
struct op_slot {
    int error;                  /* 0 if valid (then executed), else the
                                 * errno it was refused or failed with. */
    bool rejected;              /* True if refused by validation (never
                                 * reached the datapath). */
    bool limited;               /* True if a valid op was refused at the
                                 * flow limit, byte budget or work budget
                                 * (never reached the datapath; not
                                 * malformed). */
    struct errbuf reason;       /* Why, when 'error' is nonzero. */
    bool want_stats;            /* Return 'stats' in the result. */
    uint64_t work;              /* Execute: its estimated work (see "Work
                                 * budgets"); 0 for other ops. */
    struct dpif_op op;          /* The op for dpif_operate(); its buffers
                                 * point into the OpBatch. */
    union ufid ufid;            /* Copy of the op's UFID (if it has one). */
    struct dpif_flow_stats stats; /* Out: stats of put/del. */
    struct buf get_buffer;      /* FLOW_GET result storage (owned). */
    struct dpif_flow get_flow;  /* FLOW_GET result (points into
                                 * 'get_buffer' or the provider). */
};

/* A batch being validated and executed.  Allocate with op_batch_create():
 * it holds IPC_MAX_BATCH slots. */
struct op_batch {
    uint64_t batch_id;          /* The OpBatch's batch_id. */
    int error;                  /* Nonzero if the batch was refused as a
                                 * whole (then 'n_ops' is 0). */
    struct errbuf reason;       /* Why, when 'error' is nonzero. */
    uint64_t flow_limit;        /* From the op_context. */
    struct flow_ledger *ledger; /* From the op_context. */
    unsigned int owner;         /* The worker's index: the ledger owner of
                                 * what it creates. */
    size_t n_ops;               /* Slots in use. */
    uint64_t work;              /* Execute work of the batch so far. */
    size_t n_throttled;         /* Executes refused by a work budget. */
    size_t n_rejected;          /* Ops (or the whole batch: 1) refused by
                                 * validation, for the malformed-data
                                 * budget.  ENODEV for a port that vanished
                                 * is not counted here: a port deleted
                                 * between translation and put is a race,
                                 * not misbehaviour. */
    struct op_slot slots[IPC_MAX_BATCH]; /* The ops, in batch order. */
    /* Storage that op_batch_to_results() fills and the results point at. */
    Dpif__OpResult results[IPC_MAX_BATCH];
    Dpif__OpResult *result_ptrs[IPC_MAX_BATCH];
    Dpif__FlowStats stats[IPC_MAX_BATCH];
    Dpif__Flow flows[IPC_MAX_BATCH];
};

/* Allocates an empty batch.  Free with op_batch_destroy(). */
struct op_batch *op_batch_create(void);
/* Frees 'b' (NULL is fine). */
void op_batch_destroy(struct op_batch *b);
/* Forgets the batch's ops, keeping the allocation for the next one. */
void op_batch_clear(struct op_batch *b);

/* Validates 'msg' from the worker described by 'ctx' into 'b' (which must
 * be clear).  Never fails as a call: refusals are recorded in 'b' (whole
 * batch in b->error, per op in each slot) and counted. */
void op_batch_check(struct op_batch *b, const struct op_context *ctx,
                    const Dpif__OpBatch *msg);

/* Sends the valid ops of 'b' to 'dpif' with one dpif_operate() and stores
 * each one's outcome in its slot. */
void op_batch_execute(struct op_batch *b, struct dpif *dpif);

/* Fills 'out' with one result per op (or the single whole-batch result),
 * pointing into 'b'. */
void op_batch_to_results(struct op_batch *b, Dpif__OpResults *out);

/* Calls 'cb' for every FLOW_PUT of 'b' that created a flow successfully,
 * with its UFID and the buffers it was installed with. */
void op_batch_for_each_created(const struct op_batch *b,
                               void (*cb)(const struct dpif_flow_put *,
                                          const union ufid *, void *aux),
                               void *aux);

/* The single-op check behind op_batch_check(), exposed for tests and
 * fuzzers: validates 'op' for 'ctx' into 'slot' (zeroed first) and returns
 * 0 or the errno it was refused with, with the reason in slot->reason. */
int op_validate_one(const struct op_context *ctx, const Dpif__Op *op,
                    struct op_slot *slot);

#endif /* op-validate.h */
