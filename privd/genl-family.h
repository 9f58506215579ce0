/*
 * genl-family.h — generic netlink family and multicast group resolution.
 *
 * A generic netlink family (e.g. "ovs_datapath") has a numeric id that the
 * kernel assigns when the module registering it loads; its multicast groups
 * (e.g. "ovs_vport") have ids too.  This module asks the kernel's "nlctrl"
 * family for both, with libnl-genl-3, on a short-lived socket of its own.
 *
 * Errors: ENOENT when the family (or group) is not registered — the module
 * providing it is not loaded and could not be auto-loaded; other positive
 * errno values when the control socket itself fails.
 *
 * Thread safety: each call uses its own socket; no state is kept.
 */
#ifndef PRIVD_GENL_FAMILY_H
#define PRIVD_GENL_FAMILY_H 1

#include <stdint.h>

/* Looks up family 'name'; stores its id in '*idp'.  If 'group' is nonnull,
 * also looks up that multicast group of the family and stores its id in
 * '*groupp'. */
int genl_family_resolve(const char *name, uint16_t *idp,
                        const char *group, uint32_t *groupp);

#endif /* genl-family.h */
