#include "common/drop.h"

#include <cap-ng.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Parses 's' as a decimal id if it is one. */
static bool
drop_parse_id(const char *s, unsigned int *idp)
{
    uint64_t v;

    if (str_to_uint(s, 10, UINT32_MAX - 1, &v)) {
        return false;
    }
    *idp = (unsigned int) v;
    return true;
}

int
drop_resolve(const char *user, const char *group, uid_t *uidp,
             gid_t *gidp, struct errbuf *eb)
{
    unsigned int uid, gid = 0;
    bool have_gid = false;

    if (!user || !*user) {
        return errbuf_set(eb, EINVAL, "no user configured");
    }
    if (!drop_parse_id(user, &uid)) {
        const struct passwd *pw = getpwnam(user);
        if (!pw) {
            endpwent();
            return errbuf_set(eb, ENOENT, "user '%s' does not exist", user);
        }
        uid = pw->pw_uid;
        gid = pw->pw_gid;
        have_gid = true;
        endpwent();
    }
    if (group) {
        if (!drop_parse_id(group, &gid)) {
            const struct group *gr = getgrnam(group);
            if (!gr) {
                endgrent();
                return errbuf_set(eb, ENOENT, "group '%s' does not exist",
                                  group);
            }
            gid = gr->gr_gid;
            endgrent();
        }
        have_gid = true;
    }
    if (!have_gid) {
        return errbuf_set(eb, EINVAL, "numeric user %u needs a group", uid);
    }
    if (uid == 0 || gid == 0) {
        return errbuf_set(eb, EINVAL, "user '%s' (uid %u, gid %u) must not "
                          "be root", user, uid, gid);
    }
    *uidp = uid;
    *gidp = gid;
    return 0;
}

/* Returns a description of libcap-ng's capng_change_id() error 'rc'. */
static const char *
drop_capng_error(int rc)
{
    switch (rc) {
    case -1: return "libcap-ng not initialized";
    case -2: return "PR_SET_KEEPCAPS failed";
    case -3: return "applying intermediate capabilities failed";
    case -4: return "setresgid failed";
    case -5: return "setgroups/initgroups failed";
    case -6: return "setresuid failed";
    case -7: return "clearing PR_SET_KEEPCAPS failed";
    case -8: return "applying the final capabilities failed";
    case -9: return "clearing the bounding set failed";
    case -10: return "clearing the ambient set failed";
    default: return "failed";
    }
}

/* Adds 'caps' to libcap-ng's pending permitted and effective sets. */
static void
drop_add_caps(uint64_t caps)
{
    for (unsigned int cap = 0; cap < 64; cap++) {
        if (caps & DROP_CAP(cap)) {
            capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, cap);
        }
    }
}

int
drop_change_id(uid_t uid, gid_t gid, uint64_t caps, struct errbuf *eb)
{
    capng_get_caps_process();
    capng_clear(CAPNG_SELECT_ALL);
    drop_add_caps(caps);
    int rc = capng_change_id((int) uid, (int) gid,
                             CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING
                             | CAPNG_CLEAR_AMBIENT);
    if (rc) {
        return errbuf_set(eb, EPERM, "switching to uid %u gid %u: %s (%d)",
                          (unsigned int) uid, (unsigned int) gid,
                          drop_capng_error(rc), rc);
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
    if (!(caps & DROP_CAP(CAP_SETUID)) && setuid(0) != -1) {
        return errbuf_set(eb, EPERM, "uid 0 could be regained after the "
                          "drop");
    }
    return drop_verify_caps(caps, 0, eb);
}

int
drop_trim_caps(uint64_t caps, uint64_t bounding, uint64_t *keptp,
               struct errbuf *eb)
{
    int select = bounding == DROP_BOUNDING_ANY ? CAPNG_SELECT_CAPS
                                                : CAPNG_SELECT_ALL;
    uint64_t kept = 0;

    capng_get_caps_process();
    for (unsigned int cap = 0; cap < 64; cap++) {
        if ((caps & DROP_CAP(cap))
            && capng_have_capability(CAPNG_PERMITTED, cap)) {
            kept |= DROP_CAP(cap);
        }
    }
    if (!keptp && kept != caps) {
        return errbuf_set(eb, EPERM, "capabilities %#"PRIx64" are needed "
                          "but not held", caps & ~kept);
    }
    capng_clear(select);
    drop_add_caps(kept);
    for (unsigned int cap = 0; cap < 64; cap++) {
        if (bounding != DROP_BOUNDING_ANY && (bounding & DROP_CAP(cap))) {
            capng_update(CAPNG_ADD, CAPNG_BOUNDING_SET, cap);
        }
    }
    if (capng_apply(select)) {
        return errbuf_set(eb, EPERM, "dropping capabilities failed");
    }
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)) {
        return errbuf_set(eb, errno, "clearing ambient capabilities: %s",
                          strerror(errno));
    }
    int error = drop_verify_caps(kept, bounding, eb);
    if (!error && keptp) {
        *keptp = kept;
    }
    return error;
}

int
drop_verify_caps(uint64_t caps, uint64_t bounding, struct errbuf *eb)
{
    struct __user_cap_header_struct hdr = {
        .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
    };
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

    if (syscall(SYS_capget, &hdr, data)) {
        return errbuf_set(eb, errno, "capget: %s", strerror(errno));
    }
    uint64_t permitted = data[0].permitted
                         | (uint64_t) data[1].permitted << 32;
    uint64_t effective = data[0].effective
                         | (uint64_t) data[1].effective << 32;
    uint64_t inheritable = data[0].inheritable
                           | (uint64_t) data[1].inheritable << 32;
    if (permitted != caps || effective != caps || inheritable) {
        return errbuf_set(eb, EPERM, "capabilities are P %#"PRIx64" E %#"
                          PRIx64" I %#"PRIx64", expected P = E = %#"PRIx64
                          " and I = 0", permitted, effective, inheritable,
                          caps);
    }
    for (unsigned long cap = 0; cap < 64; cap++) {
        int amb = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, cap, 0, 0);
        if (amb < 0) {
            break;              /* Beyond the last capability. */
        }
        if (amb) {
            return errbuf_set(eb, EPERM, "ambient capability %lu is set",
                              cap);
        }
        if (bounding != DROP_BOUNDING_ANY
            && (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
               != !!(bounding & DROP_CAP(cap))) {
            return errbuf_set(eb, EPERM, "capability %lu is %s the "
                              "bounding set", cap,
                              bounding & DROP_CAP(cap) ? "missing from"
                                                       : "left in");
        }
    }
    return 0;
}

int
drop_lock(struct errbuf *eb)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) {
        return errbuf_set(eb, errno, "PR_SET_NO_NEW_PRIVS: %s",
                          strerror(errno));
    }
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)) {
        return errbuf_set(eb, errno, "PR_SET_DUMPABLE: %s", strerror(errno));
    }
    return 0;
}
