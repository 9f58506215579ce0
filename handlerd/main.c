/*
 * dpif-handlerd — the upcall handler worker: main().
 *
 * One file, one handler_main(), in the manner of bgpd's rde_main(): enter
 * the sandbox before reading anything (worker_start()), then one poll loop
 * whose only peer is privd; losing privd ends the process.
 *
 * The process skeleton (sandbox, handshake, liveness, status page, counter
 * reports) is common/worker.h; what a handler does with upcalls, op results
 * and policy updates is handlerd/handler.h and handlerd/upcall.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/ipc.h"
#include "common/log.h"
#include "common/poller.h"
#include "common/worker.h"
#include "handlerd/handler.h"

LOG_MODULE(handlerd);

static int
handler_main(int argc, char *argv[])
{
    struct errbuf eb = { "" };
    struct handler *h;
    struct worker *w;
    struct poller p;
    int error;

    log_set_role("handler");
    if (worker_start(argc, argv, WORKER_ROLE_HANDLER, &w, &eb)) {
        LOG_ERR("%s", eb.msg);
        return EXIT_FAILURE;
    }
    if (handler_create(w, &h)) {
        worker_destroy(w);
        return EXIT_FAILURE;
    }
    for (;;) {
        struct ipc_msg m;

        while (!(error = worker_recv(w, &m, &eb))) {
            handler_handle_msg(h, &m);
        }
        if (error != EAGAIN) {
            break;
        }
        handler_run(h);
        poller_clear(&p);
        worker_wait(w, &p);
        handler_wait(h, &p);
        poller_block(&p);
    }
    handler_destroy(h);
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
    return handler_main(argc, argv);
}
