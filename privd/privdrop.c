#include "privd/privdrop.h"

#include <cap-ng.h>
#include <errno.h>
#include <unistd.h>

#include "common/drop.h"
#include "common/log.h"
#include "common/sandbox.h"

LOG_MODULE(privdrop);

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
        error = drop_resolve(cfg->user, cfg->group, &uid, &gid, eb);
        if (error) {
            return error;
        }
        error = drop_change_id(uid, gid, caps, eb);
        if (error) {
            return error;
        }
        r.applied |= SANDBOX_STEP_IDS | SANDBOX_STEP_CAPS
                     | SANDBOX_STEP_BOUNDING;
        r.caps = caps;
    } else {
        error = drop_trim_caps(caps, DROP_BOUNDING_ANY, &r.caps, eb);
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
    struct errbuf eb;
    uid_t uid;
    gid_t gid;

    if (geteuid()) {
        return getuid();
    }
    return drop_resolve(user, NULL, &uid, &gid, &eb) ? 0 : uid;
}
