/* Parsing the kernel datapath's upcall messages.  See upcall-nl.h. */
#include "common/upcall-nl.h"

#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/if_ether.h>
#include <linux/openvswitch.h>

#include "common/nl.h"

/* Every attribute the kernel puts in an upcall (net/openvswitch/datapath.c
 * queue_userspace_packet()). */
static const struct nl_policy upcall_nl_policy[OVS_PACKET_ATTR_MAX + 1] = {
    [OVS_PACKET_ATTR_PACKET] = { .type = NL_A_UNSPEC, .min_len = ETH_HLEN },
    [OVS_PACKET_ATTR_KEY] = { .type = NL_A_NESTED },
    [OVS_PACKET_ATTR_ACTIONS] = { .type = NL_A_NESTED, .optional = true },
    [OVS_PACKET_ATTR_USERDATA] = { .type = NL_A_UNSPEC, .optional = true },
    [OVS_PACKET_ATTR_EGRESS_TUN_KEY] = { .type = NL_A_NESTED,
                                         .optional = true },
    [OVS_PACKET_ATTR_MRU] = { .type = NL_A_U16, .optional = true },
    [OVS_PACKET_ATTR_LEN] = { .type = NL_A_U32, .optional = true },
    [OVS_PACKET_ATTR_HASH] = { .type = NL_A_U64, .optional = true },
};

int
upcall_nl_parse(const void *msg, size_t len, uint16_t packet_family,
                struct upcall_nl *up, struct errbuf *eb)
{
    const struct nlmsghdr *nlh = msg;
    const size_t hdrs = MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN)
                        + MNL_ALIGN(sizeof(struct ovs_header));

    if ((uintptr_t) msg % 4) {
        return errbuf_set(eb, EINVAL, "misaligned message");
    }
    if (len < hdrs || nlh->nlmsg_len < hdrs || nlh->nlmsg_len > len) {
        return errbuf_set(eb, EINVAL, "message of %zu bytes is too short",
                          len);
    }
    if (nlh->nlmsg_type != packet_family) {
        return errbuf_set(eb, EINVAL, "message of family %u, expected %u",
                          nlh->nlmsg_type, packet_family);
    }
    const struct genlmsghdr *genl = mnl_nlmsg_get_payload(nlh);
    const struct ovs_header *ovs = (const void *) ((const char *) genl
                                                   + MNL_ALIGN(GENL_HDRLEN));
    if (genl->cmd != OVS_PACKET_CMD_MISS
        && genl->cmd != OVS_PACKET_CMD_ACTION) {
        return errbuf_set(eb, EINVAL, "packet command %u is not an upcall",
                          genl->cmd);
    }

    const struct nlattr *a[ARRAY_SIZE(upcall_nl_policy)];
    int error = nl_parse_attrs((const char *) msg + hdrs,
                               nlh->nlmsg_len - hdrs, upcall_nl_policy,
                               ARRAY_SIZE(upcall_nl_policy), a, eb);
    if (error) {
        return error;
    }
    const struct nlattr *key = a[OVS_PACKET_ATTR_KEY];
    error = nl_check_stream(nl_attr_get(key), nl_attr_get_size(key), eb);
    if (error) {
        errbuf_prefix(eb, "upcall key: ");
        return error;
    }
    const struct nlattr *in_port = nl_find_attr(nl_attr_get(key),
                                                nl_attr_get_size(key),
                                                OVS_KEY_ATTR_IN_PORT);
    if (!in_port || nl_attr_get_size(in_port) != sizeof(uint32_t)) {
        return errbuf_set(eb, EINVAL, "upcall key has no valid in_port");
    }

    *up = (struct upcall_nl) {
        .type = (genl->cmd == OVS_PACKET_CMD_MISS ? UPCALL_NL_MISS
                 : UPCALL_NL_ACTION),
        .dp_ifindex = ovs->dp_ifindex,
        .in_port = nl_attr_get_u32(in_port),
        .packet = nl_attr_get(a[OVS_PACKET_ATTR_PACKET]),
        .packet_len = nl_attr_get_size(a[OVS_PACKET_ATTR_PACKET]),
        .key = nl_attr_get(key),
        .key_len = nl_attr_get_size(key),
    };
    if (a[OVS_PACKET_ATTR_USERDATA]) {
        up->has_userdata = true;
        up->userdata = nl_attr_get(a[OVS_PACKET_ATTR_USERDATA]);
        up->userdata_len = nl_attr_get_size(a[OVS_PACKET_ATTR_USERDATA]);
    }
    if (a[OVS_PACKET_ATTR_LEN]) {
        up->orig_len = nl_attr_get_u32(a[OVS_PACKET_ATTR_LEN]);
    }
    return 0;
}
