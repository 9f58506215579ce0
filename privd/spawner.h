/*
 * spawner.h — the process that starts workers, on privd's request alone.
 *
 * Workers must start with the privileges to drop into their sandbox
 * (chroot, setuid), and privd must not keep those privileges: CAP_SETUID in
 * privd would make every privd bug a root bug.  So privd, while still root,
 * forks a spawner (spawner_start()) and only then drops to uid dpifd
 * (privdrop.h).  The spawner is tiny and does one thing:
 *
 *     privd                               spawner (uid 0, 4 capabilities)
 *       socketpair(SEQPACKET) ctl_p/ctl_w
 *       pipe log_r/log_w
 *       SPAWN {role, id} + ctl_w -------->  validate size, magic, type,
 *             [+ log_w]                     role, id range, one or two
 *                                           fds: an AF_UNIX SEQPACKET
 *                                           socket [and a pipe's write
 *                                           end]
 *                                           fork; child: ctl_w on fd 3,
 *                                           /dev/null on 0, log_w on 1
 *                                           and 2, empty env,
 *                                           fexecve(binary opened at
 *                                           start, "--role R --id N")
 *       <------------ REPLY {pid | errno}   (exec failure reported through a
 *                                           close-on-exec pipe)
 *       ...
 *       KILL {pid} ---------------------->  only a live child of its own
 *       <------------ REPLY {pid | errno}   kill(pid, SIGKILL)
 *       ...
 *       <------------ EXIT {pid, status}    SIGCHLD (signalfd) -> waitpid()
 *
 * Workers are the spawner's children, so the spawner reaps them and reports
 * every exit to privd, which supervises (logs why, restarts with backoff).
 * privd (uid dpifd) cannot signal workers (uid dpifd-worker), so killing a
 * misbehaving worker is a request too; the spawner honours it only for a
 * pid that is its own child and not yet reaped, so the pid cannot have been
 * reused.  EOF on the socket (privd died or closed it) makes the spawner
 * exit (after spawner_config.at_exit, privd's cleanup of its run files),
 * and the workers' PR_SET_PDEATHSIG(SIGKILL) takes them down with it.
 * That is the only way the spawner stops short of SIGKILL: it ignores
 * SIGHUP, SIGINT and SIGTERM (a signal to the whole process group, as from
 * a terminal), so that privd never loses it while running or shutting
 * down; its children get the default dispositions back before exec.
 * The spawner's own PR_SET_PDEATHSIG works only while privd is root: the
 * kernel checks the dying parent's permission to signal the child, and
 * privd as uid dpifd without CAP_KILL may not signal a uid-0 process; EOF
 * is what stops the spawner after that.
 *
 * Who drops what, and why there (the choice of this design):
 *
 *   The worker's chroot must happen after exec — a binary outside the empty
 *   root cannot be exec'd from inside it (fexecve() of a dynamically linked
 *   binary needs the loader and libraries by path).  So the drop cannot be
 *   finished in the spawner's child before exec; it is finished by the
 *   worker, by sandbox_enter_worker(), as the first thing in main().  The
 *   spawner's child therefore execs the worker as uid 0: a uid-0 exec gets
 *   the bounding set as its permitted and effective sets, and the spawner
 *   has limited its bounding set to exactly what the worker's drop needs.
 *   Capabilities are not otherwise inherited across exec (no ambient set is
 *   used), so this is the only way the worker gets them.
 *
 *   The spawner keeps, permitted = effective = bounding:
 *     CAP_SETUID, CAP_SETGID  the worker's setresuid()/setresgid();
 *     CAP_SYS_CHROOT          the worker's chroot() into the empty root;
 *     CAP_SETPCAP             the worker's clearing of its bounding set;
 *     CAP_KILL                the parent-death signal and KILL requests.
 *   The last two are not in the design's list, and are needed.  Only a
 *   process with CAP_SETPCAP can drop bounding-set bits, and workers must
 *   end with an empty bounding set; with the bounding set limited to these
 *   capabilities, CAP_SETPCAP can only remove capabilities (and set
 *   securebits), never add any.  The kernel delivers a parent-death signal
 *   only if the dying parent may signal the child: without CAP_KILL, a
 *   uid-0 spawner's death would leave its uid-dpifd-worker workers running
 *   (the unit test that kills the spawner found exactly that).  The child
 *   drops CAP_KILL from its bounding set before exec, so workers start with
 *   the other four only.
 *   The spawner also sets no_new_privs (inherited by workers: an exec can
 *   never grant more than these four) and is not dumpable.  It stays uid 0:
 *   CAP_SETUID could become any uid anyway, and a uid-0 exec is what gives
 *   the worker its capabilities.  It does not chroot (it must exec the
 *   worker binaries) and it has no seccomp filter yet.
 *
 *   Unprivileged (privd not root): the spawner is the same code in a plain
 *   fork, dropping any capabilities it has; workers run as the invoking
 *   user and apply what sandbox_enter_worker() can apply unprivileged.
 *
 * The wire format is a fixed-layout struct, not protobuf: the spawner is a
 * fork of privd, never exec'd, so both ends are the same binary and always
 * agree on the layout; the fields have explicit widths and a magic number,
 * and the receiver checks the exact size.  Exposed here for the tests,
 * which send malformed requests on purpose.
 *
 * Worker binaries: spawner_start() opens both (close-on-exec), checks the
 * open files (regular, executable, and when root owned by root and not
 * writable by group or others) and the spawner execs from those fds ever
 * after (fexecve()), so a file renamed over a worker's path later is never
 * run; the workers do not inherit the fds.  (A script would need its fd
 * across exec: workers are ELF binaries.)
 *
 * Workers' stdout and stderr: when privd passes a pipe's write end with
 * the SPAWN, the worker gets it as fd 1 and 2, and privd reads the other
 * end (privd/worker-log.h: every line prefixed with the worker's role, id
 * and pid, escaped, cut and rate-limited), so that a worker cannot write
 * lines that look like privd's in privd's log.  Without one the worker
 * shares the spawner's.
 *
 * Trust: the spawner trusts nothing in a request (privd parses worker
 * input and may be compromised) and only ever starts the two binaries
 * opened at spawner_start().  privd checks the spawner's messages for
 * size and type too.  The socket is private to the two processes (a
 * close-on-exec socketpair), so requests come from privd alone.
 *
 * Use from privd's poll loop: poll spawner_get_fd() for input, then call
 * spawner_recv_exit() until it returns EAGAIN.  spawner_request() blocks
 * until its reply and queues exit events that arrive meanwhile, so call
 * spawner_recv_exit() until EAGAIN after it too.  Single-threaded.
 */
#ifndef DPIF_SPAWNER_H
#define DPIF_SPAWNER_H 1

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"
#include "common/worker.h"

/* "dpsp" */
#define SPAWNER_MAGIC 0x64707370u

/* Message types on the privd <-> spawner socket. */
enum spawner_msg_type {
    SPAWNER_MSG_SPAWN = 1,      /* privd -> spawner, with one fd. */
    SPAWNER_MSG_REPLY = 2,      /* spawner -> privd: answer to a SPAWN. */
    SPAWNER_MSG_EXIT = 3,       /* spawner -> privd: a worker exited. */
    SPAWNER_MSG_KILL = 4,       /* privd -> spawner, no fds. */
};

/* privd -> spawner, exactly this size.  SPAWN carries one or two fds
 * (SCM_RIGHTS): the worker's end of its control socketpair, then optionally
 * the write end of the pipe for its stdout and stderr.  KILL carries
 * none. */
struct spawner_request {
    uint32_t magic;             /* SPAWNER_MAGIC. */
    uint32_t type;              /* SPAWNER_MSG_SPAWN or SPAWNER_MSG_KILL. */
    uint32_t role;              /* SPAWN: enum worker_role.  KILL: 0. */
    uint32_t id;                /* SPAWN: worker id, below the configured
                                 * max.  KILL: 0. */
    int32_t pid;                /* SPAWN: 0.  KILL: the worker to kill. */
};

/* spawner -> privd, no fds. */
struct spawner_event {
    uint32_t magic;             /* SPAWNER_MAGIC. */
    uint32_t type;              /* SPAWNER_MSG_REPLY or SPAWNER_MSG_EXIT. */
    int32_t pid;                /* REPLY: the new (or killed) worker, 0 on
                                 * error.
                                 * EXIT: the worker that exited. */
    int32_t error;              /* REPLY: 0 or a positive errno. */
    int32_t status;             /* EXIT: wait status (WIFEXITED() ...). */
};

/* What the spawner may start.  Owned by the caller; copied. */
struct spawner_config {
    const char *handler_path;   /* Absolute path of dpif-handlerd. */
    const char *revalidator_path;   /* Absolute path of dpif-revald. */
    unsigned int max_worker_id; /* Ids in [0, max_worker_id) are accepted;
                                 * at most DPIF_WORKER_MAX_ID. */
    void (*at_exit)(void *aux); /* Or NULL: run in the spawner when privd
                                 * has gone (EOF), just before the spawner
                                 * exits.  privd's uid-0 cleanup of what it
                                 * made before the drop (safe-fs.h); it
                                 * works on the spawner's copy of privd's
                                 * memory from spawner_start(), so nothing
                                 * privd does later reaches it. */
    void *at_exit_aux;          /* Passed to 'at_exit'. */
    const int *keep_fds;        /* fds the spawner keeps open for
                                 * 'at_exit' (close-on-exec: workers never
                                 * get them); 'n_keep_fds' of them, at
                                 * most SANDBOX_MAX_KEEP_FDS - 3. */
    size_t n_keep_fds;
};

struct spawner;

/* Finds the worker binary 'name' ("dpif-handlerd", "dpif-revald") and
 * writes its absolute path into 'path' (PATH_MAX bytes).  Looks, in order:
 *   1. next to the running binary (dirname of /proc/self/exe): an
 *      installed layout that keeps everything in one directory, or a test
 *      that puts its helper there;
 *   2. only when the running binary is inside the build tree it was built
 *      in: that build tree's BUILD_SUBDIR/name ("handlerd", "revald");
 *   3. the installed libexec directory (CMAKE_INSTALL_FULL_LIBEXECDIR/dpifd).
 * The first executable regular file wins.  Returns 0 or ENOENT. */
int spawner_find_worker(const char *name, const char *build_subdir,
                        char path[PATH_MAX], struct errbuf *eb);

/* Checks the configuration (absolute paths of executable regular files;
 * when root, owned by root and not writable by group or others), opens the
 * binaries that the spawner will exec from, forks the spawner and returns
 * a handle to it in '*spawnerp'.  Call before
 * privdrop_apply(), while root if dpifd runs as root. */
int spawner_start(const struct spawner_config *, struct spawner **spawnerp,
                  struct errbuf *eb) WARN_UNUSED;

/* Asks the spawner to start worker 'id' of 'role' with 'fd' (the worker's
 * end of its control socketpair) and 'log_fd' (the write end of a pipe
 * for its stdout and stderr, or -1 to share the spawner's); both stay open
 * in the caller: close them after the call.  Waits for the reply (at most
 * 5 s) and stores the worker's pid in '*pidp'.  Returns 0 or a positive
 * errno: the spawner's (EINVAL, ERANGE, EBADF, ...) or EPIPE if the
 * spawner is gone. */
int spawner_request(struct spawner *, enum worker_role role, unsigned int id,
                    int fd, int log_fd, pid_t *pidp, struct errbuf *eb);

/* Asks the spawner to SIGKILL worker 'pid' (which must be a live worker it
 * started).  The exit is reported later like any other.  Returns 0 or a
 * positive errno (ESRCH for a pid that is not a live worker). */
int spawner_kill(struct spawner *, pid_t pid, struct errbuf *eb);

/* Returns the next worker exit reported by the spawner without blocking:
 * 0 with '*pidp' and '*statusp' (a wait status), EAGAIN if none is
 * pending, EPIPE if the spawner is gone, EPROTO for a malformed message. */
int spawner_recv_exit(struct spawner *, pid_t *pidp, int *statusp,
                      struct errbuf *eb);

/* The socket to poll for input from the spawner. */
int spawner_get_fd(const struct spawner *);

/* The spawner's pid. */
pid_t spawner_get_pid(const struct spawner *);

/* Closes the socket (the spawner exits on EOF, and its workers with it
 * through their parent-death signal), reaps the spawner and frees
 * 'spawner'.  Returns the spawner's wait status, or -1 if it could not be
 * reaped.  NULL is a no-op returning 0. */
int spawner_destroy(struct spawner *);

#endif /* spawner.h */
