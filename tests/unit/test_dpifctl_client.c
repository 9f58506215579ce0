/* test_dpifctl_client.c — dpifctl against a fake dpifd: a forked child
 * that listens on a real AF_UNIX SOCK_SEQPACKET socket in a temporary
 * directory and answers with scripted replies.  Covers the client's error
 * messages (no socket, refused, timeout, closed, wrong sequence, wrong
 * result), server errors (exit 1, "dpifctl: CMD: reason", the permission
 * hint) and the paged exchanges of dump-flows, capture and add-if. */
#include <errno.h>
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/client.h"
#include "cli/dpifctl.h"
#include "common/ipc.h"
#include "json_check.h"

/* What the fake server does with request number 'n' (0-based) of its
 * connection: fills 'reply' (and may change '*seq'), or returns false to
 * close the connection without replying.  Runs in the child. */
typedef bool fake_handler(unsigned int n, const Dpif__Request *req,
                          Dpif__Reply *reply, uint32_t *seq);

struct fixture {
    char dir[64];
    char path[128];
    pid_t child;
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/test_dpifctl_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/dpifd.ctl", f->dir);
    f->child = -1;
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    if (f->child > 0) {
        kill(f->child, SIGKILL);
        waitpid(f->child, NULL, 0);
    }
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Binds the socket (so that the client cannot race the child) and forks a
 * child that serves one connection with 'handler'.  A request that the
 * handler does not expect makes the child exit with status 3. */
static void
fake_server_start(struct fixture *f, fake_handler *handler)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    assert_true(lfd >= 0);
    strcpy(sun.sun_path, f->path);
    assert_int_equal(bind(lfd, (struct sockaddr *) &sun, sizeof sun), 0);
    assert_int_equal(listen(lfd, 4), 0);

    f->child = fork();
    assert_true(f->child >= 0);
    if (f->child) {
        close(lfd);
        return;
    }

    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
        _exit(2);
    }
    struct ipc_conn conn;
    ipc_conn_init(&conn, fd, IPC_ACCEPT_FROM_CLIENT);
    for (unsigned int n = 0;; n++) {
        struct ipc_msg m;
        if (ipc_recv(&conn, &m, NULL)) {
            break;
        }
        Dpif__Reply reply = DPIF__REPLY__INIT;
        uint32_t seq = m.hdr.seq;
        bool send = handler(n, (const Dpif__Request *) m.msg, &reply, &seq);
        if (send && ipc_send(&conn, IPC_CONTROL_REPLY, seq, &reply.base,
                             NULL, 0, NULL)) {
            _exit(4);
        }
        ipc_msg_destroy(&m);
        if (!send) {
            break;
        }
    }
    ipc_conn_close(&conn);
    _exit(0);
}

struct result {
    int status;
    char *out;
    char *err;
};

static struct result
run(struct fixture *f, const char *line)
{
    char *copy = strdup(line);
    char *argv[64];
    int argc = 0;
    struct result r;
    size_t out_len, err_len;

    argv[argc++] = "dpifctl";
    argv[argc++] = "--socket";
    argv[argc++] = f->path;
    argv[argc++] = "--timeout";
    argv[argc++] = "2000";
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w;
         w = strtok_r(NULL, " ", &save)) {
        argv[argc++] = w;
    }
    argv[argc] = NULL;

    FILE *out = open_memstream(&r.out, &out_len);
    FILE *err = open_memstream(&r.err, &err_len);
    r.status = dpifctl_main(argc, argv, out, err);
    fclose(out);
    fclose(err);
    free(copy);
    return r;
}

static void
result_free(struct result *r)
{
    free(r->out);
    free(r->err);
}

/* Waits for the child and checks that it saw what it expected. */
static void
fake_server_wait(struct fixture *f)
{
    int status;
    assert_int_equal(waitpid(f->child, &status, 0), f->child);
    f->child = -1;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ----- handlers (run in the child) -------------------------------------- */

static bool
reply_show_one_dp(unsigned int n, const Dpif__Request *req,
                  Dpif__Reply *reply, uint32_t *seq)
{
    static Dpif__DatapathInfo dp = DPIF__DATAPATH_INFO__INIT;
    static Dpif__DatapathInfo *dps[] = { &dp };
    static Dpif__ShowReply show = DPIF__SHOW_REPLY__INIT;

    if (n || req->command_case != DPIF__REQUEST__COMMAND_SHOW
        || !req->show->dp || strcmp(req->show->dp, "dp0")) {
        _exit(3);
    }
    dp.name = "dp0";
    dp.type = "dummy";
    show.n_dps = 1;
    show.dps = dps;
    reply->result_case = DPIF__REPLY__RESULT_SHOW;
    reply->show = &show;
    return true;
}

static bool
reply_eacces(unsigned int n, const Dpif__Request *req, Dpif__Reply *reply,
             uint32_t *seq)
{
    reply->error = EACCES;
    return true;
}

static bool
reply_enoent_with_reason(unsigned int n, const Dpif__Request *req,
                         Dpif__Reply *reply, uint32_t *seq)
{
    reply->error = ENOENT;
    reply->reason = "no datapath named dp9";
    return true;
}

static bool
reply_never(unsigned int n, const Dpif__Request *req, Dpif__Reply *reply,
            uint32_t *seq)
{
    sleep(10);
    return false;
}

static bool
reply_close(unsigned int n, const Dpif__Request *req, Dpif__Reply *reply,
            uint32_t *seq)
{
    return false;
}

static bool
reply_wrong_seq(unsigned int n, const Dpif__Request *req, Dpif__Reply *reply,
                uint32_t *seq)
{
    static Dpif__DumpDpsReply dd = DPIF__DUMP_DPS_REPLY__INIT;
    reply->result_case = DPIF__REPLY__RESULT_DUMP_DPS;
    reply->dump_dps = &dd;
    *seq += 1;
    return true;
}

static bool
reply_wrong_result(unsigned int n, const Dpif__Request *req,
                   Dpif__Reply *reply, uint32_t *seq)
{
    static Dpif__ProcsReply procs = DPIF__PROCS_REPLY__INIT;
    reply->result_case = DPIF__REPLY__RESULT_PROCS;
    reply->procs = &procs;
    return true;
}

/* dump-flows without DP: dump-dps, then two pages with a cursor. */
static bool
reply_dump_flows_paged(unsigned int n, const Dpif__Request *req,
                       Dpif__Reply *reply, uint32_t *seq)
{
    static Dpif__DpName name = DPIF__DP_NAME__INIT;
    static Dpif__DpName *names[] = { &name };
    static Dpif__DumpDpsReply dd = DPIF__DUMP_DPS_REPLY__INIT;
    static Dpif__Flow flow = DPIF__FLOW__INIT;
    static Dpif__Flow *flows[] = { &flow };
    static Dpif__DumpFlowsReply page = DPIF__DUMP_FLOWS_REPLY__INIT;
    /* in_port(5): type 3, length 8, value 5 (host order). */
    static uint32_t key[2];

    if (n == 0) {
        if (req->command_case != DPIF__REQUEST__COMMAND_DUMP_DPS) {
            _exit(3);
        }
        name.name = "only";
        name.type = "dummy";
        dd.n_dps = 1;
        dd.dps = names;
        reply->result_case = DPIF__REPLY__RESULT_DUMP_DPS;
        reply->dump_dps = &dd;
        return true;
    }
    const Dpif__DumpFlowsRequest *d = req->dump_flows;
    if (req->command_case != DPIF__REQUEST__COMMAND_DUMP_FLOWS
        || strcmp(d->dp, "only") || n > 2
        || d->has_cursor != (n == 2)
        || (n == 2 && (d->cursor.len != 3
                       || memcmp(d->cursor.data, "abc", 3)))) {
        _exit(3);
    }
    memcpy(key, "\x08\x00\x03\x00\x05\x00\x00\x00", 8);
    flow.has_key = flow.has_actions = true;
    flow.key.data = (uint8_t *) key;
    flow.key.len = sizeof key;
    flow.actions.len = 0;
    page.n_flows = 1;
    page.flows = flows;
    page.more = n == 1;
    page.has_cursor = n == 1;
    page.cursor.data = (uint8_t *) "abc";
    page.cursor.len = 3;
    reply->result_case = DPIF__REPLY__RESULT_DUMP_FLOWS;
    reply->dump_flows = &page;
    return true;
}

/* capture --clear: two pages, then done. */
static bool
reply_capture_paged(unsigned int n, const Dpif__Request *req,
                    Dpif__Reply *reply, uint32_t *seq)
{
    static Dpif__CapturedFrame fr = DPIF__CAPTURED_FRAME__INIT;
    static Dpif__CapturedFrame *frames[] = { &fr };
    static Dpif__CaptureReply c = DPIF__CAPTURE_REPLY__INIT;

    if (req->command_case != DPIF__REQUEST__COMMAND_CAPTURE || n > 1
        || !req->capture->clear || req->capture->port_no != 2) {
        _exit(3);
    }
    fr.port_no = 2;
    fr.frame.data = (uint8_t *) (n ? "\x02" : "\x01");
    fr.frame.len = 1;
    fr.has_time_msec = true;
    fr.time_msec = 5;
    c.n_frames = 1;
    c.frames = frames;
    c.more = n == 0;
    reply->result_case = DPIF__REPLY__RESULT_CAPTURE;
    reply->capture = &c;
    return true;
}

/* add-if with two ports: two requests, two port numbers; a failure on a
 * third. */
static bool
reply_add_if(unsigned int n, const Dpif__Request *req, Dpif__Reply *reply,
             uint32_t *seq)
{
    static Dpif__AddIfReply ai = DPIF__ADD_IF_REPLY__INIT;

    if (req->command_case != DPIF__REQUEST__COMMAND_ADD_IF) {
        _exit(3);
    }
    if (!strcmp(req->add_if->name, "bad")) {
        reply->error = EEXIST;
        return true;
    }
    ai.port_no = 10 + n;
    reply->result_case = DPIF__REPLY__RESULT_ADD_IF;
    reply->add_if = &ai;
    return true;
}

/* ----- tests ------------------------------------------------------------- */

static void
client_no_socket_says_is_dpifd_running(void **state)
{
    struct fixture *f = *state;
    struct result r = run(f, "show");

    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    char want[256];
    snprintf(want, sizeof want, "dpifctl: cannot connect to %s: No such "
             "file or directory (is dpifd running?)\n", f->path);
    assert_string_equal(r.err, want);
    assert_string_equal(r.out, "");
    result_free(&r);
}

static void
client_socket_without_listener_is_refused(void **state)
{
    struct fixture *f = *state;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);

    strcpy(sun.sun_path, f->path);
    assert_int_equal(bind(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    close(fd);                  /* Bound, never listened: refused. */
    struct result r = run(f, "procs");
    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    assert_non_null(strstr(r.err, "Connection refused (is dpifd "
                                  "running?)"));
    result_free(&r);
}

/* The socket is mode 0 (and, when run as root, the caller becomes
 * "nobody", which cannot even reach the 0700 directory): EACCES either
 * way, with the hint about the groups. */
static void
client_permission_hint_on_unreadable_socket(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_close);
    assert_int_equal(chmod(f->path, 0), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        if (geteuid() == 0
            && (setresgid(65534, 65534, 65534) || setgroups(0, NULL)
                || setresuid(65534, 65534, 65534))) {
            _exit(2);
        }
        struct result r = run(f, "show");
        bool ok = (r.status == DPIFCTL_EXIT_FAILED
                   && strstr(r.err, "Permission denied (need group dpifd, "
                             "or dpifd-admin for changes)"));
        _exit(ok ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void
client_show_round_trip(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_show_one_dp);
    struct result r = run(f, "show dp0");
    assert_int_equal(r.status, DPIFCTL_EXIT_OK);
    assert_string_equal(r.out, "dummy@dp0:\n"
                               "  lookups: hit:- missed:- lost:-\n"
                               "  flows: -\n"
                               "  masks: total:-\n"
                               "  ports: none\n");
    assert_string_equal(r.err, "");
    result_free(&r);
    fake_server_wait(f);
}

static void
client_server_error_exits_1_with_reason(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_enoent_with_reason);
    struct result r = run(f, "del-dp dp9");
    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    assert_string_equal(r.err, "dpifctl: del-dp: no datapath named dp9\n");
    result_free(&r);
    fake_server_wait(f);
}

static void
client_denied_change_names_the_group(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_eacces);
    struct result r = run(f, "add-dp dp0");
    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    assert_string_equal(r.err, "dpifctl: add-dp: Permission denied "
                        "(changes need root or group dpifd-admin)\n");
    result_free(&r);
    fake_server_wait(f);
}

static void
client_times_out(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_never);
    struct result r = run(f, "procs --timeout 200");
    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    assert_string_equal(r.err, "dpifctl: procs: no reply from dpifd within "
                        "200 ms (see --timeout)\n");
    result_free(&r);
}

static void
client_peer_closes(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_close);
    struct result r = run(f, "metrics");
    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    assert_string_equal(r.err, "dpifctl: metrics: dpifd closed the "
                        "connection without replying\n");
    result_free(&r);
    fake_server_wait(f);
}

static void
client_rejects_wrong_sequence_and_wrong_result(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_wrong_seq);
    struct result r = run(f, "dump-dps");
    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    assert_non_null(strstr(r.err, "bad reply from dpifd: sequence number"));
    assert_string_equal(r.out, "");
    result_free(&r);
    fake_server_wait(f);

    unlink(f->path);            /* A new server binds it again. */
    fake_server_start(f, reply_wrong_result);
    r = run(f, "dump-dps");
    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    assert_non_null(strstr(r.err, "does not answer request"));
    result_free(&r);
    fake_server_wait(f);
}

static void
client_dump_flows_finds_the_dp_and_follows_the_cursor(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_dump_flows_paged);
    struct result r = run(f, "dump-flows");
    assert_int_equal(r.status, DPIFCTL_EXIT_OK);
    assert_string_equal(r.out,
        "in_port(5), packets:0, bytes:0, used:never, actions:drop\n"
        "in_port(5), packets:0, bytes:0, used:never, actions:drop\n");
    result_free(&r);
    fake_server_wait(f);

    unlink(f->path);            /* A new server binds it again. */
    fake_server_start(f, reply_dump_flows_paged);
    r = run(f, "dump-flows --format json");
    assert_int_equal(r.status, DPIFCTL_EXIT_OK);
    assert_true(json_check(r.out, strlen(r.out), NULL, 0));
    assert_non_null(strstr(r.out, "\"match\": \"in_port(5)\""));
    result_free(&r);
    fake_server_wait(f);
}

static void
client_capture_clear_reads_everything(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_capture_paged);
    struct result r = run(f, "capture dp0 2 --clear -f json");
    assert_int_equal(r.status, DPIFCTL_EXIT_OK);
    assert_true(json_check(r.out, strlen(r.out), NULL, 0));
    assert_non_null(strstr(r.out, "\"frame\": \"01\""));
    assert_non_null(strstr(r.out, "\"frame\": \"02\""));
    assert_non_null(strstr(r.out, "\"more\": false"));
    result_free(&r);
    fake_server_wait(f);
}

static void
client_add_if_sends_one_request_per_port(void **state)
{
    struct fixture *f = *state;

    fake_server_start(f, reply_add_if);
    struct result r = run(f, "add-if --format json dp0 a b");
    assert_int_equal(r.status, DPIFCTL_EXIT_OK);
    assert_string_equal(r.out,
        "{\n"
        "  \"ports\": [\n"
        "    {\n"
        "      \"name\": \"a\",\n"
        "      \"port_no\": 10\n"
        "    },\n"
        "    {\n"
        "      \"name\": \"b\",\n"
        "      \"port_no\": 11\n"
        "    }\n"
        "  ]\n"
        "}\n");
    result_free(&r);
    fake_server_wait(f);

    unlink(f->path);
    fake_server_start(f, reply_add_if);
    r = run(f, "add-if dp0 a bad c");
    assert_int_equal(r.status, DPIFCTL_EXIT_FAILED);
    assert_string_equal(r.err, "dpifctl: add-if: File exists\n");
    result_free(&r);
    fake_server_wait(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(client_no_socket_says_is_dpifd_running),
        T(client_socket_without_listener_is_refused),
        T(client_permission_hint_on_unreadable_socket),
        T(client_show_round_trip),
        T(client_server_error_exits_1_with_reason),
        T(client_denied_change_names_the_group),
        T(client_times_out),
        T(client_peer_closes),
        T(client_rejects_wrong_sequence_and_wrong_result),
        T(client_dump_flows_finds_the_dp_and_follows_the_cursor),
        T(client_capture_clear_reads_everything),
        T(client_add_if_sends_one_request_per_port),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
