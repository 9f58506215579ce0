/*
 * sandbox.h — the drop sequence every worker runs before it reads anything.
 *
 * Handlers and revalidators parse hostile input (packets, flow keys, dumped
 * flows).  They are built to be compromised without consequence: a worker
 * that is taken over can only send op batches that privd validates.  For
 * that to hold, the worker must have nothing else: no capabilities, no
 * files, no way to open new sockets, no way to gain privileges by exec, no
 * way to be ptrace'd by another process of the same uid.
 *
 * Typical use, first thing in a worker's main():
 *
 *     struct sandbox_config cfg = {
 *         .user = "dpifd-worker", .root_dir = "/run/dpifd/empty",
 *         .role = WORKER_ROLE_HANDLER, .expect_root = geteuid() == 0,
 *         .keep_fds = (int[]) { DPIF_WORKER_CONTROL_FD }, .n_keep_fds = 1,
 *     };
 *     struct sandbox_report report;
 *     struct errbuf eb;
 *     if (sandbox_enter_worker(&cfg, &report, &eb)) {
 *         LOG_FATAL("sandbox: %s", eb.msg);
 *     }
 *
 * What is dropped, in this order, and why this order:
 *
 *   1. Parent death.  PR_SET_PDEATHSIG(SIGKILL), then getppid() is compared
 *      with the expected parent: a parent that died before the prctl would
 *      otherwise leave an orphan that never gets the signal.
 *   2. Stray file descriptors.  Everything except 0, 1, 2 and the caller's
 *      list is closed (close_range()), before anything else can leak them.
 *      User and group names are resolved before this step: NSS may open
 *      files, load modules or keep a socket open, and those fds are closed
 *      here too.  So is the time zone (tzset()), which libc would
 *      otherwise try to open on the first timestamp inside the sandbox.
 *   3. Empty root.  The root directory is opened O_DIRECTORY|O_NOFOLLOW and
 *      checked through that fd (owned by root, not writable by group or
 *      others, empty), then fchdir()+chroot(".")+chdir("/").  Checking and
 *      entering through the same fd leaves no window to swap the directory.
 *      Needs CAP_SYS_CHROOT.
 *   4. Identity and capabilities, drop_change_id() (common/drop.h), one
 *      libcap-ng capng_change_id() call: setgroups(0) and setresgid() then
 *      setresuid() to the worker user, with the permitted, effective,
 *      inheritable, ambient and bounding sets all cleared.  The group
 *      changes come first because they need CAP_SETGID, which setresuid()
 *      to a non-zero uid takes away; clearing the bounding set needs
 *      CAP_SETPCAP, which capng_change_id() keeps until the very end.  The
 *      result is read back (getresuid(), getresgid(), getgroups(), a
 *      setuid(0) that must fail, capget(), PR_CAPBSET_READ, ambient) and
 *      anything left over is an error.  The kernel clears the parent-death
 *      signal when the uid changes, so step 1 is repeated here.
 *   5. PR_SET_NO_NEW_PRIVS (drop_lock(), with step 6): no exec can ever
 *      grant privileges again (the filter below forbids execve anyway;
 *      this also makes the filter loadable without CAP_SYS_ADMIN).
 *   6. PR_SET_DUMPABLE 0: no core dumps, and no ptrace or /proc/PID/mem
 *      access by other processes running as the worker user — a
 *      compromised handler cannot take over a revalidator.  It comes after
 *      the uid change, which resets the flag.
 *   7. The seccomp allow-list (libseccomp), per role, default action
 *      SCMP_ACT_TRAP, foreign architectures killed.  A trapped syscall
 *      never runs; a SIGSYS handler installed just before writes its
 *      number to stderr and, as a pre-packed CounterReport note
 *      (SANDBOX_DENIED_SYSCALL_NOTE), to privd on the control socket, then
 *      the worker dies of SIGSYS — so that "dpifctl procs" and the log say
 *      which syscall it was (only the dying process can know).  See
 *      sandbox.c for the list and the reason for every entry; in short: a
 *      poll loop over already-open unix sockets, eventfds and mmap'ed
 *      memfds, no PROT_EXEC mappings, no open, no socket, no fork, no exec.
 *      It is last because every step above needs syscalls the filter denies.
 *
 * The empty root: a directory prepared by privd while it is still root
 * (sandbox_prepare_root(): RUN_DIR/empty, root-owned, mode 0555, empty).
 * A private mount namespace with pivot_root() to a fresh tmpfs would not
 * need the directory, but it needs CAP_SYS_ADMIN in the spawner, which is
 * the capability that can undo everything else (mount over /etc, remount
 * read-write, ...).  chroot() into an empty, unwritable directory needs only
 * CAP_SYS_CHROOT, and a worker without capabilities cannot leave it: the
 * classic chroot escapes need CAP_SYS_CHROOT again or an open directory fd
 * from outside, and step 2 closed those.
 *
 * Running unprivileged (expect_root false: tests, the dummy datapath): steps
 * 3 and 4's identity change and bounding-set clear need privileges and are
 * skipped; the permitted, effective, inheritable and ambient sets are still
 * cleared, and steps 1, 2, 5, 6 and 7 are applied in full.  Each skipped
 * step is logged at warning level and left out of the report.  Starting as
 * root with expect_root false, or the reverse, is an error: the sandbox
 * never silently runs a worker as root.
 *
 * Sanitizer builds (ASan/UBSan): the runtime is told about the sandbox with
 * __sanitizer_sandbox_on_notify() (it caches /proc/self/maps and starts the
 * symbolizer while it still can), and LeakSanitizer's exit-time check —
 * which needs /proc, ptrace and clone — is moved to just before the drop
 * with __lsan_do_leak_check().  The allow-list then also contains the few
 * syscalls the runtime uses to report an error (see sandbox.c).
 *
 * Process safety: call this exactly once, from a single-threaded process,
 * before any untrusted input is read.  It cannot be undone.  On failure the
 * process is in an unspecified, partially dropped state and must exit.
 */
#ifndef DPIF_SANDBOX_H
#define DPIF_SANDBOX_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"
#include "common/worker-exec.h"

/* Defined when a sanitizer runtime (ASan, with UBSan: the DPIFD_SANITIZE
 * and DPIFD_FUZZ builds) is linked in. */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_SANITIZER 1
#endif
#endif

/* The steps above, as bits of sandbox_report's masks. */
enum sandbox_step {
    SANDBOX_STEP_PDEATHSIG = 1 << 0,     /* SIGKILL when the parent dies. */
    SANDBOX_STEP_CLOSE_FDS = 1 << 1,     /* Stray fds closed. */
    SANDBOX_STEP_CHROOT = 1 << 2,        /* In the empty root. */
    SANDBOX_STEP_IDS = 1 << 3,           /* Worker uid/gid, no groups. */
    SANDBOX_STEP_CAPS = 1 << 4,          /* P, E, I and ambient sets empty. */
    SANDBOX_STEP_BOUNDING = 1 << 5,      /* Bounding set empty. */
    SANDBOX_STEP_NO_NEW_PRIVS = 1 << 6,  /* PR_SET_NO_NEW_PRIVS. */
    SANDBOX_STEP_NOT_DUMPABLE = 1 << 7,  /* PR_SET_DUMPABLE 0. */
    SANDBOX_STEP_SECCOMP = 1 << 8,       /* Allow-list loaded. */
};
#define SANDBOX_N_STEPS 9
#define SANDBOX_ALL_STEPS ((1u << SANDBOX_N_STEPS) - 1)

/* Most fds a worker may keep besides 0, 1 and 2. */
#define SANDBOX_MAX_KEEP_FDS 16

/* What sandbox_enter_worker() is to do.  Owned by the caller. */
struct sandbox_config {
    const char *user;           /* Worker user: a name or a decimal uid;
                                 * used only when expect_root. */
    const char *group;          /* Group name or decimal gid; NULL for the
                                 * user's primary group (a name is then
                                 * required in 'user'). */
    const char *root_dir;       /* Empty directory to chroot into: an
                                 * absolute path, or "." for the current
                                 * directory; used only when expect_root.
                                 * See sandbox_prepare_root(). */
    enum worker_role role;      /* Selects the seccomp profile. */
    bool expect_root;           /* True if started as uid 0 by the spawner,
                                 * false if dpifd runs unprivileged.  Checked
                                 * against the real credentials. */
    pid_t parent_pid;           /* Expected parent; 0 for getppid() at entry
                                 * (which must not be 1). */
    const int *keep_fds;        /* Fds kept open besides 0, 1 and 2. */
    size_t n_keep_fds;          /* Entries in 'keep_fds', at most
                                 * SANDBOX_MAX_KEEP_FDS. */
};

/* What was applied, for logs and "dpifctl procs". */
struct sandbox_report {
    unsigned int applied;       /* SANDBOX_STEP_* bits applied. */
    unsigned int skipped;       /* SANDBOX_STEP_* bits skipped because the
                                 * process is unprivileged. */
    uid_t uid;                  /* Real = effective = saved uid after. */
    gid_t gid;                  /* Real = effective = saved gid after. */
    enum worker_role role;      /* Seccomp profile loaded. */
};

/* Runs the whole drop sequence described above.  On success returns 0 and
 * fills '*report'.  On failure returns a positive errno with the failing
 * step in 'eb'; the caller must exit. */
int sandbox_enter_worker(const struct sandbox_config *,
                         struct sandbox_report *report, struct errbuf *eb)
    WARN_UNUSED;

/* Creates 'path' if it does not exist and makes it a valid empty root:
 * a directory (not a symlink), owned by root:root, mode 0555, empty.  For
 * privd while it is still root; fails with EPERM otherwise.  An existing
 * directory that is not empty is refused (ENOTEMPTY), never cleaned. */
int sandbox_prepare_root(const char *path, struct errbuf *eb);

/* Closes every file descriptor except 0, 1, 2 and the 'n_keep' fds in
 * 'keep' (at most SANDBOX_MAX_KEEP_FDS).  Step 2 above; the spawner uses it
 * for itself and for each child before exec.  Returns 0 or a positive
 * errno. */
int sandbox_close_fds(const int *keep, size_t n_keep, struct errbuf *eb);

/* The name of the note a worker killed by the filter sends privd just
 * before it dies: a CounterReport (request_id 0) whose only entry, in
 * 'memory', is this name with the syscall's number. */
#define SANDBOX_DENIED_SYSCALL_NOTE "sandbox_denied_syscall"

/* After the handshake, a handler calls this with the kernel upcall sockets
 * privd passed it: from then on write, writev, pwrite*, sendto, sendmsg
 * and sendmmsg on any of the 'n' fds in 'fds' fail with EPERM (a second
 * seccomp filter, which nothing can remove), so that a compromised handler
 * cannot send generic-netlink requests to the kernel through them; it can
 * still receive.  Returns 0 or a positive errno. */
int sandbox_forbid_send(const int *fds, size_t n, struct errbuf *eb);

/* The name of syscall 'nr' on this architecture ("sysinfo"), "?" if
 * unknown, in 'buf' of 'size' bytes.  For privd, to describe a worker's
 * death. */
void sandbox_syscall_name(int nr, char *buf, size_t size);

/* "pdeathsig", "close-fds", "chroot", "ids", "caps", "bounding",
 * "no-new-privs", "not-dumpable", "seccomp"; "?" otherwise. */
const char *sandbox_step_to_string(enum sandbox_step);

/* Writes the names of the steps in 'steps' (a SANDBOX_STEP_* mask),
 * separated by commas, into 'buf' of 'size' bytes: "none" for an empty
 * mask, only whole names when truncated, always null-terminated. */
void sandbox_format_steps(unsigned int steps, char *buf, size_t size);

#endif /* sandbox.h */
