#include "common/counters.h"

#include <stdlib.h>
#include <string.h>

static struct counter *counters;

void
counter_register(struct counter *c)
{
    /* Keep the list sorted by name so every listing is stable. */
    struct counter **p = &counters;
    while (*p && strcmp((*p)->name, c->name) < 0) {
        p = &(*p)->next;
    }
    c->next = *p;
    *p = c;
}

void
counters_for_each(void (*cb)(const char *name, uint64_t value, void *aux),
                  void *aux)
{
    for (const struct counter *c = counters; c; c = c->next) {
        cb(c->name, c->value, aux);
    }
}

uint64_t
counter_get(const char *name)
{
    for (const struct counter *c = counters; c; c = c->next) {
        if (!strcmp(c->name, name)) {
            return c->value;
        }
    }
    return 0;
}
