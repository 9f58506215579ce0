/*
 * ctl-command.h — what one control command handler of privd works with
 * (internal to privd's control plane: control-server.c and ctl-*.c).
 *
 * privd (root, or the "dpifd" user after the drop) answers dpifctl's
 * Requests; privd/control-server.c owns the socket, the peers, the
 * authorization, the dispatch, parking and paging.  The command bodies
 * live in one file per group, as dpifctl's cli/cmd-*.c do: ctl-dp.c
 * (datapaths and ports), ctl-policy.c (rules, fdb), ctl-status.c (procs,
 * counters, memory, log, metrics), ctl-dummy.c (inject, capture),
 * ctl-upcall.c (upcall and revalidator), ctl-flow.c (the flow commands,
 * their field checks and the paged flow dump).  Each group
 * exports its own table of "struct control_command" entries; the server
 * looks a request up in the union of the tables (control_command_find()),
 * which tests/unit/test_control_server.c checks against control.proto.
 *
 * Trust: a handler gets a Request that passed ipc_recv()'s envelope
 * checks and the authorization of its command, nothing more: every field
 * is still the client's and is checked here (ctl_check_name(),
 * ctl_find_dp(), and the group's own checks) before it is used.
 *
 * Reply memory: everything a Reply points to is allocated in the request's
 * context (ctx_alloc() and friends) and freed with ctx_free() after the
 * reply was packed; a handler never frees reply memory itself.
 */
#ifndef PRIVD_CTL_COMMAND_H
#define PRIVD_CTL_COMMAND_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "privd/control-server.h"
#include "privd/dump-pump.h"
#include "proto/control.pb-c.h"

struct control_conn;
struct control_dump;
struct control_frame;
struct dpif;
struct privd;
struct privd_dp;

/* Captured frames privd holds for readers after a clearing read that did
 * not fit in its reply (capture, ctl-dummy.c); owned by the server. */
struct ctl_backlog {
    struct control_frame *frames;   /* Held frames, oldest first. */
    size_t n;                       /* Entries in 'frames'. */
};

/* A connection's dump-flows in progress (ctl-flow.c); the connection
 * holds it, zeroed when it opens. */
struct ctl_paging {
    struct control_dump *dump;  /* dump-flows in progress, or NULL. */
    uint64_t next_cursor;       /* Source of dump cursors. */
};

/* Ends the dump if it is of datapath 'dpif' (before it is closed). */
void ctl_paging_forget_dp(struct ctl_paging *, const struct dpif *);
/* Ends the dump in progress, if any. */
void ctl_paging_end(struct ctl_paging *);

/* Drops the held frames of datapath 'dpif' (before it is closed). */
void ctl_backlog_forget_dp(struct ctl_backlog *, const struct dpif *);
/* Frees every held frame. */
void ctl_backlog_destroy(struct ctl_backlog *);

/* Everything one request's handler works with. */
struct control_ctx {
    struct control_server *cs;  /* The server. */
    struct privd *privd;        /* privd. */
    struct control_conn *conn;  /* The connection asking. */
    struct ctl_backlog *backlog;    /* The server's held captured frames. */
    struct ctl_paging *paging;  /* The connection's flow dump. */
    const struct control_peer *peer;    /* Its credentials. */
    size_t budget;              /* Bytes the reply's pages may take. */
    const char *subject;        /* Datapath the request is about (for the
                                 * change log), or NULL. */
    uint32_t seq;               /* Sequence number of the request. */
    bool parked;                /* The handler parked the request: no
                                 * reply now (struct control_park). */
    struct errbuf eb;           /* Reason of a failure. */
    void **allocs;              /* Everything the reply points to, freed
                                 * after it is sent. */
    size_t n_allocs;            /* Entries in 'allocs'. */
    size_t allocated;           /* Room in 'allocs'. */
};

/* One group's command table (see the top of this file). */
struct ctl_command_group {
    const struct control_command *commands;     /* Its entries. */
    size_t n_commands;                          /* Entries in 'commands'. */
};

/* The groups, concatenated by control_command_find(). */
extern const struct ctl_command_group ctl_dp_group; /* ctl-dp.c */
extern const struct ctl_command_group ctl_flow_group;             /* ctl-flow.c */
extern const struct ctl_command_group ctl_upcall_group;           /* ctl-upcall.c */
extern const struct ctl_command_group ctl_dummy_group; /* ctl-dummy.c */
extern const struct ctl_command_group ctl_status_group; /* ctl-status.c */
extern const struct ctl_command_group ctl_policy_group; /* ctl-policy.c */

/* ----- reply memory (ctl-reply.c) ----------------------------------------- */

/* Takes 'p' (from malloc) into the context's memory and returns it. */
void *ctx_keep(struct control_ctx *, void *p);
/* Zeroed memory of 'size' bytes (at least one) kept by the context. */
void *ctx_alloc(struct control_ctx *, size_t size);
/* A copy of 's' kept by the context. */
char *ctx_strdup(struct control_ctx *, const char *s);
/* A heap copy of 'n' bytes: aligned for any type, so that netlink streams
 * that arrived at an arbitrary offset can be parsed in place. */
void *ctx_memdup(struct control_ctx *, const void *p, size_t n);
/* A protobuf bytes field holding a copy of 'n' bytes at 'p'. */
ProtobufCBinaryData ctx_bytes(struct control_ctx *, const void *p, size_t n);
/* Frees everything the context keeps. */
void ctx_free(struct control_ctx *);
/* Appends 'item' to a repeated field ('*itemsp', '*np'), growing by
 * doubling in the context's memory. */
void ctx_append(struct control_ctx *, void ***itemsp, size_t *np,
                void *item);

/* Allocates message VAR in CTX's memory and initializes it with INIT. */
#define CTX_NEW(CTX, VAR, INIT) \
    ((VAR) = ctx_alloc(CTX, sizeof *(VAR)), INIT(VAR))
#define CTX_APPEND(CTX, ITEMS, N, ITEM) \
    ctx_append(CTX, (void ***) (void *) &(ITEMS), &(N), ITEM)

/* ----- request checks (control-server.c) ---------------------------------- */

/* Fails with EINVAL unless 's' is a string of 1 to IPC_MAX_NAME bytes;
 * 'what' names the field in the reason. */
int ctl_check_name(struct control_ctx *, const char *what, const char *s);
/* Finds datapath 'name' for a request and makes it the request's subject;
 * ENOENT if there is none. */
int ctl_find_dp(struct control_ctx *, const char *name,
                struct privd_dp **dpp);
/* odp_actions_validate()'s port callback (ctl-flow.c): true if 'port' is a port of
 * datapath 'dp_' (a struct privd_dp *). */
bool ctl_port_ok(uint32_t port, void *dp_);
/* The revalidation cycle of datapath 'dpif' (its dump pump), or NULL when
 * it has none: dpifd runs without workers, or the datapath was opened
 * after the workers started. */
struct dump_pump *ctl_pump_of(const struct privd *, const struct dpif *);
/* EOPNOTSUPP, with the reason, when no revalidator runs at all
 * (control_request_unavailable). */
int ctl_check_workers(struct control_ctx *);

/* ----- parked replies (control-server.c) ---------------------------------- */

/* How a parked request starts one datapath's cycle: dump_pump_request()
 * (arg: purge) or dump_pump_set_megaflows() (arg: megaflows on). */
typedef void ctl_pump_start_func(struct dump_pump *, bool arg,
                                 dump_pump_done_func *, void *aux);

/* Parks the request being served until a cycle of every datapath that
 * starts after it completed (control-server.h, 7.), each started with
 * 'start'; the reply is member 'result', 'name' the command for the log.
 * Returns 0 (the reply follows when the cycles are done, or at once when
 * there is none) or a positive errno (EOPNOTSUPP without workers, EBUSY
 * when too many requests are parked). */
int ctl_park_cycles(struct control_ctx *, Dpif__Reply *,
                    Dpif__Reply__ResultCase result, const char *name,
                    ctl_pump_start_func *start, bool arg);

/* Counts an invalid request (control_request_invalid), formats the reason
 * into the context and returns 'error' (EINVAL mostly). */
int ctl_invalid(struct control_ctx *, int error, const char *fmt, ...)
    PRINTF_FORMAT(3, 4);

#endif /* ctl-command.h */
