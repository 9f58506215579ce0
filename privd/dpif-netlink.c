/* The "system" datapath provider: the openvswitch kernel module over generic
 * netlink.  See dpif-netlink.h. */
#include "privd/dpif-netlink.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/openvswitch.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>

#include "common/counters.h"
#include "common/log.h"
#include "common/nl.h"
#include "common/ufid.h"
#include "common/upcall-nl.h"
#include "privd/dpif-provider.h"
#include "privd/genl-family.h"
#include "privd/netlink-socket.h"

LOG_MODULE(dpif_netlink);

COUNTER_DEFINE(dpif_netlink_upcall_lost);    /* ENOBUFS on an upcall socket. */
COUNTER_DEFINE(dpif_netlink_upcall_bad);     /* Upcall failing its policy. */
COUNTER_DEFINE(dpif_netlink_reply_bad);      /* Reply failing its policy. */
COUNTER_DEFINE(dpif_netlink_port_poll_lost); /* Vport notifications lost. */
COUNTER_DEFINE(dpif_netlink_keyless_by_key); /* Ops on a UFID-less flow sent
                                              * by key. */
COUNTER_DEFINE(dpif_netlink_keyless_untracked); /* UFID-less flows beyond
                                                 * KEYLESS_MAX. */

#define UPCALL_RCVBUF (4 * 1024 * 1024) /* Receive queue of a handler. */
#define REQUEST_STUB 1024               /* Stack stub of a batched request. */
#define ATTR_PAYLOAD_MAX (UINT16_MAX - NLA_HDRLEN) /* nla_len is 16 bits. */
#define MAX_HANDLERS 1024               /* Sanity bound on handlers_set(). */

/* Features we ask for; DISPATCH_UPCALL_PER_CPU only when the kernel has it. */
#define USER_FEATURES_BASE (OVS_DP_F_UNALIGNED | OVS_DP_F_VPORT_PIDS)
#define USER_FEATURES_ALL (USER_FEATURES_BASE | OVS_DP_F_DISPATCH_UPCALL_PER_CPU)

/* UFID-less flows remembered at most (see struct keyless_flow). */
#define KEYLESS_MAX 4096

/* A flow that the kernel holds without a UFID: one added by another tool
 * ("ovs-dpctl add-flow" sends none).  Dumps give it the UFID derived from
 * its key and mask, as for every flow, but the kernel does not know that
 * UFID: a del, get or modify naming it is sent by key instead.  Entries
 * are noted by dumps and forgotten once a completed dump, and the one
 * before, did not see them. */
struct keyless_flow {
    union ufid ufid;            /* Derived from key and mask. */
    struct buf key;             /* The unmasked key, as dumped. */
    uint64_t seen;              /* Last dump generation that saw it. */
};

/* One handler channel. */
struct dpif_netlink_handler {
    struct nlsock *sock;        /* Upcall socket (owned). */
    struct buf rx;              /* Receive buffer for recv(). */
};

struct dpif_netlink {
    struct dpif up;             /* Generic part; first member. */
    int dp_ifindex;             /* Kernel's id of the datapath. */
    uint32_t user_features;     /* OVS_DP_F_* in effect. */
    struct nlsock *sock;        /* Transactions (owned). */
    struct nlsock *notifier;    /* Vport multicast group (owned, or NULL
                                 * when it could not be joined). */
    struct buf poll_rx;         /* Notifications received, unread part... */
    size_t poll_ofs;            /* ...starts here. */
    struct dpif_netlink_handler *handlers; /* 'n_handlers' channels, or NULL
                                            * when upcalls are disabled. */
    uint32_t n_handlers;        /* Channels in 'handlers'. */
    uint32_t n_handlers_wanted; /* From handlers_set(); 1 by default. */
    bool recv_enabled;          /* recv_set(true) in effect. */
    struct keyless_flow *keyless; /* 'n_keyless' UFID-less flows, owned. */
    size_t n_keyless, keyless_cap;
    uint64_t dump_gen;          /* Flow dumps started. */
};

/* The families, resolved once. */
static struct dpif_netlink_families families;
static bool families_resolved;

static struct dpif_netlink *
dpif_netlink_cast(const struct dpif *dpif)
{
    return CONTAINER_OF(dpif, struct dpif_netlink, up);
}

int
dpif_netlink_families_get(struct dpif_netlink_families *out)
{
    if (!families_resolved) {
        struct dpif_netlink_families f;
        int error = genl_family_resolve(OVS_DATAPATH_FAMILY, &f.datapath,
                                        NULL, NULL);
        if (!error) {
            error = genl_family_resolve(OVS_VPORT_FAMILY, &f.vport,
                                        OVS_VPORT_MCGROUP, &f.vport_mcgroup);
        }
        if (!error) {
            error = genl_family_resolve(OVS_FLOW_FAMILY, &f.flow, NULL, NULL);
        }
        if (!error) {
            error = genl_family_resolve(OVS_PACKET_FAMILY, &f.packet,
                                        NULL, NULL);
        }
        if (error == ENOENT) {
            static struct log_rl rl = LOG_RL_INIT(1, 5);
            LOG_WARN_RL(&rl, "openvswitch kernel module not loaded "
                        "(generic netlink family %s not found)",
                        OVS_DATAPATH_FAMILY);
            return EAFNOSUPPORT;
        } else if (error) {
            LOG_WARN("generic netlink family resolution failed: %s",
                     strerror(error));
            return error;
        }
        families = f;
        families_resolved = true;
    }
    if (out) {
        *out = families;
    }
    return 0;
}

/* ---- Messages. ---------------------------------------------------------- */

/* Starts a request of 'family'/'cmd' for datapath 'dp_ifindex' in 'b', with
 * room for 'payload' more bytes of attributes.  The caller appends attributes
 * with mnl_attr_put*() and ends with msg_finish(). */
static struct nlmsghdr *
msg_start(struct buf *b, size_t payload, uint16_t family, uint8_t cmd,
          uint8_t version, uint16_t flags, int dp_ifindex)
{
    size_t hdrs = MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN)
                  + MNL_ALIGN(sizeof(struct ovs_header));

    buf_clear(b);
    buf_reserve(b, hdrs + payload + 64);
    memset(b->data, 0, hdrs);
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(b->data);
    nlh->nlmsg_type = family;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    struct genlmsghdr *genl = mnl_nlmsg_put_extra_header(nlh, sizeof *genl);
    genl->cmd = cmd;
    genl->version = version;
    struct ovs_header *ovs = mnl_nlmsg_put_extra_header(nlh, sizeof *ovs);
    ovs->dp_ifindex = dp_ifindex;
    return nlh;
}

static void
msg_finish(struct buf *b, const struct nlmsghdr *nlh)
{
    b->size = nlh->nlmsg_len;
}

/* Appends 'len' bytes as attribute 'type' (a nested stream passes through
 * as is). */
static void
msg_put(struct nlmsghdr *nlh, uint16_t type, const void *data, size_t len)
{
    mnl_attr_put(nlh, type, len, len ? data : "");
}

/* A parsed reply's fixed part. */
struct msg_hdr {
    uint8_t cmd;                /* Generic netlink command. */
    int dp_ifindex;             /* From the ovs_header. */
};

/* Parses the message 'msg'/'len' of 'family' with 'policy'. */
static int
msg_parse(const void *msg, size_t len, uint16_t family,
          const struct nl_policy policy[], size_t n_policy,
          const struct nlattr *attrs[], struct msg_hdr *hdr,
          struct errbuf *eb)
{
    const struct nlmsghdr *nlh = msg;
    size_t hdrs = MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN)
                  + MNL_ALIGN(sizeof(struct ovs_header));

    if (len < hdrs || nlh->nlmsg_len < hdrs || nlh->nlmsg_len > len) {
        return errbuf_set(eb, EINVAL, "message of %zu bytes is too short",
                          len);
    }
    if (nlh->nlmsg_type != family) {
        return errbuf_set(eb, EINVAL, "message of family %u, expected %u",
                          nlh->nlmsg_type, family);
    }
    const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
    const struct ovs_header *ovs = (const void *) ((const char *) genl
                                                   + MNL_ALIGN(GENL_HDRLEN));
    hdr->cmd = genl->cmd;
    hdr->dp_ifindex = ovs->dp_ifindex;
    return nl_parse_attrs((const char *) msg + hdrs, nlh->nlmsg_len - hdrs,
                          policy, n_policy, attrs, eb);
}

/* Policies for every attribute the kernel sends. */
static const struct nl_policy dp_policy[OVS_DP_ATTR_MAX + 1] = {
    [OVS_DP_ATTR_NAME] = { .type = NL_A_STRING, .max_len = IFNAMSIZ },
    [OVS_DP_ATTR_UPCALL_PID] = { .type = NL_A_U32, .optional = true },
    [OVS_DP_ATTR_STATS] = { .type = NL_A_UNSPEC,
                            .min_len = sizeof(struct ovs_dp_stats),
                            .max_len = sizeof(struct ovs_dp_stats),
                            .optional = true },
    [OVS_DP_ATTR_MEGAFLOW_STATS] = {
        .type = NL_A_UNSPEC,
        .min_len = sizeof(struct ovs_dp_megaflow_stats),
        .max_len = sizeof(struct ovs_dp_megaflow_stats),
        .optional = true },
    [OVS_DP_ATTR_USER_FEATURES] = { .type = NL_A_U32, .optional = true },
    [OVS_DP_ATTR_PAD] = { .type = NL_A_UNSPEC, .optional = true },
    [OVS_DP_ATTR_MASKS_CACHE_SIZE] = { .type = NL_A_U32, .optional = true },
    [OVS_DP_ATTR_PER_CPU_PIDS] = { .type = NL_A_UNSPEC, .optional = true },
    [OVS_DP_ATTR_IFINDEX] = { .type = NL_A_U32, .optional = true },
};

static const struct nl_policy vport_policy[OVS_VPORT_ATTR_MAX + 1] = {
    [OVS_VPORT_ATTR_PORT_NO] = { .type = NL_A_U32 },
    [OVS_VPORT_ATTR_TYPE] = { .type = NL_A_U32 },
    [OVS_VPORT_ATTR_NAME] = { .type = NL_A_STRING, .max_len = IFNAMSIZ },
    [OVS_VPORT_ATTR_OPTIONS] = { .type = NL_A_NESTED, .optional = true },
    [OVS_VPORT_ATTR_UPCALL_PID] = { .type = NL_A_UNSPEC, .optional = true },
    [OVS_VPORT_ATTR_STATS] = { .type = NL_A_UNSPEC,
                               .min_len = sizeof(struct ovs_vport_stats),
                               .max_len = sizeof(struct ovs_vport_stats),
                               .optional = true },
    [OVS_VPORT_ATTR_PAD] = { .type = NL_A_UNSPEC, .optional = true },
    [OVS_VPORT_ATTR_IFINDEX] = { .type = NL_A_U32, .optional = true },
    [OVS_VPORT_ATTR_NETNSID] = { .type = NL_A_U32, .optional = true },
};

static const struct nl_policy flow_policy[OVS_FLOW_ATTR_MAX + 1] = {
    [OVS_FLOW_ATTR_KEY] = { .type = NL_A_NESTED, .optional = true },
    [OVS_FLOW_ATTR_ACTIONS] = { .type = NL_A_NESTED, .optional = true },
    [OVS_FLOW_ATTR_STATS] = { .type = NL_A_UNSPEC,
                              .min_len = sizeof(struct ovs_flow_stats),
                              .max_len = sizeof(struct ovs_flow_stats),
                              .optional = true },
    [OVS_FLOW_ATTR_TCP_FLAGS] = { .type = NL_A_U8, .optional = true },
    [OVS_FLOW_ATTR_USED] = { .type = NL_A_U64, .optional = true },
    [OVS_FLOW_ATTR_MASK] = { .type = NL_A_NESTED, .optional = true },
    [OVS_FLOW_ATTR_UFID] = { .type = NL_A_UNSPEC, .min_len = 1,
                             .max_len = sizeof(union ufid),
                             .optional = true },
    [OVS_FLOW_ATTR_UFID_FLAGS] = { .type = NL_A_U32, .optional = true },
    [OVS_FLOW_ATTR_PAD] = { .type = NL_A_UNSPEC, .optional = true },
};

/* Logs and counts a reply that failed its policy. */
static int
reply_invalid(const char *what, const struct errbuf *eb)
{
    static struct log_rl rl = LOG_RL_INIT(5, 20);
    COUNTER_INC(dpif_netlink_reply_bad);
    LOG_WARN_RL(&rl, "kernel sent an invalid %s reply: %s", what, eb->msg);
    return EPROTO;
}

/* ---- Datapaths. --------------------------------------------------------- */

/* A datapath reply. */
struct dp_reply {
    int dp_ifindex;             /* Kernel's id of the datapath. */
    const char *name;           /* Points into the reply buffer. */
    uint32_t user_features;     /* OVS_DP_F_*, 0 if absent. */
    struct ovs_dp_stats stats;  /* Zero if absent. */
    struct ovs_dp_megaflow_stats mf_stats; /* Zero if absent. */
};

static int
dp_reply_parse(const struct buf *b, struct dp_reply *r)
{
    const struct nlattr *a[ARRAY_SIZE(dp_policy)];
    struct msg_hdr hdr;
    struct errbuf eb;

    memset(r, 0, sizeof *r);
    if (msg_parse(b->data, b->size, families.datapath, dp_policy,
                  ARRAY_SIZE(dp_policy), a, &hdr, &eb)) {
        return reply_invalid("datapath", &eb);
    }
    r->dp_ifindex = hdr.dp_ifindex;
    r->name = nl_attr_get_string(a[OVS_DP_ATTR_NAME]);
    if (a[OVS_DP_ATTR_USER_FEATURES]) {
        r->user_features = nl_attr_get_u32(a[OVS_DP_ATTR_USER_FEATURES]);
    }
    if (a[OVS_DP_ATTR_STATS]) {
        memcpy(&r->stats, nl_attr_get(a[OVS_DP_ATTR_STATS]), sizeof r->stats);
    }
    if (a[OVS_DP_ATTR_MEGAFLOW_STATS]) {
        memcpy(&r->mf_stats, nl_attr_get(a[OVS_DP_ATTR_MEGAFLOW_STATS]),
               sizeof r->mf_stats);
    }
    return 0;
}

/* Sends a datapath command.  'name' selects the datapath when nonnull, else
 * 'dp_ifindex'.  'features' is sent when nonzero, 'pids' (n_pids) when
 * nonnull.  The echoed reply is parsed into 'r' when 'r' is nonnull ('reply'
 * holds its storage). */
static int
dp_transact(struct nlsock *sock, uint8_t cmd, uint16_t flags, int dp_ifindex,
            const char *name, uint32_t features, const uint32_t *pids,
            size_t n_pids, struct buf *reply, struct dp_reply *r)
{
    struct buf req;
    buf_init(&req, 0);
    struct nlmsghdr *nlh = msg_start(&req, 64 + n_pids * sizeof *pids,
                                     families.datapath, cmd,
                                     OVS_DATAPATH_VERSION,
                                     flags | (r ? NLM_F_ECHO : 0),
                                     dp_ifindex);
    if (name) {
        mnl_attr_put_strz(nlh, OVS_DP_ATTR_NAME, name);
    }
    if (cmd == OVS_DP_CMD_NEW) {
        mnl_attr_put_u32(nlh, OVS_DP_ATTR_UPCALL_PID, 0);
    }
    if (features) {
        mnl_attr_put_u32(nlh, OVS_DP_ATTR_USER_FEATURES, features);
    }
    if (pids) {
        msg_put(nlh, OVS_DP_ATTR_PER_CPU_PIDS, pids, n_pids * sizeof *pids);
    }
    msg_finish(&req, nlh);
    int error = nlsock_transact(sock, &req, r ? reply : NULL);
    buf_uninit(&req);
    if (!error && r) {
        error = reply->size ? dp_reply_parse(reply, r) : EPROTO;
    }
    return error;
}

/* Creates or looks up the datapath 'name' and negotiates user features. */
static int
dpif_netlink_dp_open(struct dpif_netlink *dpif, const char *name,
                     bool create)
{
    struct dp_reply r;
    struct buf reply;
    int error;

    buf_init(&reply, 0);
    if (create) {
        error = dp_transact(dpif->sock, OVS_DP_CMD_NEW, NLM_F_CREATE, 0,
                            name, USER_FEATURES_ALL, NULL, 0, &reply, &r);
        if (error == EOPNOTSUPP || error == EINVAL) {
            /* A kernel without per-CPU dispatch. */
            error = dp_transact(dpif->sock, OVS_DP_CMD_NEW, NLM_F_CREATE, 0,
                                name, USER_FEATURES_BASE, NULL, 0, &reply,
                                &r);
        }
    } else {
        error = dp_transact(dpif->sock, OVS_DP_CMD_GET, 0, 0, name, 0,
                            NULL, 0, &reply, &r);
        if (!error && (r.user_features & USER_FEATURES_ALL)
                      != USER_FEATURES_ALL) {
            int dp_ifindex = r.dp_ifindex;
            error = dp_transact(dpif->sock, OVS_DP_CMD_SET, 0, dp_ifindex,
                                NULL, USER_FEATURES_ALL, NULL, 0, &reply, &r);
            if (error == EOPNOTSUPP || error == EINVAL) {
                error = dp_transact(dpif->sock, OVS_DP_CMD_SET, 0, dp_ifindex,
                                    NULL, USER_FEATURES_BASE, NULL, 0,
                                    &reply, &r);
            }
        }
    }
    if (!error) {
        dpif->dp_ifindex = r.dp_ifindex;
        dpif->user_features = r.user_features;
        LOG_DBG("%s: dp_ifindex %d, user features %#x", name, r.dp_ifindex,
                r.user_features);
    }
    buf_uninit(&reply);
    return error;
}

static int
dpif_netlink_enumerate(void (*cb)(const char *name, void *aux), void *aux)
{
    struct nlsock_dump dump;
    struct buf req;
    const void *msg;
    size_t len;

    int error = dpif_netlink_families_get(NULL);
    if (error) {
        return error;
    }
    buf_init(&req, 0);
    struct nlmsghdr *nlh = msg_start(&req, 0, families.datapath,
                                     OVS_DP_CMD_GET, OVS_DATAPATH_VERSION, 0,
                                     0);
    msg_finish(&req, nlh);
    nlsock_dump_start(&dump, NETLINK_GENERIC, &req);
    while (nlsock_dump_next(&dump, true, &msg, &len)) {
        const struct nlattr *a[ARRAY_SIZE(dp_policy)];
        struct msg_hdr hdr;
        struct errbuf eb;
        if (msg_parse(msg, len, families.datapath, dp_policy,
                      ARRAY_SIZE(dp_policy), a, &hdr, &eb)) {
            reply_invalid("datapath dump", &eb);
            continue;
        }
        cb(nl_attr_get_string(a[OVS_DP_ATTR_NAME]), aux);
    }
    buf_uninit(&req);
    return nlsock_dump_done(&dump);
}

static void dpif_netlink_handlers_destroy(struct dpif_netlink *);

static int
dpif_netlink_open(const struct dpif_class *class, const char *name,
                  bool create, struct dpif **dpifp)
{
    int error = dpif_netlink_families_get(NULL);
    if (error) {
        return error;
    }

    struct dpif_netlink *dpif = xzalloc(sizeof *dpif);
    dpif->n_handlers_wanted = 1;
    buf_init(&dpif->poll_rx, 0);
    error = nlsock_create(NETLINK_GENERIC, &dpif->sock);
    if (!error) {
        error = dpif_netlink_dp_open(dpif, name, create);
    }
    if (error) {
        nlsock_destroy(dpif->sock);
        buf_uninit(&dpif->poll_rx);
        free(dpif);
        return error;
    }
    dpif_init(&dpif->up, class, name);

    /* Port notifications: without them port_poll() reports nothing, which
     * is not fatal. */
    int nerr = nlsock_create(NETLINK_GENERIC, &dpif->notifier);
    if (!nerr) {
        nerr = nlsock_join_mcgroup(dpif->notifier, families.vport_mcgroup);
        if (nerr) {
            nlsock_destroy(dpif->notifier);
            dpif->notifier = NULL;
        }
    }
    if (nerr) {
        LOG_WARN("%s: no port change notifications: %s",
                 dpif->up.full_name, strerror(nerr));
    }
    *dpifp = &dpif->up;
    return 0;
}

/* The UFID-less flow whose derived UFID is 'ufid', or NULL. */
static struct keyless_flow *
keyless_find(const struct dpif_netlink *dpif, const union ufid *ufid)
{
    for (size_t i = 0; ufid && i < dpif->n_keyless; i++) {
        if (ufid_equals(&dpif->keyless[i].ufid, ufid)) {
            return &dpif->keyless[i];
        }
    }
    return NULL;
}

/* Notes the dumped 'flow' that came without a UFID. */
static void
keyless_note(struct dpif_netlink *dpif, const struct dpif_flow *flow)
{
    struct keyless_flow *kf = keyless_find(dpif, &flow->ufid);

    if (!kf) {
        if (dpif->n_keyless >= KEYLESS_MAX) {
            COUNTER_INC(dpif_netlink_keyless_untracked);
            return;
        }
        if (dpif->n_keyless == dpif->keyless_cap) {
            dpif->keyless_cap = dpif->keyless_cap ? 2 * dpif->keyless_cap : 8;
            dpif->keyless = xrealloc(dpif->keyless, dpif->keyless_cap
                                     * sizeof *dpif->keyless);
        }
        kf = &dpif->keyless[dpif->n_keyless++];
        kf->ufid = flow->ufid;
        buf_init(&kf->key, 0);
    }
    buf_clear(&kf->key);
    buf_put(&kf->key, flow->key, flow->key_len);
    kf->seen = dpif->dump_gen;
}

/* Forgets the UFID-less flows that neither the last completed dump nor the
 * one before saw. */
static void
keyless_prune(struct dpif_netlink *dpif)
{
    size_t n = 0;

    for (size_t i = 0; i < dpif->n_keyless; i++) {
        struct keyless_flow *kf = &dpif->keyless[i];
        if (kf->seen + 1 >= dpif->dump_gen) {
            dpif->keyless[n++] = *kf;
        } else {
            buf_uninit(&kf->key);
        }
    }
    dpif->n_keyless = n;
}

static void
dpif_netlink_close(struct dpif *dpif_)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    for (size_t i = 0; i < dpif->n_keyless; i++) {
        buf_uninit(&dpif->keyless[i].key);
    }
    free(dpif->keyless);
    dpif_netlink_handlers_destroy(dpif);
    nlsock_destroy(dpif->notifier);
    nlsock_destroy(dpif->sock);
    buf_uninit(&dpif->poll_rx);
    dpif_uninit(&dpif->up);
    free(dpif);
}

static int
dpif_netlink_destroy(struct dpif *dpif_)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    return dp_transact(dpif->sock, OVS_DP_CMD_DEL, 0, dpif->dp_ifindex,
                       NULL, 0, NULL, 0, NULL, NULL);
}

static int
dpif_netlink_get_stats(const struct dpif *dpif_, struct dpif_dp_stats *stats)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);
    struct dp_reply r;
    struct buf reply;

    buf_init(&reply, 0);
    int error = dp_transact(dpif->sock, OVS_DP_CMD_GET, 0, dpif->dp_ifindex,
                            NULL, 0, NULL, 0, &reply, &r);
    if (!error) {
        memset(stats, 0, sizeof *stats);
        stats->n_hit = r.stats.n_hit;
        stats->n_missed = r.stats.n_missed;
        stats->n_lost = r.stats.n_lost;
        stats->n_flows = r.stats.n_flows;
        stats->n_mask_hit = r.mf_stats.n_mask_hit;
        stats->n_masks = r.mf_stats.n_masks;
    }
    buf_uninit(&reply);
    return error;
}

/* ---- Vports. ------------------------------------------------------------ */

/* A vport reply. */
struct vport_reply {
    int dp_ifindex;             /* Datapath the port is in. */
    uint32_t port_no;           /* Its number. */
    uint32_t type;              /* OVS_VPORT_TYPE_*. */
    const char *name;           /* Points into the reply buffer. */
    struct ovs_vport_stats stats; /* Zero if absent. */
};

static int
vport_msg_parse(const void *msg, size_t len, struct vport_reply *r,
                uint8_t *cmdp)
{
    const struct nlattr *a[ARRAY_SIZE(vport_policy)];
    struct msg_hdr hdr;
    struct errbuf eb;

    memset(r, 0, sizeof *r);
    if (msg_parse(msg, len, families.vport, vport_policy,
                  ARRAY_SIZE(vport_policy), a, &hdr, &eb)) {
        return reply_invalid("vport", &eb);
    }
    if (a[OVS_VPORT_ATTR_UPCALL_PID]
        && nl_attr_get_size(a[OVS_VPORT_ATTR_UPCALL_PID]) % 4) {
        errbuf_set(&eb, EINVAL, "upcall pid array of %zu bytes",
                   nl_attr_get_size(a[OVS_VPORT_ATTR_UPCALL_PID]));
        return reply_invalid("vport", &eb);
    }
    r->dp_ifindex = hdr.dp_ifindex;
    r->port_no = nl_attr_get_u32(a[OVS_VPORT_ATTR_PORT_NO]);
    r->type = nl_attr_get_u32(a[OVS_VPORT_ATTR_TYPE]);
    r->name = nl_attr_get_string(a[OVS_VPORT_ATTR_NAME]);
    if (a[OVS_VPORT_ATTR_STATS]) {
        memcpy(&r->stats, nl_attr_get(a[OVS_VPORT_ATTR_STATS]),
               sizeof r->stats);
    }
    if (cmdp) {
        *cmdp = hdr.cmd;
    }
    return 0;
}

static const char *
vport_type_name(uint32_t type)
{
    switch (type) {
    case OVS_VPORT_TYPE_NETDEV: return "system";
    case OVS_VPORT_TYPE_INTERNAL: return "internal";
    case OVS_VPORT_TYPE_GRE: return "gre";
    case OVS_VPORT_TYPE_VXLAN: return "vxlan";
    case OVS_VPORT_TYPE_GENEVE: return "geneve";
    default: return "unknown";
    }
}

/* The upcall pids that a vport gets: every handler's, or 0 when upcalls are
 * disabled or dispatched per CPU.  Returns how many were stored. */
static size_t
vport_upcall_pids(const struct dpif_netlink *dpif, uint32_t *pids,
                  size_t max)
{
    if (!dpif->handlers || (dpif->user_features
                            & OVS_DP_F_DISPATCH_UPCALL_PER_CPU)) {
        pids[0] = 0;
        return 1;
    }
    size_t n = MIN((size_t) dpif->n_handlers, max);
    for (size_t i = 0; i < n; i++) {
        pids[i] = nlsock_pid(dpif->handlers[i].sock);
    }
    return n;
}

/* Sends a vport command.  'name' selects the port when nonnull, else
 * 'port_no' (UINT32_MAX: none).  'type' is sent when nonzero, 'pids' when
 * nonnull.  The reply is parsed into 'r' when nonnull. */
static int
vport_transact(struct dpif_netlink *dpif, uint8_t cmd, const char *name,
               uint32_t port_no, uint32_t type, const uint32_t *pids,
               size_t n_pids, struct buf *reply, struct vport_reply *r)
{
    struct buf req;

    buf_init(&req, 0);
    struct nlmsghdr *nlh = msg_start(&req, 64 + n_pids * 4, families.vport,
                                     cmd, OVS_VPORT_VERSION,
                                     r && cmd != OVS_VPORT_CMD_GET
                                     ? NLM_F_ECHO : 0, dpif->dp_ifindex);
    if (name) {
        mnl_attr_put_strz(nlh, OVS_VPORT_ATTR_NAME, name);
    }
    if (port_no != UINT32_MAX) {
        mnl_attr_put_u32(nlh, OVS_VPORT_ATTR_PORT_NO, port_no);
    }
    if (type) {
        mnl_attr_put_u32(nlh, OVS_VPORT_ATTR_TYPE, type);
    }
    if (pids) {
        msg_put(nlh, OVS_VPORT_ATTR_UPCALL_PID, pids, n_pids * sizeof *pids);
    }
    msg_finish(&req, nlh);
    int error = nlsock_transact(dpif->sock, &req, r ? reply : NULL);
    buf_uninit(&req);
    if (!error && r) {
        error = reply->size ? vport_msg_parse(reply->data, reply->size, r,
                                              NULL)
                            : EPROTO;
    }
    return error;
}

static int
dpif_netlink_port_add(struct dpif *dpif_, const char *name, const char *type,
                      uint32_t *port_nop)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);
    uint32_t pids[MAX_HANDLERS];
    uint32_t vtype;

    if (!type || !*type || !strcmp(type, "system")) {
        vtype = OVS_VPORT_TYPE_NETDEV;
    } else if (!strcmp(type, "internal")) {
        vtype = OVS_VPORT_TYPE_INTERNAL;
    } else {
        LOG_WARN("%s: cannot create port %s of unsupported type %s",
                 dpif->up.full_name, name, type);
        return EOPNOTSUPP;
    }
    size_t n_pids = vport_upcall_pids(dpif, pids, ARRAY_SIZE(pids));

    /* A requested number that is taken gives EBUSY, one beyond the
     * datapath's range EFBIG (the kernel's answers, as in the seeds);
     * without one the kernel allocates the lowest free number. */
    struct vport_reply r;
    struct buf reply;
    buf_init(&reply, 0);
    int error = vport_transact(dpif, OVS_VPORT_CMD_NEW, name, *port_nop,
                               vtype, pids, n_pids, &reply, &r);
    if (!error) {
        *port_nop = r.port_no;
    }
    buf_uninit(&reply);
    return error;
}

static int
dpif_netlink_port_del(struct dpif *dpif_, uint32_t port_no)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    if (port_no == OVSP_LOCAL) {
        return EINVAL;
    }
    return vport_transact(dpif, OVS_VPORT_CMD_DEL, NULL, port_no, 0, NULL, 0,
                          NULL, NULL);
}

static int
dpif_netlink_port_query__(const struct dpif *dpif_, uint32_t port_no,
                          const char *name, struct dpif_port *port,
                          struct ovs_vport_stats *stats)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);
    struct vport_reply r;
    struct buf reply;

    buf_init(&reply, 0);
    int error = vport_transact(dpif, OVS_VPORT_CMD_GET, name, port_no, 0,
                               NULL, 0, &reply, &r);
    if (error == ENOENT || error == EFBIG) {
        error = ENODEV;
    }
    if (!error && r.dp_ifindex != dpif->dp_ifindex) {
        /* The name belongs to a port of another datapath. */
        error = ENODEV;
    }
    if (!error) {
        if (port) {
            port->name = xstrdup(r.name);
            port->type = xstrdup(vport_type_name(r.type));
            port->port_no = r.port_no;
        }
        if (stats) {
            *stats = r.stats;
        }
    }
    buf_uninit(&reply);
    return error;
}

static int
dpif_netlink_port_query_by_number(const struct dpif *dpif, uint32_t port_no,
                                  struct dpif_port *port)
{
    return dpif_netlink_port_query__(dpif, port_no, NULL, port, NULL);
}

static int
dpif_netlink_port_query_by_name(const struct dpif *dpif, const char *name,
                                struct dpif_port *port)
{
    return dpif_netlink_port_query__(dpif, UINT32_MAX, name, port, NULL);
}

static int
dpif_netlink_port_get_stats(const struct dpif *dpif, uint32_t port_no,
                            struct dpif_port_stats *stats)
{
    struct ovs_vport_stats s;
    int error = dpif_netlink_port_query__(dpif, port_no, NULL, NULL, &s);

    if (!error) {
        stats->rx_packets = s.rx_packets;
        stats->rx_bytes = s.rx_bytes;
        stats->rx_dropped = s.rx_dropped;
        stats->tx_packets = s.tx_packets;
        stats->tx_bytes = s.tx_bytes;
        stats->tx_dropped = s.tx_dropped;
    }
    return error;
}

static uint32_t
dpif_netlink_port_get_pid(const struct dpif *dpif_, uint32_t port_no)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    if (!dpif->handlers) {
        return 0;
    }
    uint32_t idx = port_no == DPIF_SPECIAL_PORT_PID
                   ? 0 : port_no % dpif->n_handlers;
    return nlsock_pid(dpif->handlers[idx].sock);
}

/* Calls 'cb' for every vport of 'dpif' with the parsed reply. */
static int
vport_dump(struct dpif_netlink *dpif,
           void (*cb)(const struct vport_reply *, void *aux), void *aux)
{
    struct nlsock_dump dump;
    struct buf req;
    const void *msg;
    size_t len;

    buf_init(&req, 0);
    struct nlmsghdr *nlh = msg_start(&req, 0, families.vport,
                                     OVS_VPORT_CMD_GET, OVS_VPORT_VERSION, 0,
                                     dpif->dp_ifindex);
    msg_finish(&req, nlh);
    nlsock_dump_start(&dump, NETLINK_GENERIC, &req);
    while (nlsock_dump_next(&dump, true, &msg, &len)) {
        struct vport_reply r;
        if (!vport_msg_parse(msg, len, &r, NULL)) {
            cb(&r, aux);
        }
    }
    buf_uninit(&req);
    return nlsock_dump_done(&dump);
}

struct port_dump_aux {
    void (*cb)(const struct dpif_port *, void *aux); /* Caller's callback. */
    void *aux;                                       /* Its argument. */
};

static void
port_dump_cb(const struct vport_reply *r, void *aux_)
{
    struct port_dump_aux *aux = aux_;
    struct dpif_port port = {
        .name = (char *) r->name,
        .type = (char *) vport_type_name(r->type),
        .port_no = r->port_no,
    };
    aux->cb(&port, aux->aux);
}

static int
dpif_netlink_port_dump(const struct dpif *dpif,
                       void (*cb)(const struct dpif_port *, void *aux),
                       void *aux)
{
    struct port_dump_aux pda = { cb, aux };
    return vport_dump(dpif_netlink_cast(dpif), port_dump_cb, &pda);
}

static int
dpif_netlink_port_poll(const struct dpif *dpif_, char **devnamep)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    if (!dpif->notifier) {
        return EAGAIN;
    }
    for (;;) {
        if (dpif->poll_ofs >= dpif->poll_rx.size) {
            dpif->poll_ofs = 0;
            int error = nlsock_recv(dpif->notifier, &dpif->poll_rx, false);
            if (error == ENOBUFS) {
                COUNTER_INC(dpif_netlink_port_poll_lost);
                return ENOBUFS;
            } else if (error) {
                return error == EAGAIN ? EAGAIN : error;
            }
        }
        const struct nlmsghdr *nlh = (const void *) (dpif->poll_rx.data
                                                     + dpif->poll_ofs);
        int left = (int) (dpif->poll_rx.size - dpif->poll_ofs);
        if (!nlsock_msg_ok(nlh, left)) {
            dpif->poll_ofs = dpif->poll_rx.size;
            continue;
        }
        dpif->poll_ofs += MIN((size_t) NLMSG_ALIGN(nlh->nlmsg_len),
                              (size_t) left);

        struct vport_reply r;
        uint8_t cmd;
        if (!vport_msg_parse(nlh, nlh->nlmsg_len, &r, &cmd)
            && r.dp_ifindex == dpif->dp_ifindex
            && (cmd == OVS_VPORT_CMD_NEW || cmd == OVS_VPORT_CMD_DEL)) {
            *devnamep = xstrdup(r.name);
            return 0;
        }
    }
}

static void
dpif_netlink_port_poll_wait(const struct dpif *dpif_, struct poller *p)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    if (!dpif->notifier) {
        return;
    }
    if (dpif->poll_ofs < dpif->poll_rx.size) {
        poller_immediate_wake(p);
    } else {
        poller_fd_wait(p, nlsock_fd(dpif->notifier), POLLIN);
    }
}

/* ---- Flows. ------------------------------------------------------------- */

/* Fills 'flow' from the flow message 'msg'/'len' (pointers into it). */
static int
flow_msg_parse(const void *msg, size_t len, struct dpif_flow *flow,
               bool *has_ufidp)
{
    const struct nlattr *a[ARRAY_SIZE(flow_policy)];
    struct msg_hdr hdr;
    struct errbuf eb;

    memset(flow, 0, sizeof *flow);
    if (msg_parse(msg, len, families.flow, flow_policy,
                  ARRAY_SIZE(flow_policy), a, &hdr, &eb)) {
        return reply_invalid("flow", &eb);
    }
    static const int streams[] = { OVS_FLOW_ATTR_KEY, OVS_FLOW_ATTR_MASK,
                                   OVS_FLOW_ATTR_ACTIONS };
    for (size_t i = 0; i < ARRAY_SIZE(streams); i++) {
        const struct nlattr *s = a[streams[i]];
        if (s && nl_check_stream(nl_attr_get(s), nl_attr_get_size(s), &eb)) {
            errbuf_prefix(&eb, "flow attribute %d: ", streams[i]);
            return reply_invalid("flow", &eb);
        }
    }
    if (a[OVS_FLOW_ATTR_KEY]) {
        flow->key = nl_attr_get(a[OVS_FLOW_ATTR_KEY]);
        flow->key_len = nl_attr_get_size(a[OVS_FLOW_ATTR_KEY]);
    }
    if (a[OVS_FLOW_ATTR_MASK]) {
        flow->mask = nl_attr_get(a[OVS_FLOW_ATTR_MASK]);
        flow->mask_len = nl_attr_get_size(a[OVS_FLOW_ATTR_MASK]);
    }
    if (a[OVS_FLOW_ATTR_ACTIONS]) {
        flow->actions = nl_attr_get(a[OVS_FLOW_ATTR_ACTIONS]);
        flow->actions_len = nl_attr_get_size(a[OVS_FLOW_ATTR_ACTIONS]);
    }
    if (has_ufidp) {
        *has_ufidp = a[OVS_FLOW_ATTR_UFID] != NULL;
    }
    if (a[OVS_FLOW_ATTR_UFID]) {
        memcpy(&flow->ufid, nl_attr_get(a[OVS_FLOW_ATTR_UFID]),
               nl_attr_get_size(a[OVS_FLOW_ATTR_UFID]));
    } else if (flow->key) {
        ufid_from_key(flow->key, flow->key_len, flow->mask, flow->mask_len,
                      &flow->ufid);
    }
    if (a[OVS_FLOW_ATTR_STATS]) {
        struct ovs_flow_stats s;
        memcpy(&s, nl_attr_get(a[OVS_FLOW_ATTR_STATS]), sizeof s);
        flow->stats.n_packets = s.n_packets;
        flow->stats.n_bytes = s.n_bytes;
    }
    if (a[OVS_FLOW_ATTR_USED]) {
        flow->stats.used = (long long) nl_attr_get_u64(a[OVS_FLOW_ATTR_USED]);
    }
    if (a[OVS_FLOW_ATTR_TCP_FLAGS]) {
        flow->stats.tcp_flags = nl_attr_get_u8(a[OVS_FLOW_ATTR_TCP_FLAGS]);
    }
    return 0;
}

/* Appends the UFID attribute and, if 'omit', flags that omit key, mask and
 * actions from the kernel's answer. */
static void
flow_put_ufid(struct nlmsghdr *nlh, const union ufid *ufid, bool omit)
{
    msg_put(nlh, OVS_FLOW_ATTR_UFID, ufid, sizeof *ufid);
    if (omit) {
        mnl_attr_put_u32(nlh, OVS_FLOW_ATTR_UFID_FLAGS,
                         OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_MASK
                         | OVS_UFID_F_OMIT_ACTIONS);
    }
}

static bool
attr_len_ok(size_t len)
{
    return len <= ATTR_PAYLOAD_MAX;
}

/* Builds the request of 'op' for 'dpif' into 'req'.  Returns 0 or EINVAL. */
static int
op_encode(const struct dpif_netlink *dpif, const struct dpif_op *op,
          struct buf *req)
{
    struct nlmsghdr *nlh;

    switch (op->type) {
    case DPIF_OP_FLOW_PUT: {
        const struct dpif_flow_put *put = &op->flow_put;
        bool create = put->flags & DPIF_FP_CREATE;
        bool modify = put->flags & DPIF_FP_MODIFY;
        uint16_t flags = 0;
        union ufid ufid;

        if (!attr_len_ok(put->key_len) || !attr_len_ok(put->mask_len)
            || !attr_len_ok(put->actions_len)) {
            return EINVAL;
        }
        /* CREATE alone: NEW that fails with EEXIST if the flow exists (the
         * kernel takes NLM_F_CREATE or NLM_F_EXCL for that).  CREATE|MODIFY:
         * NEW that replaces the actions of an existing flow.  MODIFY alone:
         * SET, ENOENT if the flow does not exist. */
        if (create && !modify) {
            flags = NLM_F_CREATE | NLM_F_EXCL;
        } else if (create) {
            flags = NLM_F_REPLACE;
        }
        if (put->stats) {
            flags |= NLM_F_ECHO;
        }
        nlh = msg_start(req, put->key_len + put->mask_len + put->actions_len
                        + 64, families.flow,
                        create ? OVS_FLOW_CMD_NEW : OVS_FLOW_CMD_SET,
                        OVS_FLOW_VERSION, flags, dpif->dp_ifindex);
        msg_put(nlh, OVS_FLOW_ATTR_KEY, put->key, put->key_len);
        if (put->mask) {
            msg_put(nlh, OVS_FLOW_ATTR_MASK, put->mask, put->mask_len);
        }
        msg_put(nlh, OVS_FLOW_ATTR_ACTIONS, put->actions, put->actions_len);
        if (put->ufid) {
            ufid = *put->ufid;
        } else {
            ufid_from_key(put->key, put->key_len, put->mask, put->mask_len,
                          &ufid);
        }
        if (!modify || !keyless_find(dpif, &ufid)) {
            flow_put_ufid(nlh, &ufid, put->stats != NULL);
        } else {
            COUNTER_INC(dpif_netlink_keyless_by_key);
        }
        if (put->flags & DPIF_FP_ZERO_STATS) {
            msg_put(nlh, OVS_FLOW_ATTR_CLEAR, NULL, 0);
        }
        break;
    }
    case DPIF_OP_FLOW_DEL: {
        const struct dpif_flow_del *del = &op->flow_del;

        if (!attr_len_ok(del->key_len)) {
            return EINVAL;
        }
        const struct keyless_flow *kf = keyless_find(dpif, del->ufid);
        nlh = msg_start(req, del->key_len + (kf ? kf->key.size : 0) + 64,
                        families.flow, OVS_FLOW_CMD_DEL, OVS_FLOW_VERSION,
                        del->stats ? NLM_F_ECHO : 0, dpif->dp_ifindex);
        if (kf) {
            COUNTER_INC(dpif_netlink_keyless_by_key);
            msg_put(nlh, OVS_FLOW_ATTR_KEY, kf->key.data, kf->key.size);
        } else if (del->ufid) {
            flow_put_ufid(nlh, del->ufid, del->stats != NULL);
        } else {
            msg_put(nlh, OVS_FLOW_ATTR_KEY, del->key, del->key_len);
        }
        break;
    }
    case DPIF_OP_FLOW_GET: {
        const struct dpif_flow_get *get = &op->flow_get;

        if (!attr_len_ok(get->key_len)) {
            return EINVAL;
        }
        const struct keyless_flow *kf = keyless_find(dpif, get->ufid);
        nlh = msg_start(req, get->key_len + (kf ? kf->key.size : 0) + 64,
                        families.flow, OVS_FLOW_CMD_GET, OVS_FLOW_VERSION, 0,
                        dpif->dp_ifindex);
        if (kf) {
            COUNTER_INC(dpif_netlink_keyless_by_key);
            msg_put(nlh, OVS_FLOW_ATTR_KEY, kf->key.data, kf->key.size);
        } else if (get->ufid) {
            flow_put_ufid(nlh, get->ufid, false);
        } else {
            msg_put(nlh, OVS_FLOW_ATTR_KEY, get->key, get->key_len);
        }
        break;
    }
    case DPIF_OP_EXECUTE: {
        const struct dpif_execute *ex = &op->execute;

        if (!attr_len_ok(ex->key_len) || !attr_len_ok(ex->actions_len)
            || !attr_len_ok(ex->packet_len)) {
            return EINVAL;
        }
        nlh = msg_start(req, ex->key_len + ex->actions_len + ex->packet_len
                        + 64, families.packet, OVS_PACKET_CMD_EXECUTE,
                        OVS_PACKET_VERSION, 0, dpif->dp_ifindex);
        msg_put(nlh, OVS_PACKET_ATTR_PACKET, ex->packet, ex->packet_len);
        msg_put(nlh, OVS_PACKET_ATTR_KEY, ex->key, ex->key_len);
        msg_put(nlh, OVS_PACKET_ATTR_ACTIONS, ex->actions, ex->actions_len);
        break;
    }
    default:
        return EINVAL;
    }
    msg_finish(req, nlh);
    return 0;
}

/* Stores the result of 'op' from its transaction's error and reply. */
static void
op_decode(struct dpif_op *op, int error, struct buf *reply)
{
    struct dpif_flow flow;
    struct dpif_flow_stats *stats = NULL;

    if (op->type == DPIF_OP_FLOW_PUT) {
        stats = op->flow_put.stats;
    } else if (op->type == DPIF_OP_FLOW_DEL) {
        stats = op->flow_del.stats;
    } else if (op->type == DPIF_OP_FLOW_GET && !error) {
        error = reply->size ? flow_msg_parse(reply->data, reply->size,
                                             op->flow_get.flow, NULL)
                            : EPROTO;
    }
    if (stats && !error) {
        error = reply->size ? flow_msg_parse(reply->data, reply->size, &flow,
                                             NULL)
                            : EPROTO;
        if (!error) {
            *stats = flow.stats;
        }
    }
    op->error = error;
}

static void
dpif_netlink_operate(struct dpif *dpif_, struct dpif_op **ops, size_t n_ops)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    while (n_ops > 0) {
        uint64_t stubs[DPIF_OPERATE_CHUNK][REQUEST_STUB / 8];
        struct buf requests[DPIF_OPERATE_CHUNK];
        struct buf replies[DPIF_OPERATE_CHUNK];
        struct nlsock_txn txns[DPIF_OPERATE_CHUNK];
        struct nlsock_txn *txnps[DPIF_OPERATE_CHUNK];
        struct dpif_op *sent[DPIF_OPERATE_CHUNK];
        size_t n = MIN(n_ops, (size_t) DPIF_OPERATE_CHUNK);
        size_t n_txns = 0;

        for (size_t i = 0; i < n; i++) {
            struct dpif_op *op = ops[i];
            struct buf *req = &requests[n_txns];
            buf_use_stub(req, stubs[n_txns], sizeof stubs[n_txns]);
            op->error = op_encode(dpif, op, req);
            if (op->error) {
                buf_uninit(req);
                continue;
            }
            /* A get answers into the caller's buffer. */
            struct buf *reply = &replies[n_txns];
            if (op->type == DPIF_OP_FLOW_GET) {
                reply = op->flow_get.buffer;
            } else {
                buf_init(reply, 0);
            }
            txns[n_txns] = (struct nlsock_txn) { req, reply, 0 };
            txnps[n_txns] = &txns[n_txns];
            sent[n_txns++] = op;
        }
        if (n_txns) {
            nlsock_transact_multiple(dpif->sock, txnps, n_txns);
        }
        for (size_t i = 0; i < n_txns; i++) {
            op_decode(sent[i], txns[i].error, txns[i].reply);
            buf_uninit(&requests[i]);
            if (sent[i]->type != DPIF_OP_FLOW_GET) {
                buf_uninit(&replies[i]);
            }
        }
        ops += n;
        n_ops -= n;
    }
}

static int
dpif_netlink_flow_flush(struct dpif *dpif_)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);
    struct buf req;

    buf_init(&req, 0);
    struct nlmsghdr *nlh = msg_start(&req, 0, families.flow, OVS_FLOW_CMD_DEL,
                                     OVS_FLOW_VERSION, 0, dpif->dp_ifindex);
    msg_finish(&req, nlh);
    int error = nlsock_transact(dpif->sock, &req, NULL);
    buf_uninit(&req);
    return error;
}

/* A flow dump: one netlink dump on its own socket. */
struct dpif_netlink_flow_dump {
    struct dpif_flow_dump up;   /* Generic part; first member. */
    struct nlsock_dump nl;      /* The kernel dump. */
    int status;                 /* First error from starting, or 0. */
};

struct dpif_netlink_flow_dump_thread {
    struct dpif_flow_dump_thread up;     /* Generic part; first member. */
    struct dpif_netlink_flow_dump *dump; /* Dump it reads. */
};

static struct dpif_flow_dump *
dpif_netlink_flow_dump_create(const struct dpif *dpif_, bool terse)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);
    struct dpif_netlink_flow_dump *dump = xzalloc(sizeof *dump);
    struct buf req;

    dump->up.dpif = dpif_;
    dump->up.terse = terse;
    dpif->dump_gen++;
    buf_init(&req, 0);
    struct nlmsghdr *nlh = msg_start(&req, 16, families.flow,
                                     OVS_FLOW_CMD_GET, OVS_FLOW_VERSION, 0,
                                     dpif->dp_ifindex);
    if (terse) {
        mnl_attr_put_u32(nlh, OVS_FLOW_ATTR_UFID_FLAGS,
                         OVS_UFID_F_OMIT_KEY | OVS_UFID_F_OMIT_MASK
                         | OVS_UFID_F_OMIT_ACTIONS);
    }
    msg_finish(&req, nlh);
    dump->status = nlsock_dump_start(&dump->nl, NETLINK_GENERIC, &req);
    buf_uninit(&req);
    return &dump->up;
}

static int
dpif_netlink_flow_dump_destroy(struct dpif_flow_dump *dump_)
{
    struct dpif_netlink_flow_dump *dump
        = CONTAINER_OF(dump_, struct dpif_netlink_flow_dump, up);
    int error = nlsock_dump_done(&dump->nl);

    if (!error) {
        error = dump->status;
    }
    if (!error) {
        keyless_prune(dpif_netlink_cast(dump_->dpif));
    }
    free(dump);
    return error;
}

static struct dpif_flow_dump_thread *
dpif_netlink_flow_dump_thread_create(struct dpif_flow_dump *dump_)
{
    struct dpif_netlink_flow_dump_thread *t = xzalloc(sizeof *t);

    t->up.dpif = dump_->dpif;
    t->dump = CONTAINER_OF(dump_, struct dpif_netlink_flow_dump, up);
    return &t->up;
}

static void
dpif_netlink_flow_dump_thread_destroy(struct dpif_flow_dump_thread *t)
{
    free(CONTAINER_OF(t, struct dpif_netlink_flow_dump_thread, up));
}

static int
dpif_netlink_flow_dump_next(struct dpif_flow_dump_thread *t_,
                            struct dpif_flow *flows, int max_flows)
{
    struct dpif_netlink_flow_dump_thread *t
        = CONTAINER_OF(t_, struct dpif_netlink_flow_dump_thread, up);
    const void *msg;
    size_t len;
    int n = 0;

    /* The flows point into the dump's receive buffer: refill it only before
     * the first flow of this call. */
    while (n < max_flows && nlsock_dump_next(&t->dump->nl, n == 0, &msg,
                                             &len)) {
        bool has_ufid;
        if (!flow_msg_parse(msg, len, &flows[n], &has_ufid)) {
            if (!has_ufid && flows[n].key) {
                keyless_note(dpif_netlink_cast(t->up.dpif), &flows[n]);
            }
            n++;
        }
    }
    return n;
}

/* ---- Upcalls. ----------------------------------------------------------- */

/* Copies the upcall parsed by common/upcall-nl.h into 'upcall'. */
static void
dpif_netlink_upcall_copy(const struct upcall_nl *in,
                         struct dpif_upcall *upcall)
{
    upcall->type = (in->type == UPCALL_NL_MISS ? DPIF_UC_MISS
                    : DPIF_UC_ACTION);
    upcall->in_port = in->in_port;
    buf_clear(&upcall->packet);
    buf_put(&upcall->packet, in->packet, in->packet_len);
    buf_clear(&upcall->key);
    buf_put(&upcall->key, in->key, in->key_len);
    buf_clear(&upcall->userdata);
    if (in->has_userdata) {
        buf_put(&upcall->userdata, in->userdata, in->userdata_len);
    }
}

static void
dpif_netlink_handlers_destroy(struct dpif_netlink *dpif)
{
    for (uint32_t i = 0; i < dpif->n_handlers; i++) {
        nlsock_destroy(dpif->handlers[i].sock);
        buf_uninit(&dpif->handlers[i].rx);
    }
    free(dpif->handlers);
    dpif->handlers = NULL;
    dpif->n_handlers = 0;
}

static int
dpif_netlink_handlers_create(struct dpif_netlink *dpif, uint32_t n)
{
    struct dpif_netlink_handler *handlers = xcalloc(n, sizeof *handlers);

    for (uint32_t i = 0; i < n; i++) {
        int error = nlsock_create(NETLINK_GENERIC, &handlers[i].sock);
        if (!error) {
            error = nlsock_set_rcvbuf(handlers[i].sock, UPCALL_RCVBUF);
        }
        if (error) {
            for (uint32_t j = 0; j <= i; j++) {
                nlsock_destroy(handlers[j].sock);
            }
            free(handlers);
            return error;
        }
        buf_init(&handlers[i].rx, 0);
    }
    dpif->handlers = handlers;
    dpif->n_handlers = n;
    return 0;
}

struct refresh_aux {
    uint32_t ports[1024];       /* Port numbers collected by the dump. */
    size_t n_ports;             /* Entries in 'ports'. */
    bool overflow;              /* More ports than fit. */
};

static void
refresh_collect_cb(const struct vport_reply *r, void *aux_)
{
    struct refresh_aux *aux = aux_;

    if (aux->n_ports < ARRAY_SIZE(aux->ports)) {
        aux->ports[aux->n_ports++] = r->port_no;
    } else {
        aux->overflow = true;
    }
}

/* Registers the current handler sockets with the kernel: the per-CPU array,
 * or every vport's pid array. */
static int
dpif_netlink_refresh_channels(struct dpif_netlink *dpif)
{
    if (dpif->user_features & OVS_DP_F_DISPATCH_UPCALL_PER_CPU) {
        size_t n_cpus = (size_t) MAX(get_nprocs_conf(), 1);
        uint32_t *pids = xcalloc(n_cpus, sizeof *pids);
        for (size_t i = 0; i < n_cpus; i++) {
            pids[i] = dpif->handlers
                      ? nlsock_pid(dpif->handlers[i % dpif->n_handlers].sock)
                      : 0;
        }
        int error = dp_transact(dpif->sock, OVS_DP_CMD_SET, 0,
                                dpif->dp_ifindex, NULL, dpif->user_features,
                                pids, n_cpus, NULL, NULL);
        free(pids);
        return error;
    }

    struct refresh_aux *aux = xzalloc(sizeof *aux);
    uint32_t pids[MAX_HANDLERS];
    size_t n_pids = vport_upcall_pids(dpif, pids, ARRAY_SIZE(pids));
    int error = vport_dump(dpif, refresh_collect_cb, aux);
    if (!error && aux->overflow) {
        error = EFBIG;
    }
    for (size_t i = 0; !error && i < aux->n_ports; i++) {
        error = vport_transact(dpif, OVS_VPORT_CMD_SET, NULL, aux->ports[i],
                               0, pids, n_pids, NULL, NULL);
        if (error == ENODEV || error == ENOENT) {
            error = 0;          /* Deleted meanwhile. */
        }
    }
    free(aux);
    return error;
}

static int
dpif_netlink_recv_set(struct dpif *dpif_, bool enable)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    if (enable == dpif->recv_enabled) {
        return 0;
    }
    dpif_netlink_handlers_destroy(dpif);
    if (enable) {
        int error = dpif_netlink_handlers_create(dpif,
                                                 dpif->n_handlers_wanted);
        if (error) {
            return error;
        }
    }
    int error = dpif_netlink_refresh_channels(dpif);
    if (error) {
        dpif_netlink_handlers_destroy(dpif);
        dpif_netlink_refresh_channels(dpif);
        return error;
    }
    dpif->recv_enabled = enable;
    return 0;
}

static int
dpif_netlink_handlers_set(struct dpif *dpif_, uint32_t n_handlers)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    if (n_handlers > MAX_HANDLERS) {
        return EINVAL;
    }
    if (n_handlers == dpif->n_handlers_wanted) {
        return 0;
    }
    dpif->n_handlers_wanted = n_handlers;
    if (!dpif->recv_enabled) {
        return 0;
    }
    dpif->recv_enabled = false;
    return dpif_netlink_recv_set(dpif_, true);
}

static int
dpif_netlink_recv(struct dpif *dpif_, uint32_t handler_id,
                  struct dpif_upcall *upcall)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    if (handler_id >= dpif->n_handlers) {
        return EAGAIN;
    }
    struct dpif_netlink_handler *h = &dpif->handlers[handler_id];
    /* Bounded, so that a stream of bad messages cannot hold us here. */
    for (int i = 0; i < 50; i++) {
        int error = nlsock_recv(h->sock, &h->rx, false);
        if (error == ENOBUFS) {
            COUNTER_INC(dpif_netlink_upcall_lost);
            continue;
        } else if (error) {
            return error;
        }
        struct upcall_nl in;
        struct errbuf eb;
        if (upcall_nl_parse(h->rx.data, h->rx.size, families.packet, &in,
                            &eb)) {
            static struct log_rl rl = LOG_RL_INIT(5, 20);
            COUNTER_INC(dpif_netlink_upcall_bad);
            LOG_WARN_RL(&rl, "%s: bad upcall: %s", dpif->up.full_name,
                        eb.msg);
            continue;
        }
        dpif_netlink_upcall_copy(&in, upcall);
        upcall->pid = nlsock_pid(h->sock);
        return 0;
    }
    return EAGAIN;
}

static void
dpif_netlink_recv_wait(struct dpif *dpif_, uint32_t handler_id,
                       struct poller *p)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    if (handler_id < dpif->n_handlers) {
        poller_fd_wait(p, nlsock_fd(dpif->handlers[handler_id].sock),
                       POLLIN);
    }
}

static void
dpif_netlink_recv_purge(struct dpif *dpif_)
{
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);

    for (uint32_t i = 0; i < dpif->n_handlers; i++) {
        nlsock_drain(dpif->handlers[i].sock);
    }
}

int
dpif_netlink_handler_fd(const struct dpif *dpif_, uint32_t handler_id)
{
    if (dpif_->class != &dpif_system_class) {
        return -1;
    }
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);
    return (handler_id < dpif->n_handlers
            ? nlsock_fd(dpif->handlers[handler_id].sock) : -1);
}

uint32_t
dpif_netlink_user_features(const struct dpif *dpif)
{
    return (dpif->class == &dpif_system_class
            ? dpif_netlink_cast(dpif)->user_features : 0);
}

bool
dpif_netlink_dispatch_per_cpu(const struct dpif *dpif)
{
    return (dpif_netlink_user_features(dpif)
            & OVS_DP_F_DISPATCH_UPCALL_PER_CPU) != 0;
}

int
dpif_netlink_set_dispatch_per_cpu(struct dpif *dpif_, bool per_cpu)
{
    if (dpif_->class != &dpif_system_class) {
        return EOPNOTSUPP;
    }
    struct dpif_netlink *dpif = dpif_netlink_cast(dpif_);
    uint32_t want = per_cpu ? USER_FEATURES_ALL : USER_FEATURES_BASE;
    if ((dpif->user_features & USER_FEATURES_ALL) == want) {
        return 0;
    }

    struct dp_reply r;
    struct buf reply;
    buf_init(&reply, 0);
    int error = dp_transact(dpif->sock, OVS_DP_CMD_SET, 0, dpif->dp_ifindex,
                            NULL, want, NULL, 0, &reply, &r);
    buf_uninit(&reply);
    if (error == EINVAL) {
        error = EOPNOTSUPP;
    }
    if (error) {
        return error;
    }
    dpif->user_features = r.user_features;
    if ((r.user_features & USER_FEATURES_ALL) != want) {
        return EOPNOTSUPP;
    }
    return dpif->handlers ? dpif_netlink_refresh_channels(dpif) : 0;
}

const struct dpif_class dpif_system_class = {
    .type = "system",
    .outlives_process = true,
    .upcall_sockets = true,
    .enumerate = dpif_netlink_enumerate,
    .open = dpif_netlink_open,
    .close = dpif_netlink_close,
    .destroy = dpif_netlink_destroy,
    .get_stats = dpif_netlink_get_stats,
    .port_add = dpif_netlink_port_add,
    .port_del = dpif_netlink_port_del,
    .port_query_by_number = dpif_netlink_port_query_by_number,
    .port_query_by_name = dpif_netlink_port_query_by_name,
    .port_get_stats = dpif_netlink_port_get_stats,
    .port_get_pid = dpif_netlink_port_get_pid,
    .port_dump = dpif_netlink_port_dump,
    .port_poll = dpif_netlink_port_poll,
    .port_poll_wait = dpif_netlink_port_poll_wait,
    .flow_flush = dpif_netlink_flow_flush,
    .flow_dump_create = dpif_netlink_flow_dump_create,
    .flow_dump_destroy = dpif_netlink_flow_dump_destroy,
    .flow_dump_thread_create = dpif_netlink_flow_dump_thread_create,
    .flow_dump_thread_destroy = dpif_netlink_flow_dump_thread_destroy,
    .flow_dump_next = dpif_netlink_flow_dump_next,
    .operate = dpif_netlink_operate,
    .recv_set = dpif_netlink_recv_set,
    .handlers_set = dpif_netlink_handlers_set,
    .recv = dpif_netlink_recv,
    .recv_wait = dpif_netlink_recv_wait,
    .recv_purge = dpif_netlink_recv_purge,
};

/* ---- Reply parsers, exposed for the fuzzers (see dpif-netlink.h). ------- */

void
dpif_netlink_families_set(const struct dpif_netlink_families *f)
{
    families = *f;
    families_resolved = true;
}

int
dpif_netlink_parse_dp(const void *msg, size_t len, const char **namep,
                      int *dp_ifindexp, uint32_t *user_featuresp)
{
    const struct buf b = { .data = (uint8_t *) msg, .size = len };
    struct dp_reply r;

    int error = dp_reply_parse(&b, &r);
    if (!error) {
        *namep = r.name;
        *dp_ifindexp = r.dp_ifindex;
        *user_featuresp = r.user_features;
    }
    return error;
}

int
dpif_netlink_parse_vport(const void *msg, size_t len, struct dpif_port *port,
                         int *dp_ifindexp, uint8_t *cmdp)
{
    struct vport_reply r;

    int error = vport_msg_parse(msg, len, &r, cmdp);
    if (!error) {
        port->name = (char *) r.name;
        port->type = (char *) vport_type_name(r.type);
        port->port_no = r.port_no;
        *dp_ifindexp = r.dp_ifindex;
    }
    return error;
}

int
dpif_netlink_parse_flow(const void *msg, size_t len, struct dpif_flow *flow,
                        bool *has_ufidp)
{
    return flow_msg_parse(msg, len, flow, has_ufidp);
}
