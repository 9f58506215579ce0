#include "privd/privdrop.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/drop.h"
#include "common/log.h"
#include "common/sandbox.h"

LOG_MODULE(privdrop);

/* Resolves 'cfg''s user and group.  ENOENT names what is missing. */
static int
privdrop_resolve(const struct privdrop_config *cfg, uid_t *uidp, gid_t *gidp,
                 struct errbuf *eb)
{
    if (!cfg->user || !*cfg->user) {
        return errbuf_set(eb, EINVAL, "no user configured for dpifd");
    }
    const struct passwd *pw = getpwnam(cfg->user);
    if (!pw) {
        endpwent();
        return errbuf_set(eb, ENOENT, "user '%s' does not exist", cfg->user);
    }
    uid_t uid = pw->pw_uid;
    gid_t gid = pw->pw_gid;
    endpwent();

    if (cfg->group) {
        const struct group *gr = getgrnam(cfg->group);
        if (!gr) {
            endgrent();
            return errbuf_set(eb, ENOENT, "group '%s' does not exist",
                              cfg->group);
        }
        gid = gr->gr_gid;
        endgrent();
    }
    if (uid == 0 || gid == 0) {
        return errbuf_set(eb, EINVAL, "user '%s' (uid %u, gid %u) must not "
                          "be root", cfg->user, (unsigned int) uid,
                          (unsigned int) gid);
    }
    *uidp = uid;
    *gidp = gid;
    return 0;
}

/* Root: switches to 'uid'/'gid' keeping exactly 'caps'. */
static int
privdrop_change_id(uid_t uid, gid_t gid, uint64_t caps, struct errbuf *eb)
{
    capng_get_caps_process();
    capng_clear(CAPNG_SELECT_ALL);
    for (unsigned int cap = 0; cap < 64; cap++) {
        if (caps & DROP_CAP(cap)) {
            capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, cap);
        }
    }
    int rc = capng_change_id((int) uid, (int) gid,
                             CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING
                             | CAPNG_CLEAR_AMBIENT);
    if (rc) {
        return errbuf_set(eb, EPERM, "capng_change_id to uid %u gid %u "
                          "failed (%d)", (unsigned int) uid,
                          (unsigned int) gid, rc);
    }

    uid_t ruid, euid, suid;
    gid_t rgid, egid, sgid;
    if (getresuid(&ruid, &euid, &suid) || getresgid(&rgid, &egid, &sgid)
        || ruid != uid || euid != uid || suid != uid
        || rgid != gid || egid != gid || sgid != gid) {
        return errbuf_set(eb, EPERM, "credentials after the drop are not "
                          "uid %u gid %u", (unsigned int) uid,
                          (unsigned int) gid);
    }
    if (getgroups(0, NULL) != 0) {
        return errbuf_set(eb, EPERM, "supplementary groups left after the "
                          "drop");
    }
    return drop_verify_caps(caps, 0, eb);
}

/* Unprivileged: keeps those of 'caps' the process has, drops the rest.
 * Returns the kept set in '*keptp'. */
static int
privdrop_trim_caps(uint64_t caps, uint64_t *keptp, struct errbuf *eb)
{
    uint64_t kept = 0;

    capng_get_caps_process();
    for (unsigned int cap = 0; cap < 64; cap++) {
        if ((caps & DROP_CAP(cap))
            && capng_have_capability(CAPNG_PERMITTED, cap)) {
            kept |= DROP_CAP(cap);
        }
    }
    capng_clear(CAPNG_SELECT_CAPS);
    for (unsigned int cap = 0; cap < 64; cap++) {
        if (kept & DROP_CAP(cap)) {
            capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, cap);
        }
    }
    if (capng_apply(CAPNG_SELECT_CAPS)) {
        return errbuf_set(eb, EPERM, "dropping capabilities failed");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) {
        return errbuf_set(eb, errno, "clearing ambient capabilities: %s",
                          strerror(errno));
    }
    int error = drop_verify_caps(kept, DROP_BOUNDING_ANY, eb);
    if (!error) {
        *keptp = kept;
    }
    return error;
}

int
privdrop_apply(const struct privdrop_config *cfg,
               struct privdrop_report *report, struct errbuf *eb)
{
    struct privdrop_report r = { 0 };
    uint64_t caps = DROP_CAP(CAP_NET_ADMIN);
    int error;

    if (cfg->keep_net_raw) {
        caps |= DROP_CAP(CAP_NET_RAW);
    }

    if (geteuid() == 0) {
        uid_t uid = 0;
        gid_t gid = 0;
        error = privdrop_resolve(cfg, &uid, &gid, eb);
        if (!error) {
            error = privdrop_change_id(uid, gid, caps, eb);
        }
        if (error) {
            return error;
        }
        r.applied |= SANDBOX_STEP_IDS | SANDBOX_STEP_CAPS
                     | SANDBOX_STEP_BOUNDING;
        r.caps = caps;
    } else {
        error = privdrop_trim_caps(caps, &r.caps, eb);
        if (error) {
            return error;
        }
        r.applied |= SANDBOX_STEP_CAPS;
        r.skipped |= SANDBOX_STEP_IDS | SANDBOX_STEP_BOUNDING;
    }

    error = drop_lock(eb);
    if (error) {
        return error;
    }
    r.applied |= SANDBOX_STEP_NO_NEW_PRIVS | SANDBOX_STEP_NOT_DUMPABLE;

    r.uid = getuid();
    r.gid = getgid();

    char applied[128];
    sandbox_format_steps(r.applied, applied, sizeof applied);
    if (r.skipped) {
        LOG_WARN("running unprivileged as uid %u: not applied: switch to "
                 "user %s, bounding set clear (they need root); kept "
                 "capabilities %#llx; applied: %s", (unsigned int) r.uid,
                 cfg->user ? cfg->user : "(none)",
                 (unsigned long long) r.caps, applied);
    } else {
        LOG_INFO("dropped to uid %u gid %u keeping capabilities %#llx; "
                 "applied: %s", (unsigned int) r.uid, (unsigned int) r.gid,
                 (unsigned long long) r.caps, applied);
    }
    *report = r;
    return 0;
}

int
privdrop_release_net_raw(struct errbuf *eb)
{
    capng_get_caps_process();
    if (!capng_have_capability(CAPNG_PERMITTED, CAP_NET_RAW)) {
        return 0;
    }
    capng_update(CAPNG_DROP, CAPNG_EFFECTIVE | CAPNG_PERMITTED, CAP_NET_RAW);
    if (capng_apply(CAPNG_SELECT_CAPS)) {
        return errbuf_set(eb, EPERM, "dropping CAP_NET_RAW failed");
    }
    capng_get_caps_process();
    if (capng_have_capability(CAPNG_PERMITTED, CAP_NET_RAW)
        || capng_have_capability(CAPNG_EFFECTIVE, CAP_NET_RAW)) {
        return errbuf_set(eb, EPERM, "CAP_NET_RAW still held after the "
                          "drop");
    }
    LOG_INFO("dropped CAP_NET_RAW");
    return 0;
}

uid_t
privdrop_target_uid(const char *user)
{
    if (geteuid()) {
        return getuid();
    }
    const struct passwd *pw = getpwnam(user);
    return pw ? pw->pw_uid : 0;
}
