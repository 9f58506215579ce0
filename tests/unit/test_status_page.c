/* Unit tests for the status page (common/status-page.h,
 * privd/status-page.h): what privd publishes a reader sees, consistently;
 * the fd a worker gets cannot be written through, by any means; a page
 * without the seals, or of the wrong size, is refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/status-page.h"
#include "privd/status-page.h"

static const struct status_page_values initial = {
    .flow_count = 3, .flow_limit = 200000, .dump_duration_msec = 12,
    .dump_seq = 4, .policy_generation = 5, .mac_table_generation = 6,
    .avg_flows = 7, .max_flows = 8, .megaflows = true,
};

static void
published_values_are_read(void **state)
{
    struct status_page *page;
    struct status_page_reader reader = { NULL };
    struct status_page_values v;

    (void) state;
    assert_int_equal(status_page_create(&initial, &page, NULL), 0);
    assert_int_equal(status_page_map(dup(status_page_fd(page)), &reader,
                                     NULL), 0);
    assert_int_equal(status_page_read(&reader, &v), 0);
    assert_true(status_page_values_equal(&v, &initial));

    struct status_page_values next = initial;
    next.flow_limit = 1000;
    next.megaflows = false;
    status_page_publish(page, &next);
    assert_int_equal(status_page_read(&reader, &v), 0);
    assert_int_equal(v.flow_limit, 1000);
    assert_false(v.megaflows);
    /* The seqlock counter is even after every publish. */
    assert_int_equal(atomic_load(&status_page_shared(page)->seq) % 2, 0);
    status_page_unmap(&reader);
    status_page_destroy(page);
}

static void
worker_cannot_write(void **state)
{
    struct status_page *page;
    struct status_page_reader reader = { NULL };

    (void) state;
    assert_int_equal(status_page_create(&initial, &page, NULL), 0);
    int fd = status_page_fd(page);

    /* No writable mapping, no write(), no growing or shrinking. */
    errno = 0;
    assert_ptr_equal(mmap(NULL, STATUS_PAGE_SIZE, PROT_READ | PROT_WRITE,
                          MAP_SHARED, fd, 0), MAP_FAILED);
    assert_int_equal(errno, EPERM);
    assert_int_equal(pwrite(fd, "x", 1, 0), -1);
    assert_int_equal(errno, EPERM);
    assert_int_not_equal(ftruncate(fd, 2 * STATUS_PAGE_SIZE), 0);
    assert_int_not_equal(fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE), 0);

    /* A read-only mapping cannot be made writable. */
    assert_int_equal(status_page_map(dup(fd), &reader, NULL), 0);
    assert_int_not_equal(mprotect((void *) reader.page, STATUS_PAGE_SIZE,
                                  PROT_READ | PROT_WRITE), 0);
    status_page_unmap(&reader);
    status_page_destroy(page);
}

static void
unsealed_page_refused(void **state)
{
    struct status_page_reader reader = { NULL };
    struct errbuf eb = { "" };

    (void) state;
    int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, STATUS_PAGE_SIZE), 0);
    assert_int_equal(status_page_map(fd, &reader, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "not sealed"));

    fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    assert_int_equal(ftruncate(fd, 2 * STATUS_PAGE_SIZE), 0);
    assert_int_equal(status_page_map(fd, &reader, &eb), EINVAL);
    assert_non_null(strstr(eb.msg, "bytes"));
    assert_null(reader.page);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(published_values_are_read),
        cmocka_unit_test(worker_cannot_write),
        cmocka_unit_test(unsealed_page_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
