/*
 * worker-exec.h — what every worker process is told at exec time.
 *
 * Workers (dpif-handlerd, dpif-revald) are started by the spawner, a tiny
 * process that privd forks before it drops root (see privd/spawner.h).  The
 * contract between the spawner and a worker binary is fixed and small, so
 * that it can be stated here once and checked on both sides:
 *
 *   - File descriptors: 0 is /dev/null, 1 and 2 are the spawner's (privd's)
 *     stdout and stderr, and DPIF_WORKER_CONTROL_FD is the worker's end of
 *     its control socketpair with privd (AF_UNIX, SOCK_SEQPACKET).  Nothing
 *     else is open.
 *
 *   - Command line: exactly
 *
 *         <binary name> --role handler|revalidator --id N
 *
 *     with N in [0, DPIF_WORKER_MAX_ID).  worker_parse_args() checks it.
 *
 *   - Environment: empty (sanitizer builds pass their *SAN_OPTIONS on).
 *
 *   - Credentials: as started by privd's spawner: uid 0 with only the
 *     capabilities the drop itself needs, or, when dpifd runs unprivileged,
 *     the invoking user.  The worker's first act is sandbox_enter_worker()
 *     (common/sandbox.h); nothing read from outside is parsed before it.
 *
 * Trust: the command line comes from the spawner, which builds it from a
 * validated request, but a worker still parses it strictly: a worker binary
 * run by hand with odd arguments must refuse, not guess.
 *
 * The empty root.  The exec contract gives a worker no way to learn the
 * configured empty root (argv is fixed, the environment empty), so a worker
 * started as root chroots into its working directory at exec: privd
 * chdir()s into its configured empty root before it forks the spawner,
 * whose children inherit it.  The sandbox checks the directory (root-owned,
 * not writable by others, empty), so any other working directory fails
 * closed.  The worker user is the compiled-in DPIFD_WORKER_USER.
 *
 * Both sides include this header: the spawner and privd (privd/spawner.h)
 * to build the command line, the sandbox (common/sandbox.h) for the role
 * that selects its seccomp profile, and the worker runtime
 * (common/worker.h) to check it.  It includes nothing of theirs.
 */
#ifndef DPIF_WORKER_EXEC_H
#define DPIF_WORKER_EXEC_H 1

#include <stdbool.h>

#include "common/util.h"

/* The fd on which a worker finds its control socket. */
#define DPIF_WORKER_CONTROL_FD 3

/* Worker ids are small: one per handler or revalidator. */
#define DPIF_WORKER_MAX_ID 1024

/* What a worker does.  The numeric values appear on the spawner's wire
 * (privd/spawner.h): never renumber. */
enum worker_role {
    WORKER_ROLE_HANDLER = 1,      /* dpif-handlerd: upcalls, translation. */
    WORKER_ROLE_REVALIDATOR = 2,  /* dpif-revald: one shard of the ukeys. */
};

/* True if 'role' is one of the values above. */
bool worker_role_is_valid(unsigned int role);

/* "handler" or "revalidator"; "?" for an invalid role. */
const char *worker_role_to_string(enum worker_role);

/* Parses "handler" or "revalidator".  Returns 0 or EINVAL. */
int worker_role_from_string(const char *, enum worker_role *rolep);

/* Parses a worker's command line (see above) into '*rolep' and '*idp'.
 * Returns 0, or EINVAL with a reason in 'eb'. */
int worker_parse_args(int argc, char *argv[], enum worker_role *rolep,
                      unsigned int *idp, struct errbuf *eb);

/* The user a worker started as root becomes (see "The empty root"). */
#ifndef DPIFD_WORKER_USER
#define DPIFD_WORKER_USER "dpifd-worker"
#endif

#endif /* common/worker-exec.h */
