/* Tests of privd's netlink sockets (privd/netlink-socket.c) against the
 * local kernel's generic netlink controller: only the kernel is listened
 * to.  A datagram that another process unicasts to privd's port id (as a
 * compromised worker could, through its own netlink socket) is dropped and
 * counted, and cannot answer privd's request, even with the sequence
 * number privd would have used before they became random. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/counters.h"
#include "privd/netlink-socket.h"

/* A netlink socket of another process: bound, able to unicast. */
static int
forger_open(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
    return fd;
}

/* Sends 'to' an NLMSG_ERROR "answer" with sequence number 'seq' and error
 * -'error' (0: an ack). */
static void
forge_answer(int fd, uint32_t to, uint32_t seq, int error)
{
    struct {
        struct nlmsghdr hdr;
        struct nlmsgerr err;
    } m;
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_pid = to };

    memset(&m, 0, sizeof m);
    m.hdr.nlmsg_len = sizeof m;
    m.hdr.nlmsg_type = NLMSG_ERROR;
    m.hdr.nlmsg_seq = seq;
    m.hdr.nlmsg_pid = to;
    m.err.error = -error;
    m.err.msg.nlmsg_seq = seq;
    assert_int_equal(sendto(fd, &m, sizeof m, 0, (struct sockaddr *) &sa,
                            sizeof sa), (ssize_t) sizeof m);
}

/* CTRL_CMD_GETFAMILY for "nlctrl": always answered by the kernel. */
static void
getfamily_request(struct buf *b)
{
    struct {
        struct nlmsghdr hdr;
        struct genlmsghdr genl;
        struct nlattr attr;
        char name[8];
    } m;

    memset(&m, 0, sizeof m);
    m.hdr.nlmsg_len = sizeof m;
    m.hdr.nlmsg_type = GENL_ID_CTRL;
    m.hdr.nlmsg_flags = NLM_F_REQUEST;
    m.genl.cmd = CTRL_CMD_GETFAMILY;
    m.genl.version = 1;
    m.attr.nla_len = sizeof m.attr + sizeof "nlctrl";
    m.attr.nla_type = CTRL_ATTR_FAMILY_NAME;
    memcpy(m.name, "nlctrl", sizeof "nlctrl");
    buf_clear(b);
    buf_put(b, &m, sizeof m);
}

static void
foreign_datagram_is_dropped(void **state)
{
    struct nlsock *sock;
    struct buf b;

    (void) state;
    assert_int_equal(nlsock_create(NETLINK_GENERIC, &sock), 0);
    int forger = forger_open();
    uint64_t n = counter_get("netlink_foreign_sender");

    forge_answer(forger, nlsock_pid(sock), 1, 0);
    buf_init(&b, 0);
    assert_int_equal(nlsock_recv(sock, &b, false), EAGAIN);
    assert_int_equal(counter_get("netlink_foreign_sender"), n + 1);

    buf_uninit(&b);
    close(forger);
    nlsock_destroy(sock);
}

/* Forged answers queued ahead of the kernel's, one with the sequence
 * number privd used to start at (pid << 16 | 1): the transaction still
 * gets the kernel's answer. */
static void
forged_answer_cannot_answer_a_request(void **state)
{
    struct nlsock *sock;
    struct buf req, reply;

    (void) state;
    assert_int_equal(nlsock_create(NETLINK_GENERIC, &sock), 0);
    int forger = forger_open();
    uint32_t old_first = (uint32_t) getpid() << 16 | 1;
    uint64_t n = counter_get("netlink_foreign_sender");

    forge_answer(forger, nlsock_pid(sock), old_first, EPERM);
    forge_answer(forger, nlsock_pid(sock), old_first + 1, EPERM);
    buf_init(&req, 0);
    buf_init(&reply, 0);
    getfamily_request(&req);
    assert_int_equal(nlsock_transact(sock, &req, &reply), 0);
    assert_true(reply.size > sizeof(struct nlmsghdr));
    const struct nlmsghdr *h
        = (const struct nlmsghdr *) (const void *) reply.data;
    assert_int_equal(h->nlmsg_type, GENL_ID_CTRL);
    assert_int_equal(counter_get("netlink_foreign_sender"), n + 2);

    buf_uninit(&req);
    buf_uninit(&reply);
    close(forger);
    nlsock_destroy(sock);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(foreign_datagram_is_dropped),
        cmocka_unit_test(forged_answer_cannot_answer_a_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
