/*
 * worker-stats.c — what privd tells about its workers (supervisor.h,
 * supervisor-internal.h): their processes and /proc status, and the
 * counters and gauges they last reported, summed or one by one.
 */
#include "privd/supervisor-internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "privd/dpif.h"
#include "privd/privd.h"
#include "privd/spawner.h"
void
sup_worker_clear_counters(struct sup_worker *w)
{
    for (size_t i = 0; i < w->n_counters; i++) {
        free(w->counters[i].name);
    }
    free(w->counters);
    w->counters = NULL;
    w->n_counters = 0;
    for (size_t i = 0; i < w->n_gauges; i++) {
        free(w->gauges[i].name);
    }
    free(w->gauges);
    w->gauges = NULL;
    w->n_gauges = 0;
}

/* ----- introspection ----------------------------------------------------------------- */

void
proc_read_status(pid_t pid, uid_t *uidp, uint64_t *capp)
{
    char path[64], line[256];
    FILE *f;

    *uidp = (uid_t) -1;
    *capp = 0;
    snprintf(path, sizeof path, "/proc/%ld/status", (long) pid);
    f = fopen(path, "re");
    if (!f) {
        return;
    }
    while (fgets(line, sizeof line, f)) {
        unsigned long uid;
        unsigned long long cap;
        if (sscanf(line, "Uid: %lu", &uid) == 1) {
            *uidp = (uid_t) uid;
        } else if (sscanf(line, "CapEff: %llx", &cap) == 1) {
            *capp = cap;
        }
    }
    fclose(f);
}

void
supervisor_for_each_proc(const struct supervisor *sup,
                         void (*cb)(const struct proc_info *, void *aux),
                         void *aux)
{
    if (sup->privd->spawner) {
        struct proc_info info = {
            .role = "spawner",
            .pid = spawner_get_pid(sup->privd->spawner),
            .state = "running",
            .start_msec = sup->privd->start_msec, /* Forked at startup. */
            .last_exit_reason = "",
        };
        proc_read_status(info.pid, &info.uid, &info.cap_eff);
        cb(&info, aux);
    }
    SUP_FOR_EACH_WORKER (w, sup) {
        static const char *const states[] = {
            [SUP_DOWN] = "down",
            [SUP_HELLO] = "starting",
            [SUP_UP] = "running",
            [SUP_DYING] = "stopping",
        };
        bool stuck = w->state == SUP_UP && w->stuck_since;
        struct proc_info info = {
            .role = sup_role_name(w),
            .id = w->id,
            .dp = dpif_name(w->dp->pdp->dpif),
            .state = stuck ? "stuck" : states[w->state],
            .pid = w->pid,
            .uid = (uid_t) -1,
            .start_msec = w->start_msec,
            .restarts = w->restarts,
            .last_exit_reason = w->last_exit,
        };
        if (w->pid) {
            proc_read_status(w->pid, &info.uid, &info.cap_eff);
        }
        cb(&info, aux);
    }
}


void
supervisor_for_each_counter(const struct supervisor *sup,
                            void (*cb)(const char *name, uint64_t value,
                                       void *aux),
                            void *aux)
{
    /* Sums by role and name: for each counter, add up the same name in
     * every later worker of the role unless an earlier one already
     * reported it. */
    size_t n_workers = sup->n_dps * (sup->n_handlers + sup->n_revalidators);
    for (size_t a = 0; a < n_workers; a++) {
        const struct sup_worker *wa = sup_worker_at(
            sup, a / (sup->n_handlers + sup->n_revalidators),
            a % (sup->n_handlers + sup->n_revalidators));
        for (size_t i = 0; i < wa->n_counters; i++) {
            const char *name = wa->counters[i].name;
            bool seen = false;
            uint64_t sum = 0;

            for (size_t b = 0; b < n_workers && !seen; b++) {
                const struct sup_worker *wb = sup_worker_at(
                    sup, b / (sup->n_handlers + sup->n_revalidators),
                    b % (sup->n_handlers + sup->n_revalidators));
                if (wb->role != wa->role) {
                    continue;
                }
                for (size_t j = 0; j < wb->n_counters; j++) {
                    if (!strcmp(wb->counters[j].name, name)) {
                        if (b < a) {
                            seen = true;
                        }
                        sum += wb->counters[j].value;
                        break;
                    }
                }
            }
            if (!seen) {
                char full[IPC_MAX_NAME + 32];
                snprintf(full, sizeof full, "%s/%s", sup_role_name(wa), name);
                cb(full, sum, aux);
            }
        }
    }
}

void
supervisor_for_each_worker_counter(
    const struct supervisor *sup,
    void (*cb)(const char *process, const char *name, uint64_t value,
               void *aux),
    void *aux)
{
    SUP_FOR_EACH_WORKER (w, sup) {
        char process[64];
        if (sup->n_dps > 1) {
            snprintf(process, sizeof process, "%s%u@%s", sup_role_name(w),
                     w->index, w->dp->pdp->dpif ? dpif_name(w->dp->pdp->dpif)
                                                : "?");
        } else {
            snprintf(process, sizeof process, "%s%u", sup_role_name(w),
                     w->index);
        }
        for (size_t i = 0; i < w->n_counters; i++) {
            cb(process, w->counters[i].name, w->counters[i].value, aux);
        }
    }
}


/* ----- upcall/show -------------------------------------------------------- */

unsigned int
supervisor_n_workers(const struct supervisor *sup, int role)
{
    return (role == WORKER_ROLE_HANDLER ? sup->n_handlers
            : role == WORKER_ROLE_REVALIDATOR ? sup->n_revalidators : 0);
}

bool
supervisor_get_worker_counter(const struct supervisor *sup,
                              const struct privd_dp *pdp, int role,
                              unsigned int index, const char *name,
                              pid_t *pidp, uint64_t *valuep)
{
    const struct sup_dp *d = sup_find_dp(sup, pdp);

    *pidp = 0;
    if (!d || index >= supervisor_n_workers(sup, role)) {
        return false;
    }
    const struct sup_worker *w = (role == WORKER_ROLE_HANDLER
                                  ? &d->handlers[index]
                                  : &d->revalidators[index]);
    *pidp = w->state == SUP_UP ? w->pid : 0;
    for (size_t i = 0; i < w->n_counters + w->n_gauges; i++) {
        const struct sup_counter *c = (i < w->n_counters ? &w->counters[i]
                                       : &w->gauges[i - w->n_counters]);
        if (!strcmp(c->name, name)) {
            *valuep = c->value;
            return true;
        }
    }
    return false;
}
