/*
 * privd/status-page.c — the writer side of the status page.
 */
#include "privd/status-page.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct status_page {
    int fd;                             /* The memfd, owned. */
    struct status_page_shared *shared;  /* Writable mapping, owned. */
    struct status_page_values values;   /* Last published values. */
};

int
status_page_create(const struct status_page_values *initial,
                   struct status_page **pagep, struct errbuf *eb)
{
    int fd = memfd_create("dpifd-status", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        return errbuf_set(eb, errno, "status page: memfd_create: %s",
                          strerror(errno));
    }
    if (ftruncate(fd, STATUS_PAGE_SIZE)) {
        int error = errno;
        close(fd);
        return errbuf_set(eb, error, "status page: ftruncate: %s",
                          strerror(error));
    }
    void *p = mmap(NULL, STATUS_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
                   fd, 0);
    if (p == MAP_FAILED) {
        int error = errno;
        close(fd);
        return errbuf_set(eb, error, "status page: mmap: %s",
                          strerror(error));
    }
    /* The writable mapping exists: from now on no other can be made. */
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW
              | F_SEAL_FUTURE_WRITE | F_SEAL_SEAL)) {
        int error = errno;
        munmap(p, STATUS_PAGE_SIZE);
        close(fd);
        return errbuf_set(eb, error, "status page: F_ADD_SEALS: %s",
                          strerror(error));
    }

    struct status_page *page = xzalloc(sizeof *page);
    page->fd = fd;
    page->shared = p;
    atomic_store_explicit(&page->shared->magic_version,
                          (uint64_t) STATUS_PAGE_MAGIC << 32
                          | STATUS_PAGE_VERSION, memory_order_release);
    status_page_publish(page, initial);
    *pagep = page;
    return 0;
}

void
status_page_destroy(struct status_page *page)
{
    if (page) {
        munmap(page->shared, STATUS_PAGE_SIZE);
        close(page->fd);
        free(page);
    }
}

#define STATUS_STORE(PAGE, FIELD, VALUE) \
    atomic_store_explicit(&(PAGE)->FIELD, (VALUE), memory_order_relaxed)

void
status_page_publish(struct status_page *page,
                    const struct status_page_values *v)
{
    struct status_page_shared *s = page->shared;
    uint64_t seq = atomic_load_explicit(&s->seq, memory_order_relaxed);

    /* Odd: readers retry until the matching even store below. */
    atomic_store_explicit(&s->seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    STATUS_STORE(s, flow_count, v->flow_count);
    STATUS_STORE(s, flow_limit, v->flow_limit);
    STATUS_STORE(s, dump_duration_msec, v->dump_duration_msec);
    STATUS_STORE(s, dump_seq, v->dump_seq);
    STATUS_STORE(s, policy_generation, v->policy_generation);
    STATUS_STORE(s, mac_table_generation, v->mac_table_generation);
    STATUS_STORE(s, avg_flows, v->avg_flows);
    STATUS_STORE(s, max_flows, v->max_flows);
    STATUS_STORE(s, megaflows, v->megaflows ? 1 : 0);
    atomic_store_explicit(&s->seq, seq + 2, memory_order_release);
    page->values = *v;
}

const struct status_page_values *
status_page_get(const struct status_page *page)
{
    return &page->values;
}

int
status_page_fd(const struct status_page *page)
{
    return page->fd;
}

const struct status_page_shared *
status_page_shared(const struct status_page *page)
{
    return page->shared;
}
