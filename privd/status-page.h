/*
 * privd/status-page.h — privd's side of the status page: create, publish,
 * share.
 *
 * The layout, the seqlock and the read-only sharing are described in
 * common/status-page.h.  privd keeps one page per datapath: the supervisor
 * creates it, publishes a new snapshot whenever a value changes (after a
 * dump, on a flow-limit change, on a policy reload) and attaches
 * status_page_fd() to every worker's HelloReply (REGION_USE_STATUS_PAGE).
 *
 * Ownership: a struct status_page owns its memfd and its writable mapping.
 * Single-threaded, like privd: there is exactly one writer.
 */
#ifndef PRIVD_STATUS_PAGE_H
#define PRIVD_STATUS_PAGE_H 1

#include "common/status-page.h"
#include "common/util.h"

struct status_page;

/* Creates a page holding 'initial', sealed so that no one else can ever
 * write it (see common/status-page.h).  Returns 0 or the errno of
 * memfd_create(), ftruncate(), mmap() or fcntl(). */
int status_page_create(const struct status_page_values *initial,
                       struct status_page **pagep, struct errbuf *eb);

/* Unmaps and closes.  NULL is fine. */
void status_page_destroy(struct status_page *);

/* Publishes 'values' as the page's new contents (seqlock write). */
void status_page_publish(struct status_page *,
                         const struct status_page_values *values);

/* The values last published. */
const struct status_page_values *status_page_get(const struct status_page *);

/* The memfd to share with workers (still owned by the page; SCM_RIGHTS
 * duplicates it). */
int status_page_fd(const struct status_page *);

/* The writable mapping, for tests that read it back. */
const struct status_page_shared *status_page_shared(const struct status_page *);

#endif /* privd/status-page.h */
