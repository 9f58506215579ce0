/*
 * dpif-handlerd — the upcall handler worker: main().
 *
 * One file, one handler_main(), in the manner of bgpd's rde_main(): enter
 * the sandbox before reading anything (worker_start()), then one poll loop
 * whose only peer is privd; losing privd ends the process.
 *
 * Scope of this file: the process skeleton — sandbox, handshake, liveness,
 * status page, counter reports (all in common/worker.h).  Translating
 * upcalls into ops (common/xlate, the forwarding policy, MAC learning) is
 * the handler logic built on this skeleton: until it is plugged in here,
 * received upcalls are counted (handler_upcalls_received) and no op is
 * submitted for them, and op results are counted likewise.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/counters.h"
#include "common/ipc.h"
#include "common/log.h"
#include "common/poller.h"
#include "common/worker.h"
#include "proto/worker.pb-c.h"

LOG_MODULE(handlerd);

COUNTER_DEFINE(handler_upcall_batches);
COUNTER_DEFINE(handler_upcalls_received);
COUNTER_DEFINE(handler_upcalls_lost);
COUNTER_DEFINE(handler_op_results);
COUNTER_DEFINE(handler_policy_updates);

static void
handler_dispatch(struct ipc_msg *m)
{
    switch (m->hdr.type) {
    case IPC_UPCALL_BATCH: {
        const Dpif__UpcallBatch *b = (const Dpif__UpcallBatch *) m->msg;
        COUNTER_INC(handler_upcall_batches);
        COUNTER_ADD(handler_upcalls_received, b->n_upcalls);
        COUNTER_ADD(handler_upcalls_lost, b->has_n_lost ? b->n_lost : 0);
        break;
    }
    case IPC_OP_RESULTS:
        COUNTER_INC(handler_op_results);
        break;
    case IPC_POLICY_UPDATE:
        COUNTER_INC(handler_policy_updates);
        break;
    default:
        LOG_DBG("ignoring %s", ipc_type_name(m->hdr.type));
        break;
    }
}

static int
handler_main(int argc, char *argv[])
{
    struct errbuf eb = { "" };
    struct worker *w;
    struct poller p;
    int error;

    log_set_role("handler");
    if (worker_start(argc, argv, WORKER_ROLE_HANDLER, &w, &eb)) {
        LOG_ERR("%s", eb.msg);
        return EXIT_FAILURE;
    }
    for (;;) {
        struct ipc_msg m;

        while (!(error = worker_recv(w, &m, &eb))) {
            handler_dispatch(&m);
            ipc_msg_destroy(&m);
        }
        if (error != EAGAIN) {
            break;
        }
        poller_clear(&p);
        worker_wait(w, &p);
        poller_block(&p);
    }
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
