/*
 * dpif-revald — the revalidator worker: main().
 *
 * One file, one revalidator_main(), in the manner of bgpd's rde_main():
 * enter the sandbox before reading anything (worker_start()), then one
 * poll loop whose only peer is privd; losing privd ends the process.
 *
 * Scope of this file: the process skeleton — sandbox, handshake, liveness,
 * status page, counter reports (common/worker.h) — and the dump protocol's
 * acknowledgement: every end_of_dump is answered with a DumpAck so that
 * privd's dump bookkeeping completes.  Keeping ukeys, re-translating and
 * deleting or modifying flows is the revalidator logic built on this
 * skeleton; until it is plugged in here, dumped and announced flows are
 * counted and acknowledged, never acted on.
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

LOG_MODULE(revald);

COUNTER_DEFINE(reval_dump_shards);
COUNTER_DEFINE(reval_dumped_flows);
COUNTER_DEFINE(reval_announced_flows);
COUNTER_DEFINE(reval_dumps_acked);
COUNTER_DEFINE(reval_policy_updates);

/* Flows seen in the dump in progress. */
static uint64_t flows_this_dump;

static int
revalidator_dispatch(struct worker *w, struct ipc_msg *m, struct errbuf *eb)
{
    switch (m->hdr.type) {
    case IPC_DUMP_SHARD: {
        const Dpif__DumpShard *s = (const Dpif__DumpShard *) m->msg;
        COUNTER_INC(reval_dump_shards);
        COUNTER_ADD(reval_dumped_flows, s->n_flows);
        flows_this_dump += s->n_flows;
        if (s->has_end_of_dump && s->end_of_dump) {
            Dpif__DumpAck ack = DPIF__DUMP_ACK__INIT;
            ack.dump_seq = s->dump_seq;
            ack.has_n_flows = true;
            ack.n_flows = flows_this_dump;
            flows_this_dump = 0;
            COUNTER_INC(reval_dumps_acked);
            return worker_send(w, IPC_DUMP_ACK, &ack.base, eb);
        }
        return 0;
    }
    case IPC_FLOW_ANNOUNCEMENT: {
        const Dpif__FlowAnnouncement *a = (const void *) m->msg;
        COUNTER_ADD(reval_announced_flows, a->n_flows);
        return 0;
    }
    case IPC_POLICY_UPDATE:
        COUNTER_INC(reval_policy_updates);
        return 0;
    default:
        return 0;
    }
}

static int
revalidator_main(int argc, char *argv[])
{
    struct errbuf eb = { "" };
    struct worker *w;
    struct poller p;
    int error;

    log_set_role("revalidator");
    if (worker_start(argc, argv, WORKER_ROLE_REVALIDATOR, &w, &eb)) {
        LOG_ERR("%s", eb.msg);
        return EXIT_FAILURE;
    }
    for (;;) {
        struct ipc_msg m;

        while (!(error = worker_recv(w, &m, &eb))) {
            error = revalidator_dispatch(w, &m, &eb);
            ipc_msg_destroy(&m);
            if (error) {
                break;
            }
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
    return revalidator_main(argc, argv);
}
