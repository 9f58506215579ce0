/*
 * upcall.h — what a handler does with one batch of upcalls.
 *
 * Overview
 * ========
 *
 * A handler (dpif-handlerd) reads upcalls in batches of at most the
 * configured batch size (50 by default; IPC_MAX_BATCH at most) and turns
 * each batch into datapath operations.  This module is that step, without
 * any I/O: it takes the upcalls of one batch and the handler's view of the
 * world (rules, MAC table, ports, flow limit: struct upcall_env) and
 * produces OpBatches for privd.  The steps follow Open vSwitch's
 * ofproto-dpif-upcall.c (the seeds' read_upcalls, classify_upcall,
 * handle_upcalls), as later Open vSwitch versions refined them:
 *
 *   1. Classify (upcall_classify()).  A MISS is a packet no flow matched.
 *      An ACTION upcall comes from a USERSPACE action we installed; its
 *      userdata is a struct xlate_cookie (common/xlate.h) that says why:
 *
 *        slow path    the flow's installed actions send every packet here
 *                     (a "controller" rule): translate and execute it like
 *                     a miss, but install nothing (the flow is there);
 *        sample       a sampled copy: counted (upcall_sample), no
 *                     collector is configured, nothing else;
 *        controller   counted and logged (upcall_controller), nothing
 *                     else.
 *
 *      A bad upcall (unknown type, an ACTION upcall without userdata or
 *      with a cookie xlate_cookie_parse() refuses, a MISS with userdata, a
 *      key that does not decode) is counted (upcall_bad_type,
 *      upcall_bad_cookie, upcall_bad_key), logged at a limited rate and
 *      dropped.
 *
 *   2. Deduplicate.  Upcalls of the same flow (equal decoded keys) and the
 *      same class share one "flow miss" (the seeds' struct flow_miss):
 *      translated once, at most one flow installed, per-flow statistics
 *      (packets, bytes, OR of the TCP flags) accumulated and credited to
 *      the rule that matched.
 *
 *   3. Translate each flow miss with xlate_translate() and apply its MAC
 *      learning side effect with mac_table_learn() (handlers are the only
 *      writers of the shared MAC table).  A flow whose input port is not in
 *      the handler's port list (a port the handler does not know yet, or
 *      one just removed) is not translated: it gets a drop flow, exact
 *      match, no actions, as the seeds do for a packet from a port that
 *      belongs to no bridge (upcall_unknown_port).
 *
 *   4. Compose.  For a MISS: one FLOW_PUT (create) with the translation's
 *      installed actions, the megaflow mask (exact, odp_mask_exact(), when
 *      megaflows are disabled) and the UFID ufid_from_key(key, mask) --
 *      unless the datapath already holds 'flow_limit' flows
 *      (upcall_flow_limit_hit; the flow count is privd's, read from the
 *      status page, plus the flows this handler installed since) or the
 *      datapath's key did not decode perfectly (upcall_key_imperfect: we
 *      would install a flow different from what the datapath matched).
 *      Then one EXECUTE per packet with the translation's actions (none
 *      for a drop).  Slow-pathed flows are installed with a USERSPACE
 *      action whose pid is 'upcall_pid' (this handler) and a slow-path
 *      cookie, so their packets come back here.
 *
 * The ops of a batch go into one OpBatch; only when they outnumber the
 * batch size (a batch of n upcalls may need n puts and n executes) are they
 * cut into consecutive OpBatches of at most 'batch_size' ops, puts of a flow
 * always before the executes of its packets.  Open vSwitch sends them in one
 * dpif_operate() call with no such limit; privd's request table caps the
 * length of a batch.
 *
 * Results (upcall_batch_note_result()): a FLOW_PUT that fails with EEXIST
 * lost a race with another handler (or a revalidator) for the same flow and
 * is not an error (upcall_put_exists); any other failure is counted
 * (upcall_put_failed, upcall_execute_failed) and logged at a limited rate.
 *
 * Later Open vSwitch behaviour followed here rather than the seeds':
 * UFIDs on every put (ufid_from_key of the put's key and mask), ukeys from
 * upcall time (privd announces every successful put to the revalidator
 * that owns the UFID's shard, so the flow has a ukey before its first
 * dump), batches of up to 64 (IPC_MAX_BATCH), and no flow installed for
 * action upcalls.
 *
 * Ownership: struct upcall_batch owns its scratch memory (keys, masks,
 * actions and the protobuf structures of the OpBatches).  The OpBatches
 * returned by upcall_batch_process() point into that scratch and into the
 * upcalls passed in (packets and keys of EXECUTEs): they are valid until
 * the next upcall_batch_process() or upcall_batch_destroy(), and only as
 * long as the caller keeps the upcalls' memory.  Single-threaded; the MAC
 * table may be shared with other processes (common/mac-table.h).
 */
#ifndef HANDLERD_UPCALL_H
#define HANDLERD_UPCALL_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/flow.h"
#include "common/ipc-limits.h"
#include "common/util.h"
#include "common/xlate.h"
#include "proto/worker.pb-c.h"

struct mac_table;
struct policy_table;
struct upcall_nl;

/* The type of an upcall as the datapath gives it (the values of the
 * UpcallType protobuf enum and of enum dpif_upcall_type).  Any other value
 * is a bad upcall. */
#define UPCALL_TYPE_MISS 1
#define UPCALL_TYPE_ACTION 2

/* One upcall as received, from the ring (UpcallBatch) or a netlink socket.
 * Borrowed pointers: the module reads them and, for EXECUTEs, points the
 * OpBatch at 'key' and 'packet'. */
struct upcall_in {
    uint32_t type;              /* UPCALL_TYPE_*, or garbage. */
    const void *key;            /* OVS_KEY_ATTR_* stream. */
    size_t key_len;
    const void *packet;         /* Frame, from the Ethernet header. */
    size_t packet_len;
    const void *userdata;       /* USERSPACE userdata, if any. */
    size_t userdata_len;
    bool has_userdata;          /* Userdata present (may be empty). */
    uint32_t in_port;           /* Port the datapath says it came from. */
};

/* What an upcall is, after classification. */
enum upcall_class {
    UPCALL_CLASS_MISS,          /* Translate, install, execute. */
    UPCALL_CLASS_SLOW_PATH,     /* Translate, execute, install nothing. */
    UPCALL_CLASS_SAMPLE,        /* Count. */
    UPCALL_CLASS_CONTROLLER,    /* Count and log. */
    UPCALL_CLASS_BAD,           /* Count, log and drop. */
};

/* "miss", "slow_path", "sample", "controller", "bad". */
const char *upcall_class_to_string(enum upcall_class);

/* Classifies 'in' by its type and, for ACTION upcalls, its cookie (stored
 * in '*cookie'; zeroed otherwise).  For UPCALL_CLASS_BAD the reason is in
 * 'eb'.  Counts nothing: upcall_batch_process() does. */
enum upcall_class upcall_classify(const struct upcall_in *in,
                                  struct xlate_cookie *cookie,
                                  struct errbuf *eb);

/* The handler's view of the world while it processes one batch. */
struct upcall_env {
    struct policy_table *table; /* Rules (credited); NULL: none. */
    struct mac_table *macs;     /* Learning table, writable; NULL: none. */
    const uint32_t *ports;      /* The datapath's ports, sorted ascending. */
    size_t n_ports;
    uint32_t upcall_pid;        /* Pid of USERSPACE actions to us. */
    bool megaflows;             /* False: install exact-match flows. */
    uint64_t flow_count;        /* Flows the datapath holds (estimate). */
    uint64_t flow_limit;        /* Install nothing at or beyond it. */
    unsigned int batch_size;    /* Ops per OpBatch, 1..IPC_MAX_BATCH. */
    long long now_msec;         /* For MAC learning and aging. */
};

/* What an op of a composed batch is, for interpreting its result. */
enum upcall_op_kind {
    UPCALL_OP_PUT = 1,
    UPCALL_OP_EXECUTE = 2,
};

/* Most ops one batch of upcalls yields: a put and an execute each. */
#define UPCALL_MAX_OPS (2 * IPC_MAX_BATCH)

/* What upcall_batch_process() did with one batch, for the caller's
 * accounting (the named counters are kept by the module itself). */
struct upcall_summary {
    size_t n_upcalls;           /* Upcalls looked at. */
    size_t n_misses;            /* Distinct flows translated. */
    size_t n_puts;              /* FLOW_PUTs composed. */
    size_t n_executes;          /* EXECUTEs composed. */
    size_t n_dropped;           /* Upcalls dropped (bad, failed). */
};

struct upcall_batch;

struct upcall_batch *upcall_batch_create(void);
void upcall_batch_destroy(struct upcall_batch *);

/* Processes the 'n' (at most IPC_MAX_BATCH) upcalls 'ins' in 'env', as
 * described in the overview.  Stores in '*batchesp' an array of
 * '*n_batchesp' OpBatches ready for worker_submit_ops() (zero if there is
 * nothing to do; their batch_id is the caller's to set), in '*kindsp' the
 * kind of every op in order (enum upcall_op_kind, one per op across the
 * batches), and fills '*summary'.  The flows installed are counted into
 * 'env->flow_count' too, so that the limit holds across batches. */
void upcall_batch_process(struct upcall_batch *, struct upcall_env *env,
                          const struct upcall_in *ins, size_t n,
                          Dpif__OpBatch **batchesp, size_t *n_batchesp,
                          const uint8_t **kindsp,
                          struct upcall_summary *summary);

/* Accounts for the result 'error' (0 or a positive errno, 'reason' may be
 * NULL) of an op of kind 'kind'.  Returns true if the op succeeded (a put
 * that hit EEXIST included). */
bool upcall_note_result(enum upcall_op_kind kind, uint32_t error,
                        const char *reason);

/* Converts 'up', one upcall of a decoded UpcallBatch, into '*in',
 * borrowing its buffers. */
void upcall_in_from_proto(const Dpif__Upcall *up, struct upcall_in *in);

/* Converts 'up', one upcall parsed from a kernel upcall socket
 * (common/upcall-nl.h), into '*in', borrowing its buffers. */
void upcall_in_from_nl(const struct upcall_nl *up, struct upcall_in *in);

#endif /* handlerd/upcall.h */
