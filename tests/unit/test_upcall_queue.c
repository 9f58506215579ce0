/* Unit tests for privd/upcall-queue.c: per-port FIFOs, round robin, the
 * special queue not lost behind a full port queue, pid validity, handler
 * changes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "privd/dpif.h"
#include "privd/upcall-queue.h"

/* Queues an upcall from 'in_port' whose one-byte packet is 'tag'. */
static int
push(struct upcall_queues *uq, uint32_t pid, uint32_t in_port, uint8_t tag)
{
    uint8_t key[4] = { 4, 0, 0, 0 };
    struct upcall_request req = {
        .type = DPIF_UC_MISS,
        .in_port = in_port,
        .packet = &tag,
        .packet_len = 1,
        .key = key,
        .key_len = sizeof key,
    };
    return upcall_queues_push(uq, pid, &req);
}

static void
test_round_robin_three_ports(void **state)
{
    (void) state;
    struct upcall_queues uq;
    struct dpif_upcall up;

    upcall_queues_init(&uq, 1, 8);
    dpif_upcall_init(&up);
    /* Port 1: a b c; port 2: d; port 3: e f. */
    assert_int_equal(push(&uq, 1, 1, 'a'), 0);
    assert_int_equal(push(&uq, 1, 1, 'b'), 0);
    assert_int_equal(push(&uq, 1, 1, 'c'), 0);
    assert_int_equal(push(&uq, 1, 2, 'd'), 0);
    assert_int_equal(push(&uq, 1, 3, 'e'), 0);
    assert_int_equal(push(&uq, 1, 3, 'f'), 0);
    assert_int_equal(upcall_queues_n_queued(&uq, 0), 6);
    const char *want = "adebfc";
    for (size_t i = 0; i < strlen(want); i++) {
        assert_int_equal(upcall_queues_pop(&uq, 0, &up), 0);
        assert_int_equal(up.packet.data[0], (uint8_t) want[i]);
        assert_int_equal(up.pid, 1);
        assert_int_equal(up.key.size, 4);
    }
    assert_int_equal(upcall_queues_pop(&uq, 0, &up), EAGAIN);
    assert_int_equal(upcall_queues_pop(&uq, 1, &up), EINVAL);
    dpif_upcall_uninit(&up);
    upcall_queues_destroy(&uq);
}

static void
test_special_queue_not_lost_behind_full_port(void **state)
{
    (void) state;
    struct upcall_queues uq;
    struct dpif_upcall up;

    upcall_queues_init(&uq, 2, 4);
    dpif_upcall_init(&up);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(push(&uq, 1, 5, 'p'), 0);
    }
    assert_int_equal(push(&uq, 1, 5, 'p'), ENOBUFS);
    /* Same port, special channel: its own queue. */
    assert_int_equal(push(&uq, UPCALL_SPECIAL_PID, 5, 's'), 0);
    /* Unknown pids. */
    assert_int_equal(push(&uq, 0, 5, 'x'), ENOENT);
    assert_int_equal(push(&uq, 3, 5, 'x'), ENOENT);
    assert_true(upcall_queues_pid_is_valid(&uq, 2));
    assert_true(upcall_queues_pid_is_valid(&uq, UPCALL_SPECIAL_PID));
    assert_false(upcall_queues_pid_is_valid(&uq, 3));
    /* The special upcall comes second (round robin in handler 0). */
    assert_int_equal(upcall_queues_pop(&uq, 0, &up), 0);
    assert_int_equal(up.packet.data[0], 'p');
    assert_int_equal(upcall_queues_pop(&uq, 0, &up), 0);
    assert_int_equal(up.packet.data[0], 's');
    assert_int_equal(up.pid, UPCALL_SPECIAL_PID);

    /* A change of handler count drops what is queued. */
    assert_int_equal(push(&uq, 2, 6, 'q'), 0);
    assert_int_equal(upcall_queues_set_handlers(&uq, 3), 4);
    assert_int_equal(upcall_queues_pop(&uq, 0, &up), EAGAIN);
    assert_int_equal(upcall_queues_pop(&uq, 1, &up), EAGAIN);
    assert_true(upcall_queues_pid_is_valid(&uq, 3));
    dpif_upcall_uninit(&up);
    upcall_queues_destroy(&uq);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_robin_three_ports),
        cmocka_unit_test(test_special_queue_not_lost_behind_full_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
