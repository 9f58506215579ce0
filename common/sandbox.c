#include "common/sandbox.h"

#include <dirent.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/drop.h"
#include "common/ipc.h"
#include "common/log.h"
#include "proto/worker.pb-c.h"

LOG_MODULE(sandbox);

#ifdef SANDBOX_SANITIZER
#include <sanitizer/common_interface_defs.h>
#include <sanitizer/lsan_interface.h>
#endif

/* Roles as bits, for the allow-list table. */
#define ROLE_BIT(ROLE) (1u << (ROLE))
#define ROLES_ALL (ROLE_BIT(WORKER_ROLE_HANDLER) \
                   | ROLE_BIT(WORKER_ROLE_REVALIDATOR))
#define ROLE_HANDLER ROLE_BIT(WORKER_ROLE_HANDLER)

/* One unconditionally allowed syscall. */
struct sandbox_syscall {
    int nr;                     /* SCMP_SYS() number (negative: not a
                                 * syscall on this architecture). */
    unsigned int roles;         /* ROLE_BIT()s of the roles allowed it. */
};

/* The allow-list.  Everything not here and not in sandbox_add_rules()'s
 * conditional rules kills the process.  The worker's loop is: poll the
 * control socket and eventfd doorbells, read and write them, pass fds with
 * SCM_RIGHTS, read and write memfd rings that privd handed over and that
 * are mmap'ed already or are mmap'ed now from a received fd. */
static const struct sandbox_syscall sandbox_syscalls[] = {
    /* Control socket, eventfd doorbells, log lines to stderr. */
    { SCMP_SYS(read), ROLES_ALL },
    { SCMP_SYS(readv), ROLES_ALL },
    { SCMP_SYS(write), ROLES_ALL },
    { SCMP_SYS(writev), ROLES_ALL },
    /* Control messages, with SCM_RIGHTS for received fds. */
    { SCMP_SYS(recvmsg), ROLES_ALL },
    { SCMP_SYS(sendmsg), ROLES_ALL },
    /* glibc's recv() and send() are these on x86_64.  On fds the worker
     * already holds: it cannot create a socket to send anywhere new. */
    { SCMP_SYS(recvfrom), ROLES_ALL },
    { SCMP_SYS(sendto), ROLES_ALL },
    /* Handlers read upcalls in batches from the netlink sockets privd
     * passed them. */
    { SCMP_SYS(recvmmsg), ROLE_HANDLER },
    /* Dropping fds privd passed (old ring generations, closed sockets). */
    { SCMP_SYS(close), ROLES_ALL },
    /* The poll loop. */
    { SCMP_SYS(poll), ROLES_ALL },
    { SCMP_SYS(ppoll), ROLES_ALL },
    { SCMP_SYS(epoll_create1), ROLES_ALL },
    { SCMP_SYS(epoll_ctl), ROLES_ALL },
    { SCMP_SYS(epoll_wait), ROLES_ALL },
    { SCMP_SYS(epoll_pwait), ROLES_ALL },
    /* Memory: malloc, and unmapping rings.  mmap and mprotect are
     * conditional (no PROT_EXEC), see sandbox_add_rules(). */
    { SCMP_SYS(brk), ROLES_ALL },
    { SCMP_SYS(munmap), ROLES_ALL },
    { SCMP_SYS(mremap), ROLES_ALL },
    /* The size of a received memfd before mapping it; stdio's first use of
     * a stream.  fstatat is conditional (AT_EMPTY_PATH), madvise too (no
     * MADV_REMOVE, which would punch holes in the shared memfds). */
    { SCMP_SYS(fstat), ROLES_ALL },
    /* Time: timestamps, timeouts, backoff. */
    { SCMP_SYS(clock_gettime), ROLES_ALL },
    { SCMP_SYS(gettimeofday), ROLES_ALL },
    { SCMP_SYS(clock_nanosleep), ROLES_ALL },
    { SCMP_SYS(nanosleep), ROLES_ALL },
    /* Hash seeds. */
    { SCMP_SYS(getrandom), ROLES_ALL },
    /* Yielding while a ring peer catches up. */
    { SCMP_SYS(sched_yield), ROLES_ALL },
    /* Log prefixes; raise() and abort() look up their own ids. */
    { SCMP_SYS(getpid), ROLES_ALL },
    { SCMP_SYS(gettid), ROLES_ALL },
    { SCMP_SYS(getppid), ROLES_ALL },
    /* Signals: SIGTERM/SIGPIPE handling, and returning from handlers. */
    { SCMP_SYS(rt_sigaction), ROLES_ALL },
    { SCMP_SYS(rt_sigprocmask), ROLES_ALL },
    { SCMP_SYS(rt_sigreturn), ROLES_ALL },
    { SCMP_SYS(restart_syscall), ROLES_ALL },
    /* Leaving. */
    { SCMP_SYS(exit), ROLES_ALL },
    { SCMP_SYS(exit_group), ROLES_ALL },
#ifdef SANDBOX_SANITIZER
    /* Sanitizer runtime: its SEGV handler runs on an alternate stack, and
     * its allocator and error reports query the thread's limits. */
    { SCMP_SYS(sigaltstack), ROLES_ALL },
    { SCMP_SYS(sched_getaffinity), ROLES_ALL },
    { SCMP_SYS(getrlimit), ROLES_ALL },
    { SCMP_SYS(prlimit64), ROLES_ALL },
#endif
};

#ifdef SANDBOX_SANITIZER
/* Syscalls the sanitizer runtime tries while reporting an error (starting
 * the symbolizer, reading /proc): they fail with EPERM instead of killing
 * the process, so that the report is still printed, unsymbolized.  Only in
 * sanitizer builds, which are never shipped. */
static const int sandbox_sanitizer_denied[] = {
    SCMP_SYS(open), SCMP_SYS(openat), SCMP_SYS(stat), SCMP_SYS(lstat),
    SCMP_SYS(access), SCMP_SYS(readlink), SCMP_SYS(readlinkat),
    SCMP_SYS(pipe), SCMP_SYS(pipe2), SCMP_SYS(clone), SCMP_SYS(clone3),
    SCMP_SYS(fork), SCMP_SYS(vfork), SCMP_SYS(execve),
};
#endif

static const char *const step_names[SANDBOX_N_STEPS] = {
    "pdeathsig", "close-fds", "chroot", "ids", "caps", "bounding",
    "no-new-privs", "not-dumpable", "seccomp",
};

const char *
sandbox_step_to_string(enum sandbox_step step)
{
    for (int i = 0; i < SANDBOX_N_STEPS; i++) {
        if ((unsigned int) step == 1u << i) {
            return step_names[i];
        }
    }
    return "?";
}

void
sandbox_format_steps(unsigned int steps, char *buf, size_t size)
{
    size_t len = 0;

    if (!size) {
        return;
    }
    buf[0] = '\0';
    for (int i = 0; i < SANDBOX_N_STEPS; i++) {
        if (steps & (1u << i)) {
            int n = snprintf(buf + len, size - len, "%s%s", len ? "," : "",
                             step_names[i]);
            if (n < 0 || (size_t) n >= size - len) {
                buf[len] = '\0';       /* Only whole names. */
                return;
            }
            len += (size_t) n;
        }
    }
    if (!len) {
        snprintf(buf, size, "none");
    }
}

/* Sets PR_SET_PDEATHSIG and checks that 'parent' is still our parent. */
static int
sandbox_set_pdeathsig(pid_t parent, struct errbuf *eb)
{
    if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0)) {
        return errbuf_set(eb, errno, "PR_SET_PDEATHSIG: %s", strerror(errno));
    }
    if (getppid() != parent) {
        return errbuf_set(eb, ESRCH, "parent %ld exited", (long) parent);
    }
    return 0;
}

/* Closes every fd in [lo, hi]. */
static int
sandbox_close_range(unsigned int lo, unsigned int hi)
{
    if (!close_range(lo, hi, 0)) {
        return 0;
    }
    if (errno != ENOSYS) {
        return errno;
    }
    /* Kernels before 5.9. */
    struct rlimit rl;
    unsigned int max = 65536;
    if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY) {
        max = (unsigned int) MIN(rl.rlim_cur, (rlim_t) UINT32_MAX);
    }
    for (unsigned int fd = lo; fd <= hi && fd < max; fd++) {
        close((int) fd);
    }
    return 0;
}

int
sandbox_close_fds(const int *keep, size_t n_keep, struct errbuf *eb)
{
    unsigned int fds[SANDBOX_MAX_KEEP_FDS + 3] = { 0, 1, 2 };
    size_t n = 3;

    if (n_keep > SANDBOX_MAX_KEEP_FDS) {
        return errbuf_set(eb, EINVAL, "%zu fds to keep (max %d)", n_keep,
                          SANDBOX_MAX_KEEP_FDS);
    }
    for (size_t i = 0; i < n_keep; i++) {
        if (keep[i] < 0) {
            return errbuf_set(eb, EBADF, "fd %d to keep is invalid",
                              keep[i]);
        }
        /* Insertion sort: the list is tiny. */
        size_t j = n++;
        while (j > 0 && fds[j - 1] > (unsigned int) keep[i]) {
            fds[j] = fds[j - 1];
            j--;
        }
        fds[j] = (unsigned int) keep[i];
    }

    unsigned int lo = 0;
    for (size_t i = 0; i < n; i++) {
        if (fds[i] > lo) {
            int error = sandbox_close_range(lo, fds[i] - 1);
            if (error) {
                return errbuf_set(eb, error, "close_range: %s",
                                  strerror(error));
            }
        }
        lo = MAX(lo, fds[i] + 1);
    }
    int error = sandbox_close_range(lo, ~0u);
    if (error) {
        return errbuf_set(eb, error, "close_range: %s", strerror(error));
    }
    return 0;
}

/* Checks that the directory open on 'fd' is a valid empty root. */
static int
sandbox_check_root_fd(int fd, const char *path, struct errbuf *eb)
{
    struct stat st;

    if (fstat(fd, &st)) {
        return errbuf_set(eb, errno, "stat %s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return errbuf_set(eb, ENOTDIR, "empty root %s is not a directory",
                          path);
    }
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        return errbuf_set(eb, EPERM, "empty root %s must be owned by root "
                          "and not writable by group or others (uid %u, "
                          "mode %04o)", path, (unsigned int) st.st_uid,
                          (unsigned int) (st.st_mode & 07777));
    }

    int dfd = dup(fd);
    if (dfd < 0) {
        return errbuf_set(eb, errno, "dup: %s", strerror(errno));
    }
    DIR *dir = fdopendir(dfd);
    if (!dir) {
        int error = errno;
        close(dfd);
        return errbuf_set(eb, error, "opendir %s: %s", path,
                          strerror(error));
    }
    int error = 0;
    const struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            error = errbuf_set(eb, ENOTEMPTY, "empty root %s contains '%s'",
                               path, de->d_name);
            break;
        }
    }
    closedir(dir);
    return error;
}

int
sandbox_prepare_root(const char *path, struct errbuf *eb)
{
    if (geteuid() != 0) {
        return errbuf_set(eb, EPERM, "preparing the empty root %s needs "
                          "root", path);
    }
    if (mkdir(path, 0555) && errno != EEXIST) {
        return errbuf_set(eb, errno, "mkdir %s: %s", path, strerror(errno));
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errbuf_set(eb, errno, "open %s: %s", path, strerror(errno));
    }
    int error = 0;
    if (fchown(fd, 0, 0) || fchmod(fd, 0555)) {
        error = errbuf_set(eb, errno, "chown/chmod %s: %s", path,
                           strerror(errno));
    } else {
        error = sandbox_check_root_fd(fd, path, eb);
    }
    close(fd);
    return error;
}

/* Step 3: enters the empty root through one fd. */
static int
sandbox_chroot(const char *path, struct errbuf *eb)
{
    /* "." is the directory we started in: opening it needs no search
     * permission on its parents, which a worker that still has uid 0 but
     * no CAP_DAC_OVERRIDE may lack (privd's run directory is 0750). */
    if (!path || (path[0] != '/' && strcmp(path, "."))) {
        return errbuf_set(eb, EINVAL, "empty root '%s' is neither an "
                          "absolute path nor \".\"", path ? path : "");
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errbuf_set(eb, errno, "open empty root %s: %s", path,
                          strerror(errno));
    }
    int error = sandbox_check_root_fd(fd, path, eb);
    if (!error && (fchdir(fd) || chroot(".") || chdir("/"))) {
        error = errbuf_set(eb, errno, "chroot %s: %s", path,
                           strerror(errno));
    }
    close(fd);
    return error;
}

/* Adds the conditional rules of the allow-list to 'ctx'.  Returns 0 or a
 * negative libseccomp error. */

/* One seccomp argument comparison.  libseccomp's SCMP_A0()... macros leave
 * 'datum_b' to implicit zeroing, which clang's -Wmissing-field-initializers
 * rejects; this spells every member out. */
static struct scmp_arg_cmp
sandbox_arg(unsigned int arg, enum scmp_compare op, scmp_datum_t a,
            scmp_datum_t b)
{
    struct scmp_arg_cmp cmp = { .arg = arg, .op = op, .datum_a = a,
                                .datum_b = b };
    return cmp;
}

static int
sandbox_add_rules(scmp_filter_ctx ctx, enum worker_role role)
{
    int rc;

    for (size_t i = 0; i < ARRAY_SIZE(sandbox_syscalls); i++) {
        const struct sandbox_syscall *s = &sandbox_syscalls[i];
        if (s->nr < 0 || !(s->roles & ROLE_BIT(role))) {
            continue;
        }
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, s->nr, 0);
        if (rc) {
            return rc;
        }
    }

    /* Mapping rings and malloc arenas, never executable memory: a
     * compromised worker cannot load new code. */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
                          sandbox_arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
                              sandbox_arg(2, SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
    }
    /* glibc's fstat() is fstatat(fd, "", AT_EMPTY_PATH): exactly that
     * flag, nothing else (no AT_SYMLINK_NOFOLLOW, no automount).  The path
     * cannot be checked from a filter; there is nothing to find in the
     * empty root, and the worker holds no directory fd. */
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat), 1,
                              sandbox_arg(3, SCMP_CMP_EQ, AT_EMPTY_PATH, 0));
    }
    /* Close-on-exec of received fds, reading status flags, and reading
     * the seals of received memfds (shm_ring_attach() and
     * status_page_map() refuse an unsealed one); nothing else.  No
     * F_SETFL: an eventfd or socket that privd shares with the worker has
     * one open file description, and clearing O_NONBLOCK on it would make
     * privd block (workers set their own flags before the sandbox).  No
     * F_SETOWN, no locks, no F_DUPFD, no F_ADD_SEALS. */
    static const int fcntl_cmds[] = { F_GETFD, F_SETFD, F_GETFL,
                                      F_GET_SEALS };
    for (size_t i = 0; !rc && i < ARRAY_SIZE(fcntl_cmds); i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
                              sandbox_arg(1, SCMP_CMP_EQ, (scmp_datum_t)
                                      fcntl_cmds[i], 0));
    }
    /* raise() and abort() signal this process, nobody else. */
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
                              sandbox_arg(0, SCMP_CMP_EQ,
                                      (scmp_datum_t) getpid(), 0));
    }
    /* isatty() from stdio: answer "not a terminal" instead of allowing
     * ioctl. */
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOTTY), SCMP_SYS(ioctl),
                              1, sandbox_arg(1, SCMP_CMP_EQ, TCGETS, 0));
    }
    /* glibc's internal locks, and the sanitizer runtime's: the private
     * wait and wake, no PI, requeue or FD operations. */
    static const int futex_ops[] = { FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE };
    for (size_t i = 0; !rc && i < ARRAY_SIZE(futex_ops); i++) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(futex), 1,
                              sandbox_arg(1, SCMP_CMP_EQ, (scmp_datum_t)
                                      futex_ops[i], 0));
    }
    /* malloc gives memory back with MADV_DONTNEED.  Never MADV_REMOVE,
     * which frees the pages of a shared memfd under every process that
     * maps it.  The sanitizer runtime also marks its shadow (NOHUGEPAGE,
     * DONTDUMP, ...): everything but MADV_REMOVE there. */
#ifdef SANDBOX_SANITIZER
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(madvise), 1,
                              sandbox_arg(2, SCMP_CMP_NE, MADV_REMOVE, 0));
    }
#else
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(madvise), 1,
                              sandbox_arg(2, SCMP_CMP_EQ, MADV_DONTNEED, 0));
    }
#endif
    /* Handlers add a filter of their own after the handshake
     * (sandbox_forbid_send()); a filter can only take permissions away.
     * No flags: no TSYNC, no user-notification listener, no logging. */
    if (!rc && role == WORKER_ROLE_HANDLER) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(seccomp), 2,
                              sandbox_arg(0, SCMP_CMP_EQ,
                                          SECCOMP_SET_MODE_FILTER, 0),
                              sandbox_arg(1, SCMP_CMP_EQ, 0, 0));
    }
    /* Naming the process ("handler3") in ps and logs. */
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                              sandbox_arg(0, SCMP_CMP_EQ, PR_SET_NAME, 0));
    }
#ifdef SANDBOX_SANITIZER
    if (!rc) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 1,
                              sandbox_arg(0, SCMP_CMP_NE, PR_SET_NAME, 0));
    }
    for (size_t i = 0; !rc && i < ARRAY_SIZE(sandbox_sanitizer_denied); i++) {
        if (sandbox_sanitizer_denied[i] >= 0) {
            rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM),
                                  sandbox_sanitizer_denied[i], 0);
        }
    }
#endif
    return rc;
}

/* A CounterReport frame that says which syscall killed the worker,
 * packed before the filter is loaded; the SIGSYS handler only patches the
 * number in.  Empty if packing failed. */
static uint8_t sigsys_frame[128];
static size_t sigsys_frame_len;

/* The number is encoded as a two-byte varint (a placeholder of 0x3fff),
 * always the frame's last two bytes: protobuf-c packs fields in order and
 * the value is the last field of the last message. */
#define SIGSYS_PLACEHOLDER 0x3fff

static void
sandbox_pack_sigsys_frame(void)
{
    Dpif__NamedValue nv = DPIF__NAMED_VALUE__INIT;
    Dpif__NamedValue *nvs[1] = { &nv };
    Dpif__CounterReport report = DPIF__COUNTER_REPORT__INIT;
    struct errbuf eb = { "" };
    struct buf frame;

    nv.name = (char *) SANDBOX_DENIED_SYSCALL_NOTE;
    nv.value = SIGSYS_PLACEHOLDER;
    report.memory = nvs;
    report.n_memory = 1;
    buf_init(&frame, 0);
    sigsys_frame_len = 0;
    if (!ipc_frame_pack(IPC_COUNTER_REPORT, 0, &report.base, &frame, &eb)
        && frame.size <= sizeof sigsys_frame && frame.size >= 2
        && ((const uint8_t *) frame.data)[frame.size - 2] == 0xff
        && ((const uint8_t *) frame.data)[frame.size - 1] == 0x7f) {
        memcpy(sigsys_frame, frame.data, frame.size);
        sigsys_frame_len = frame.size;
    }
    buf_uninit(&frame);
}

/* Appends decimal 'v' to 'buf' at '*len' (async-signal-safe). */
static void
sandbox_append_uint(char *buf, size_t *len, unsigned int v)
{
    char digits[12];
    size_t n = 0;

    do {
        digits[n++] = (char) ('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) {
        buf[(*len)++] = digits[--n];
    }
}

/* SECCOMP_RET_TRAP lands here: the only moment at which the number of the
 * forbidden syscall is known.  Says it on stderr and to privd, then dies of
 * SIGSYS as if the filter had killed the process.  Async-signal-safe. */
static void
sandbox_sigsys_handler(int sig, siginfo_t *si, void *uc)
{
    static const char prefix[] = "sandbox: forbidden system call ";
    static const char suffix[] = ": dying of SIGSYS\n";
    unsigned int nr = si->si_syscall >= 0 ? (unsigned int) si->si_syscall
                                          : 0;
    char line[sizeof prefix + sizeof suffix + 12];
    size_t len = sizeof prefix - 1;

    (void) uc;
    memcpy(line, prefix, len);
    sandbox_append_uint(line, &len, nr);
    memcpy(line + len, suffix, sizeof suffix - 1);
    len += sizeof suffix - 1;
    ssize_t ignored = write(STDERR_FILENO, line, len);
    (void) ignored;

    if (sigsys_frame_len && nr < 16384) {
        sigsys_frame[sigsys_frame_len - 2] = (uint8_t) (0x80 | (nr & 0x7f));
        sigsys_frame[sigsys_frame_len - 1] = (uint8_t) (nr >> 7);
        send(DPIF_WORKER_CONTROL_FD, sigsys_frame, sigsys_frame_len,
             MSG_DONTWAIT | MSG_NOSIGNAL);
    }

    struct sigaction sa = { .sa_handler = SIG_DFL };
    sigaction(sig, &sa, NULL);
    syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), sig);
    /* Delivered, with the default action, when this handler returns. */
}

/* Step 7. */
static int
sandbox_load_seccomp(enum worker_role role, struct errbuf *eb)
{
    sandbox_pack_sigsys_frame();
    struct sigaction sa = {
        .sa_sigaction = sandbox_sigsys_handler,
        .sa_flags = SA_SIGINFO,
    };
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGSYS, &sa, NULL)) {
        return errbuf_set(eb, errno, "sigaction(SIGSYS): %s",
                          strerror(errno));
    }

    /* SCMP_ACT_TRAP rather than KILL_PROCESS: the kernel tells only the
     * process itself which syscall it was (si_syscall).  The syscall never
     * runs either way; a worker that catches SIGSYS itself gains nothing
     * but the error return. */
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);
    if (!ctx) {
        return errbuf_set(eb, ENOMEM, "seccomp_init failed");
    }
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
                              SCMP_ACT_KILL_PROCESS);
    if (!rc) {
        rc = sandbox_add_rules(ctx, role);
    }
    if (!rc) {
        rc = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (rc) {
        return errbuf_set(eb, -rc, "loading the %s seccomp filter: %s",
                          worker_role_to_string(role), strerror(-rc));
    }
    return 0;
}

int
sandbox_enter_worker(const struct sandbox_config *cfg,
                     struct sandbox_report *report, struct errbuf *eb)
{
    struct sandbox_report r = { .role = cfg->role };
    uid_t uid = 0;
    gid_t gid = 0;
    int error;

    if (!worker_role_is_valid(cfg->role)) {
        return errbuf_set(eb, EINVAL, "invalid worker role %d", cfg->role);
    }

    uid_t ruid, euid, suid;
    if (getresuid(&ruid, &euid, &suid)) {
        return errbuf_set(eb, errno, "getresuid: %s", strerror(errno));
    }
    if (cfg->expect_root && euid != 0) {
        return errbuf_set(eb, EPERM, "expected to start as root, but euid "
                          "is %u", (unsigned int) euid);
    }
    if (!cfg->expect_root && (ruid == 0 || euid == 0 || suid == 0)) {
        return errbuf_set(eb, EPERM, "running as root but configured "
                          "unprivileged: refusing to run a worker as root");
    }
    if (cfg->expect_root) {
        error = drop_resolve(cfg->user, cfg->group, &uid, &gid, eb);
        if (error) {
            return error;
        }
    }

    /* 1. */
    pid_t parent = cfg->parent_pid ? cfg->parent_pid : getppid();
    if (parent <= 1) {
        return errbuf_set(eb, ESRCH, "parent already exited");
    }
    error = sandbox_set_pdeathsig(parent, eb);
    if (error) {
        return error;
    }
    r.applied |= SANDBOX_STEP_PDEATHSIG;

    /* libc reads /etc/localtime on the first strftime() or localtime()
     * (the log's timestamps), and would try again from inside the sandbox,
     * where open() is fatal.  Once read, tzset() does not look again. */
    tzset();

    /* 2. */
    error = sandbox_close_fds(cfg->keep_fds, cfg->n_keep_fds, eb);
    if (error) {
        return error;
    }
    r.applied |= SANDBOX_STEP_CLOSE_FDS;

#ifdef SANDBOX_SANITIZER
    /* Last moment at which LeakSanitizer can run (it needs /proc, clone and
     * ptrace), and the runtime's chance to cache what it reads from /proc
     * later. */
    __lsan_do_leak_check();
    __sanitizer_sandbox_arguments san_args = { 0, -1, 0 };
    __sanitizer_sandbox_on_notify(&san_args);
#endif

    if (cfg->expect_root) {
        /* 3. */
        error = sandbox_chroot(cfg->root_dir, eb);
        if (error) {
            return error;
        }
        r.applied |= SANDBOX_STEP_CHROOT;

        /* 4. */
        error = drop_change_id(uid, gid, 0, eb);
        if (error) {
            return error;
        }
        r.applied |= SANDBOX_STEP_IDS | SANDBOX_STEP_CAPS
                     | SANDBOX_STEP_BOUNDING;
        error = sandbox_set_pdeathsig(parent, eb);
        if (error) {
            return error;
        }
    } else {
        error = drop_trim_caps(0, DROP_BOUNDING_ANY, NULL, eb);
        if (error) {
            return error;
        }
        r.applied |= SANDBOX_STEP_CAPS;
        r.skipped |= SANDBOX_STEP_CHROOT | SANDBOX_STEP_IDS
                     | SANDBOX_STEP_BOUNDING;
    }

    /* 5. and 6. */
    error = drop_lock(eb);
    if (error) {
        return error;
    }
    r.applied |= SANDBOX_STEP_NO_NEW_PRIVS | SANDBOX_STEP_NOT_DUMPABLE;

    r.uid = getuid();
    r.gid = getgid();

    char applied[128];
    sandbox_format_steps(r.applied | SANDBOX_STEP_SECCOMP, applied,
                         sizeof applied);
    if (r.skipped) {
        LOG_WARN("running unprivileged: not applied: chroot to %s, switch "
                 "to user %s, bounding set clear (they need root); "
                 "applying: %s", cfg->root_dir ? cfg->root_dir : "(none)",
                 cfg->user ? cfg->user : "(none)", applied);
    } else {
        LOG_INFO("sandbox %s: uid %u gid %u root %s; applying: %s",
                 worker_role_to_string(cfg->role), (unsigned int) uid,
                 (unsigned int) gid, cfg->root_dir, applied);
    }

    /* 7. */
    error = sandbox_load_seccomp(cfg->role, eb);
    if (error) {
        return error;
    }
    r.applied |= SANDBOX_STEP_SECCOMP;
    *report = r;
    return 0;
}

int
sandbox_forbid_send(const int *fds, size_t n, struct errbuf *eb)
{
    /* Every syscall that can send on a socket fd the worker holds. */
    static const int send_calls[] = {
        SYS_write, SYS_writev, SYS_pwrite64, SYS_pwritev, SYS_pwritev2,
        SYS_sendto, SYS_sendmsg, SYS_sendmmsg,
    };
    enum { N_CALLS = ARRAY_SIZE(send_calls) };
    struct sock_filter prog[4 + N_CALLS + 2 + 2 * SANDBOX_MAX_KEEP_FDS + 2];
    size_t len = 0;

    if (n > SANDBOX_MAX_KEEP_FDS) {
        return errbuf_set(eb, EINVAL, "%zu fds to keep from sending (max "
                          "%d)", n, SANDBOX_MAX_KEEP_FDS);
    }
    uint32_t arch = seccomp_arch_native();
#define INSN(CODE, JT, JF, K) \
    (prog[len++] = (struct sock_filter) BPF_JUMP(CODE, K, JT, JF))
    /* Another architecture's numbers mean other syscalls: the first filter
     * kills those anyway. */
    INSN(BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, arch));
    INSN(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, arch);
    INSN(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
    INSN(BPF_LD | BPF_W | BPF_ABS, 0, 0, offsetof(struct seccomp_data, nr));
    for (size_t i = 0; i < N_CALLS; i++) {
        /* To the fd check after the remaining comparisons and the ALLOW. */
        INSN(BPF_JMP | BPF_JEQ | BPF_K, (uint8_t) (N_CALLS - i), 0,
             (uint32_t) send_calls[i]);
    }
    INSN(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
    /* The fd: the low 32 bits of the first argument (an int). */
    INSN(BPF_LD | BPF_W | BPF_ABS, 0, 0,
         offsetof(struct seccomp_data, args[0])
         + (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__ ? 4 : 0));
    for (size_t i = 0; i < n; i++) {
        if (fds[i] < 0) {
            return errbuf_set(eb, EBADF, "fd %d is invalid", fds[i]);
        }
        INSN(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (uint32_t) fds[i]);
        INSN(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ERRNO | EPERM);
    }
    INSN(BPF_RET | BPF_K, 0, 0, SECCOMP_RET_ALLOW);
#undef INSN

    struct sock_fprog fprog = { .len = (unsigned short) len, .filter = prog };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog)) {
        return errbuf_set(eb, errno, "seccomp filter against sending on %zu "
                          "fd(s): %s", n, strerror(errno));
    }
    return 0;
}

void
sandbox_syscall_name(int nr, char *buf, size_t size)
{
    char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);

    snprintf(buf, size, "%s", name ? name : "?");
    free(name);
}
