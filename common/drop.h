/*
 * drop.h — the privilege-drop steps every dpifd process takes.
 *
 * Three processes give up root: privd (privd/privdrop.c, keeps
 * CAP_NET_ADMIN), the spawner (privd/spawner.c, keeps what it needs to
 * start workers) and each worker (common/sandbox.c, keeps nothing).  Each
 * of them is a short ordered list of the calls below, so that the drop is
 * written once and read the same way everywhere:
 *
 *     drop_resolve(user, group, &uid, &gid)   -- before anything changes
 *     drop_change_id(uid, gid, caps)          -- root only
 *  or drop_trim_caps(caps, bounding, &kept)   -- no uid change
 *     drop_lock()                             -- no_new_privs, not dumpable
 *
 * and drop_verify_caps() is what change-id and trim-caps end with: a drop
 * is only done when the kernel, asked back, says so.
 *
 * Users and groups: one rule for every caller.  'user' is a user name or a
 * decimal uid; 'group' is a group name, a decimal gid, or NULL for the
 * user's primary group (which needs a user name).  Root (uid or gid 0) is
 * refused.
 *
 * Trust: the names come from root-owned configuration and the command
 * line; nothing here reads input from another process.  Every call is for
 * a single-threaded process and cannot be undone; on failure the process
 * is partially dropped and must exit.
 */
#ifndef DPIF_DROP_H
#define DPIF_DROP_H 1

#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"

/* A capability set as a bit mask: DROP_CAP(CAP_NET_ADMIN) | ... */
#define DROP_CAP(CAP) (UINT64_C(1) << (CAP))
/* For drop_trim_caps() and drop_verify_caps(): leave the bounding set as
 * it is, do not check it. */
#define DROP_BOUNDING_ANY UINT64_MAX

/* Resolves 'user' and 'group' as described above into '*uidp' and
 * '*gidp'.  Returns 0, ENOENT naming what does not exist, or EINVAL (no
 * user, root, numeric user without a group).  Call before the process
 * closes its fds or enters its root: NSS may open files. */
int drop_resolve(const char *user, const char *group, uid_t *uidp,
                 gid_t *gidp, struct errbuf *eb) WARN_UNUSED;

/* Root only: setgroups(0), setresgid() then setresuid() to 'uid'/'gid'
 * (libcap-ng's capng_change_id()), keeping exactly 'caps' permitted and
 * effective, with the inheritable, ambient and bounding sets cleared.
 * Then checks: getresuid() and getresgid() all equal 'uid' and 'gid', no
 * supplementary group, setuid(0) fails (unless 'caps' has CAP_SETUID), and
 * drop_verify_caps(caps, 0).  Returns 0 or a positive errno. */
int drop_change_id(uid_t uid, gid_t gid, uint64_t caps, struct errbuf *eb)
    WARN_UNUSED;

/* Without a uid change: keeps, permitted and effective, those of 'caps'
 * the process has and drops every other capability, clears the
 * inheritable and ambient sets and, unless 'bounding' is
 * DROP_BOUNDING_ANY, makes the bounding set exactly 'bounding' (which
 * needs CAP_SETPCAP).  With 'keptp' NULL every capability in 'caps' is
 * required (EPERM if one is missing); otherwise the kept set is stored in
 * '*keptp'.  Ends with drop_verify_caps().  Returns 0 or a positive
 * errno. */
int drop_trim_caps(uint64_t caps, uint64_t bounding, uint64_t *keptp,
                   struct errbuf *eb) WARN_UNUSED;

/* Reads this process's capabilities back from the kernel and checks that
 * the permitted and effective sets are both exactly 'caps', the
 * inheritable and ambient sets are empty, and the bounding set is exactly
 * 'bounding' (unless DROP_BOUNDING_ANY).  Returns 0, or EPERM with the
 * difference in 'eb'. */
int drop_verify_caps(uint64_t caps, uint64_t bounding, struct errbuf *eb)
    WARN_UNUSED;

/* The last two steps every dropped process takes: PR_SET_NO_NEW_PRIVS
 * (no exec can grant privileges again), then PR_SET_DUMPABLE 0 (no core
 * dump, no ptrace or /proc/PID/mem by other processes of the same uid),
 * after the uid change, which resets it.  Returns 0 or a positive
 * errno. */
int drop_lock(struct errbuf *eb) WARN_UNUSED;

#endif /* drop.h */
