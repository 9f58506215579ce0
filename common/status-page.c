/*
 * status-page.c — the reader side of the status page (status-page.h).
 */
#include "common/status-page.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int
status_page_map(int fd, struct status_page_reader *reader, struct errbuf *eb)
{
    const int need = F_SEAL_FUTURE_WRITE | F_SEAL_SHRINK | F_SEAL_GROW;
    struct stat st;
    int error = 0;

    if (fstat(fd, &st)) {
        error = errbuf_set(eb, errno, "status page: fstat: %s",
                           strerror(errno));
    } else if (st.st_size != STATUS_PAGE_SIZE) {
        error = errbuf_set(eb, EINVAL, "status page is %lld bytes, not %d",
                           (long long) st.st_size, STATUS_PAGE_SIZE);
    } else {
        int seals = fcntl(fd, F_GET_SEALS);
        if (seals < 0) {
            error = errbuf_set(eb, errno, "status page: F_GET_SEALS: %s",
                               strerror(errno));
        } else if ((seals & need) != need) {
            error = errbuf_set(eb, EINVAL, "status page is not sealed "
                               "against writes (seals %#x)", seals);
        }
    }
    if (error) {
        close(fd);
        return error;
    }

    void *p = mmap(NULL, STATUS_PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
    error = p == MAP_FAILED ? errno : 0;
    close(fd);
    if (error) {
        return errbuf_set(eb, error, "status page: mmap: %s",
                          strerror(error));
    }
    const struct status_page_shared *page = p;
    uint64_t mv = atomic_load_explicit(&page->magic_version,
                                       memory_order_acquire);
    if (mv != ((uint64_t) STATUS_PAGE_MAGIC << 32 | STATUS_PAGE_VERSION)) {
        munmap(p, STATUS_PAGE_SIZE);
        return errbuf_set(eb, EINVAL, "status page has magic/version %#llx",
                          (unsigned long long) mv);
    }
    reader->page = page;
    return 0;
}

void
status_page_unmap(struct status_page_reader *reader)
{
    if (reader->page) {
        munmap((void *) reader->page, STATUS_PAGE_SIZE);
        reader->page = NULL;
    }
}

#define STATUS_LOAD(PAGE, FIELD) \
    atomic_load_explicit(&(PAGE)->FIELD, memory_order_relaxed)

int
status_page_read__(const struct status_page_shared *page,
                   struct status_page_values *values)
{
    for (int i = 0; i < STATUS_PAGE_READ_TRIES; i++) {
        uint64_t seq = atomic_load_explicit(&page->seq, memory_order_acquire);
        if (seq & 1) {
            continue;
        }
        struct status_page_values v = {
            .flow_count = STATUS_LOAD(page, flow_count),
            .flow_limit = STATUS_LOAD(page, flow_limit),
            .dump_duration_msec = STATUS_LOAD(page, dump_duration_msec),
            .dump_seq = STATUS_LOAD(page, dump_seq),
            .policy_generation = STATUS_LOAD(page, policy_generation),
            .mac_table_generation = STATUS_LOAD(page, mac_table_generation),
            .avg_flows = STATUS_LOAD(page, avg_flows),
            .max_flows = STATUS_LOAD(page, max_flows),
            .megaflows = STATUS_LOAD(page, megaflows) != 0,
        };
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&page->seq, memory_order_relaxed) == seq) {
            *values = v;
            return 0;
        }
    }
    return EAGAIN;
}

int
status_page_read(const struct status_page_reader *reader,
                 struct status_page_values *values)
{
    return status_page_read__(reader->page, values);
}

bool
status_page_values_equal(const struct status_page_values *a,
                         const struct status_page_values *b)
{
    return (a->flow_count == b->flow_count
            && a->flow_limit == b->flow_limit
            && a->dump_duration_msec == b->dump_duration_msec
            && a->dump_seq == b->dump_seq
            && a->policy_generation == b->policy_generation
            && a->mac_table_generation == b->mac_table_generation
            && a->avg_flows == b->avg_flows
            && a->max_flows == b->max_flows
            && a->megaflows == b->megaflows);
}
