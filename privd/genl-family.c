/* Generic netlink family and multicast group resolution (libnl-genl-3). */
#include "privd/genl-family.h"

#include <errno.h>
#include <netlink/errno.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

/* Maps a libnl error (negative NLE_*) to a positive errno. */
static int
genl_family_errno(int nle)
{
    switch (-nle) {
    case NLE_OBJ_NOTFOUND:
        return ENOENT;
    case NLE_NOMEM:
        return ENOMEM;
    case NLE_PERM:
        return EPERM;
    case NLE_NOACCESS:
        return EACCES;
    case NLE_AF_NOSUPPORT:
        return EAFNOSUPPORT;
    default:
        return EPROTO;
    }
}

int
genl_family_resolve(const char *name, uint16_t *idp,
                    const char *group, uint32_t *groupp)
{
    struct nl_sock *sk = nl_socket_alloc();
    int error = 0;

    if (!sk) {
        return ENOMEM;
    }
    int nle = genl_connect(sk);
    if (nle < 0) {
        error = genl_family_errno(nle);
        goto out;
    }
    int id = genl_ctrl_resolve(sk, name);
    if (id < 0) {
        error = genl_family_errno(id);
        goto out;
    }
    if (group) {
        int grp = genl_ctrl_resolve_grp(sk, name, group);
        if (grp < 0) {
            error = genl_family_errno(grp);
            goto out;
        }
        *groupp = (uint32_t) grp;
    }
    *idp = (uint16_t) id;
out:
    nl_socket_free(sk);
    return error;
}
