/*
 * dpif-revald — the revalidator worker: main().
 *
 * One file, one revalidator_main(), in the manner of bgpd's rde_main():
 * enter the sandbox before reading anything (worker_start()), then one
 * poll loop whose only peer is privd; losing privd ends the process.
 *
 * The process skeleton (sandbox, handshake, liveness, status page, counter
 * reports) is common/worker.h; what a revalidator does with dump shards,
 * flow announcements, op results and policy updates is
 * revald/revalidator.h and revald/revalidate.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/poller.h"
#include "common/worker.h"
#include "revald/revalidator.h"

LOG_MODULE(revald);

static int
revalidator_main(int argc, char *argv[])
{
    struct errbuf eb = { "" };
    struct revald *rd;
    struct worker *w;
    struct poller p;
    int error;

    log_set_role("revalidator");
    if (worker_start(argc, argv, WORKER_ROLE_REVALIDATOR, &w, &eb)) {
        LOG_ERR("%s", eb.msg);
        return EXIT_FAILURE;
    }
    if (revald_create(w, &rd)) {
        worker_destroy(w);
        return EXIT_FAILURE;
    }
    for (;;) {
        struct ipc_msg m;

        while (!(error = worker_recv(w, &m, &eb))) {
            if ((error = revald_handle_msg(rd, &m, &eb))) {
                break;
            }
        }
        if (error == EAGAIN) {
            error = revald_run(rd, &eb);
        }
        if (error) {
            break;
        }
        poller_clear(&p);
        worker_wait(w, &p);
        poller_block(&p);
    }
    revald_destroy(rd);
    worker_destroy(w);
    if (error == EPIPE || error == ESHUTDOWN) {
        LOG_INFO("%s", error == EPIPE ? "lost connection to privd, exiting"
                 : "shut down by privd");
        return EXIT_SUCCESS;
    }
    LOG_ERR("%s", eb.msg);
    return EXIT_FAILURE;
}

int
main(int argc, char *argv[])
{
    return revalidator_main(argc, argv);
}
