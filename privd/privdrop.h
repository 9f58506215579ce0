/*
 * privdrop.h — privd's own privilege drop.
 *
 * privd (dpifd) is the one process that talks to the kernel datapath, so it
 * keeps the one capability that needs: CAP_NET_ADMIN, plus CAP_NET_RAW while
 * it has AF_PACKET ports (the userspace "netdev" datapath).  Everything else
 * root gives is dropped once privd has done what needs root:
 *
 *     main():
 *         parse configuration, open the control socket in the run dir,
 *         sandbox_prepare_root(RUN_DIR/empty),
 *         spawner_start()             -- forked while still root
 *         privdrop_apply()            -- from here on: uid dpifd
 *         poll loop
 *
 * What privdrop_apply() does when privd starts as root, in this order, each
 * step a call of common/drop.h:
 *
 *   1. drop_resolve(): the user (a name, or a decimal uid with a group)
 *      and group before anything changes; a missing user is ENOENT with
 *      "user 'dpifd' does not exist" and privd refuses to start.  A user
 *      that resolves to uid or gid 0 is refused too.
 *   2. drop_change_id(), one capng_change_id(): setgroups(0), setresgid(),
 *      setresuid() to the user, keeping CAP_NET_ADMIN (and CAP_NET_RAW)
 *      permitted and effective across the uid change with PR_SET_KEEPCAPS,
 *      and clearing the inheritable, ambient and bounding sets.  An empty
 *      bounding set means no exec can ever hand a capability out again.
 *   3. The result is read back from the kernel (getresuid(), getresgid(),
 *      getgroups(), setuid(0) must fail, drop_verify_caps()); anything
 *      else is an error.
 *   4. drop_lock(): PR_SET_NO_NEW_PRIVS (privd never execs; the spawner
 *      was forked before and is not affected).
 *   5. PR_SET_DUMPABLE 0, after the uid change (which resets it): no core
 *      dumps with datapath state, no ptrace or /proc/PID/mem from other
 *      processes of the dpifd user.  As a side effect /proc/PID/status and
 *      friends become owned by root.
 *
 * Unprivileged (tests, the dummy datapath, or a unit started with ambient
 * capabilities): the identity change and the bounding set need root and are
 * skipped with a warning; drop_trim_caps() keeps CAP_NET_ADMIN/CAP_NET_RAW
 * if the process has them, every other capability is dropped, and steps 4
 * and 5 are applied.
 *
 * Trust: the configuration comes from root-owned files and the command line;
 * nothing here reads input from another process.  Call once, single
 * threaded; the drop cannot be undone.  On failure privd must exit.
 */
#ifndef DPIF_PRIVDROP_H
#define DPIF_PRIVDROP_H 1

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/util.h"

/* What privd drops to.  Owned by the caller. */
struct privdrop_config {
    const char *user;           /* User to become when root ("dpifd"). */
    const char *group;          /* Group, or NULL for the user's primary
                                 * group. */
    bool keep_net_raw;          /* Keep CAP_NET_RAW as well (AF_PACKET
                                 * ports). */
};

/* What privdrop_apply() did.  The step bits are sandbox.h's
 * SANDBOX_STEP_*, so that "dpifctl procs" shows every process alike. */
struct privdrop_report {
    unsigned int applied;       /* SANDBOX_STEP_IDS, _CAPS, _BOUNDING,
                                 * _NO_NEW_PRIVS, _NOT_DUMPABLE applied. */
    unsigned int skipped;       /* Steps skipped because unprivileged. */
    uid_t uid;                  /* Real = effective = saved uid after. */
    gid_t gid;                  /* Real = effective = saved gid after. */
    uint64_t caps;              /* Capabilities kept (DROP_CAP() bits),
                                 * permitted = effective. */
};

/* Drops privd's privileges as described above.  Returns 0 and fills
 * '*report', or a positive errno with the reason in 'eb' (ENOENT for a
 * missing user or group). */
int privdrop_apply(const struct privdrop_config *,
                   struct privdrop_report *report, struct errbuf *eb)
    WARN_UNUSED;

/* Drops CAP_NET_RAW for good, once privd has no AF_PACKET port left and
 * the configuration cannot add one.  Returns 0 or a positive errno. */
int privdrop_release_net_raw(struct errbuf *eb);

/* The uid privd has once privdrop_apply() with user 'user' is done: that
 * user's when root (0 if it does not exist: privdrop_apply() then
 * refuses), else the current uid.  For checks made before the drop of
 * what privd-as-that-uid may own. */
uid_t privdrop_target_uid(const char *user);

#endif /* privdrop.h */
