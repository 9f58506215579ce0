/*
 * worker-exec.c — the exec contract's command line (common/worker-exec.h).
 */
#include "common/worker-exec.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

bool
worker_role_is_valid(unsigned int role)
{
    return role == WORKER_ROLE_HANDLER || role == WORKER_ROLE_REVALIDATOR;
}

const char *
worker_role_to_string(enum worker_role role)
{
    switch (role) {
    case WORKER_ROLE_HANDLER:
        return "handler";
    case WORKER_ROLE_REVALIDATOR:
        return "revalidator";
    }
    return "?";
}

int
worker_role_from_string(const char *s, enum worker_role *rolep)
{
    if (!strcmp(s, "handler")) {
        *rolep = WORKER_ROLE_HANDLER;
    } else if (!strcmp(s, "revalidator")) {
        *rolep = WORKER_ROLE_REVALIDATOR;
    } else {
        return EINVAL;
    }
    return 0;
}

int
worker_parse_args(int argc, char *argv[], enum worker_role *rolep,
                  unsigned int *idp, struct errbuf *eb)
{
    enum worker_role role;
    uint64_t id;

    if (argc != 5 || strcmp(argv[1], "--role") || strcmp(argv[3], "--id")) {
        return errbuf_set(eb, EINVAL, "usage: %s --role handler|revalidator "
                          "--id N (started by dpifd only)",
                          argc > 0 ? argv[0] : "worker");
    }
    if (worker_role_from_string(argv[2], &role)) {
        return errbuf_set(eb, EINVAL, "unknown worker role '%s'", argv[2]);
    }
    if (str_to_uint(argv[4], 10, DPIF_WORKER_MAX_ID - 1, &id)) {
        return errbuf_set(eb, EINVAL, "worker id '%s' is not in [0, %d)",
                          argv[4], DPIF_WORKER_MAX_ID);
    }
    *rolep = role;
    *idp = (unsigned int) id;
    return 0;
}
