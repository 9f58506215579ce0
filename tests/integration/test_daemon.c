/*
 * test_daemon.c — the real dpifd on the dummy datapath, driven over its
 * control socket as dpifctl would.
 *
 * Every test starts "dpifd --datapath dummy@br0 --port p1:dummy --port
 * p2:dummy --run-dir DIR/run" (plus what it needs) in a fresh temporary
 * directory, as the invoking user; when that user is root, dpifd drops to
 * the "dpifd" user, which the test creates if missing, and the permission
 * test runs clients as "nobody".  The client here speaks the control
 * protocol directly (common/ipc.h + proto/control.proto), so the tests
 * depend on the protocol only, not on dpifctl.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/flow.h"
#include "common/ipc.h"
#include "common/odp-actions.h"
#include "common/odp-key.h"
#include "common/packet.h"
#include "common/timeval.h"
#include "helpers/proc_status.h"
#include "helpers/skip.h"
#include "privd/control-server.h"
#include "proto/control.pb-c.h"

/* How long a daemon may take to start or stop (sanitizer builds are slow). */
#define WAIT_MSEC 20000

/* ----- the daemon under test --------------------------------------------- */

struct daemon {
    char dir[64];               /* Temporary directory of the test. */
    char run_dir[128];          /* DIR/run, made by dpifd. */
    char sock[192];             /* RUN_DIR/dpifd.ctl. */
    char log[128];              /* DIR/dpifd.log: dpifd's stdout+stderr. */
    char conf[128];             /* DIR/dpifd.conf, for tests that use one. */
    bool own_group;             /* dpifd leads its own process group, so
                                 * that a test can signal the group. */
    pid_t pid;                  /* dpifd, or 0. */
};

static void
sleep_msec(long msec)
{
    struct timespec ts = { msec / 1000, (msec % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void
write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

/* The whole of 'path' as a string (caller frees); "" if unreadable. */
static char *
read_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char *s = xzalloc(1 << 20);
    if (f) {
        size_t n = fread(s, 1, (1 << 20) - 1, f);
        s[n] = '\0';
        fclose(f);
    }
    return s;
}

static void
daemon_init(struct daemon *d)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/dpifd-test.XXXXXX");
    assert_non_null(mkdtemp(d->dir));
    /* dpifd runs as user "dpifd" after its drop when the test is root, and
     * clients as "nobody": both must reach the run directory. */
    assert_int_equal(chmod(d->dir, 0755), 0);
    snprintf(d->run_dir, sizeof d->run_dir, "%s/run", d->dir);
    snprintf(d->sock, sizeof d->sock, "%s/dpifd.ctl", d->run_dir);
    snprintf(d->log, sizeof d->log, "%s/dpifd.log", d->dir);
    snprintf(d->conf, sizeof d->conf, "%s/dpifd.conf", d->dir);
}

/* Runs dpifd with 'args' (NULL-terminated; argv[0] is added) with stdout
 * and stderr to the log, and returns its pid. */
static pid_t
dpifd_spawn(const struct daemon *d, const char *const *args)
{
    const char *argv[64];
    size_t n = 0;

    argv[n++] = DPIFD_BIN;
    for (; *args && n < ARRAY_SIZE(argv) - 1; args++) {
        argv[n++] = *args;
    }
    argv[n] = NULL;

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        if (d->own_group && setpgid(0, 0)) {
            _exit(125);
        }
        int fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
            _exit(126);
        }
        execv(DPIFD_BIN, (char **) argv);
        _exit(127);
    }
    return pid;
}

/* Runs dpifd with 'args' to completion; returns its exit status and its
 * output in '*outp' (caller frees). */
static int
dpifd_run(struct daemon *d, const char *const *args, char **outp)
{
    int status;
    unlink(d->log);
    pid_t pid = dpifd_spawn(d, args);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    *outp = read_file(d->log);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static bool
socket_answers(const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    bool ok = fd >= 0 && !connect(fd, (struct sockaddr *) &sun, sizeof sun);
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

/* Starts the standard switch plus 'extra' args (NULL-terminated, or NULL)
 * and waits until its control socket answers. */
static void
daemon_start(struct daemon *d, const char *const *extra)
{
    const char *args[48] = {
        "--datapath", "dummy@br0", "--port", "p1:dummy", "--port",
        "p2:dummy", "--run-dir", d->run_dir,
    };
    size_t n = 8;
    for (; extra && *extra; extra++) {
        args[n++] = *extra;
    }
    args[n] = NULL;

    d->pid = dpifd_spawn(d, args);
    long long deadline = time_msec() + WAIT_MSEC;
    while (!socket_answers(d->sock)) {
        int status;
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            char *log = read_file(d->log);
            fail_msg("dpifd exited (status %#x) before it was ready:\n%s",
                     status, log);
        }
        if (time_msec() > deadline) {
            fail_msg("dpifd did not open %s", d->sock);
        }
        sleep_msec(20);
    }
}

/* Sends 'sig' (to the whole process group with 'own_group') and returns
 * the exit status (-1 if killed by a signal). */
static int
daemon_stop(struct daemon *d, int sig)
{
    int status;
    assert_int_equal(kill(d->own_group ? -d->pid : d->pid, sig), 0);
    assert_int_equal(waitpid(d->pid, &status, 0), d->pid);
    d->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Kills a daemon still running, prints its log if $DPIFD_TEST_VERBOSE is
 * set (to debug a failure), and removes the test's directory. */
static void
daemon_cleanup(struct daemon *d)
{
    if (d->pid) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
    }
    if (getenv("DPIFD_TEST_VERBOSE")) {
        char *log = read_file(d->log);
        fprintf(stderr, "--- dpifd log ---\n%s--- end ---\n", log);
        free(log);
    }
    char *cmd = xasprintf("rm -rf '%s'", d->dir);
    if (system(cmd)) {
        fprintf(stderr, "could not remove %s\n", d->dir);
    }
    free(cmd);
}

static int
setup(void **state)
{
    if (!geteuid() && (!test_ensure_user("dpifd")
                       || !test_ensure_user("dpifd-worker"))) {
        return -1;
    }
    struct daemon *d = xzalloc(sizeof *d);
    daemon_init(d);
    *state = d;
    return 0;
}

static int
teardown(void **state)
{
    struct daemon *d = *state;
    daemon_cleanup(d);
    free(d);
    return 0;
}

/* ----- the client ---------------------------------------------------------- */

struct client {
    struct ipc_conn conn;       /* Socket to dpifd. */
    uint32_t seq;               /* Last request's sequence number. */
};

/* Connects to 'path'.  Returns 0 or the connect() errno. */
static int
client_open(struct client *c, const char *path)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct timeval tv = { WAIT_MSEC / 1000, 0 };
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    assert_true(fd >= 0);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
    if (connect(fd, (struct sockaddr *) &sun, sizeof sun)) {
        int error = errno;
        close(fd);
        return error;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ipc_conn_init(&c->conn, fd, IPC_ACCEPT_FROM_SERVER);
    c->seq = 0;
    return 0;
}

/* Sends 'rq' and receives the reply into '*m'.  Returns 0 or the errno of
 * the exchange (EPIPE: the server closed the connection). */
static int
client_call(struct client *c, const Dpif__Request *rq, struct ipc_msg *m)
{
    struct errbuf eb;
    int error = ipc_send(&c->conn, IPC_CONTROL_REQUEST, ++c->seq, &rq->base,
                         NULL, 0, &eb);
    if (!error) {
        error = ipc_recv(&c->conn, m, &eb);
    }
    if (!error) {
        assert_int_equal(m->hdr.seq, c->seq);
    }
    return error;
}

/* client_call() that must succeed at the transport level; returns the
 * reply, which lives in '*m'. */
static const Dpif__Reply *
call(struct client *c, const Dpif__Request *rq, struct ipc_msg *m)
{
    assert_int_equal(client_call(c, rq, m), 0);
    return (const Dpif__Reply *) m->msg;
}

/* A reply that must be a success of 'result'. */
static const Dpif__Reply *
call_ok(struct client *c, const Dpif__Request *rq, struct ipc_msg *m,
        Dpif__Reply__ResultCase result)
{
    const Dpif__Reply *rp = call(c, rq, m);
    if (rp->error) {
        fail_msg("request %d failed: %s (%s)", (int) rq->command_case,
                 strerror((int) rp->error), rp->reason ? rp->reason : "");
    }
    assert_int_equal(rp->result_case, result);
    return rp;
}

/* Builders of one-command requests. */
#define REQUEST(VAR, MEMBER, CASE, TYPE, INIT)                       \
    TYPE VAR##_body = INIT;                                          \
    Dpif__Request VAR = DPIF__REQUEST__INIT;                         \
    VAR.command_case = DPIF__REQUEST__COMMAND_##CASE;                \
    VAR.MEMBER = &VAR##_body

/* Value of counter 'name' (the sum over processes) as dpifd reports it. */
static uint64_t
get_counter(struct client *c, const char *name)
{
    REQUEST(rq, counters, COUNTERS, Dpif__CountersRequest,
            DPIF__COUNTERS_REQUEST__INIT);
    struct ipc_msg m;
    const Dpif__Reply *rp = call_ok(c, &rq, &m, DPIF__REPLY__RESULT_COUNTERS);
    uint64_t value = UINT64_MAX;
    for (size_t i = 0; i < rp->counters->n_counters; i++) {
        const Dpif__ProcValue *v = rp->counters->counters[i];
        if (!v->process && !strcmp(v->name, name)) {
            value = v->value;
        }
    }
    ipc_msg_destroy(&m);
    assert_int_not_equal(value, UINT64_MAX);
    return value;
}

/* A 64-byte test frame from 02:..:01 to 02:..:02 with ethertype 0x88b5
 * (local experimental) and a payload pattern starting with 'tag'. */
static void
make_frame(uint8_t frame[64], uint8_t tag)
{
    static const uint8_t hdr[14] = {
        0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01, 0x88, 0xb5,
    };
    memcpy(frame, hdr, sizeof hdr);
    for (size_t i = sizeof hdr; i < 64; i++) {
        frame[i] = (uint8_t) (tag + i);
    }
}

/* ----- tests ------------------------------------------------------------------ */

/* show lists br0 with its local port and p1, p2; procs lists privd. */
static void
show_lists_ports(void **state)
{
    struct daemon *d = *state;
    struct client c;
    struct ipc_msg m;

    daemon_start(d, NULL);
    assert_int_equal(client_open(&c, d->sock), 0);

    REQUEST(rq, show, SHOW, Dpif__ShowRequest, DPIF__SHOW_REQUEST__INIT);
    const Dpif__Reply *rp = call_ok(&c, &rq, &m, DPIF__REPLY__RESULT_SHOW);
    assert_int_equal(rp->show->n_dps, 1);
    const Dpif__DatapathInfo *dp = rp->show->dps[0];
    assert_string_equal(dp->name, "br0");
    assert_string_equal(dp->type, "dummy");
    assert_int_equal(dp->n_ports, 3);
    bool p1 = false, p2 = false;
    for (size_t i = 0; i < dp->n_ports; i++) {
        p1 |= !strcmp(dp->ports[i]->name, "p1")
              && !strcmp(dp->ports[i]->type, "dummy");
        p2 |= !strcmp(dp->ports[i]->name, "p2");
    }
    assert_true(p1 && p2);
    ipc_msg_destroy(&m);

    /* A datapath that does not exist. */
    rq_body.dp = "nope";
    rp = call(&c, &rq, &m);
    assert_int_equal(rp->error, ENOENT);
    ipc_msg_destroy(&m);

    REQUEST(pr, procs, PROCS, Dpif__ProcsRequest, DPIF__PROCS_REQUEST__INIT);
    rp = call_ok(&c, &pr, &m, DPIF__REPLY__RESULT_PROCS);
    assert_true(rp->procs->n_procs >= 1);
    assert_string_equal(rp->procs->procs[0]->role, "privd");
    assert_int_equal(rp->procs->procs[0]->pid, d->pid);
    ipc_msg_destroy(&m);

    ipc_conn_close(&c.conn);
    assert_int_equal(daemon_stop(d, SIGTERM), 0);
}

/* A flow p1 -> p2 installed with add-flow forwards an injected frame,
 * which capture on p2 returns byte for byte; dump-flows, get-flow, del-flow
 * and the statistics agree. */
static void
inject_follows_added_flow(void **state)
{
    struct daemon *d = *state;
    struct client c;
    struct ipc_msg m;
    struct errbuf eb;
    uint8_t frame[64];

    daemon_start(d, NULL);
    assert_int_equal(client_open(&c, d->sock), 0);

    make_frame(frame, 7);
    struct flow flow;
    packet_parse(frame, sizeof frame, 1, &flow, NULL);
    struct buf key, actions;
    buf_init(&key, 0);
    buf_init(&actions, 0);
    assert_int_equal(odp_key_from_flow(&key, &flow, &eb), 0);
    odp_put_output(&actions, 2);

    REQUEST(add, add_flow, ADD_FLOW, Dpif__AddFlowRequest,
            DPIF__ADD_FLOW_REQUEST__INIT);
    add_body.dp = "br0";
    add_body.key = (ProtobufCBinaryData) { key.size, key.data };
    add_body.actions = (ProtobufCBinaryData) { actions.size, actions.data };
    const Dpif__Reply *rp = call_ok(&c, &add, &m,
                                    DPIF__REPLY__RESULT_ADD_FLOW);
    assert_int_equal(rp->add_flow->ufid.len, 16);
    uint8_t ufid[16];
    memcpy(ufid, rp->add_flow->ufid.data, 16);
    ipc_msg_destroy(&m);

    /* The same flow again: EEXIST. */
    rp = call(&c, &add, &m);
    assert_int_equal(rp->error, EEXIST);
    ipc_msg_destroy(&m);

    /* Output to a port that does not exist: refused by validation. */
    struct buf bad;
    buf_init(&bad, 0);
    odp_put_output(&bad, 9);
    add_body.actions = (ProtobufCBinaryData) { bad.size, bad.data };
    rp = call(&c, &add, &m);
    assert_int_equal(rp->error, ENODEV);
    ipc_msg_destroy(&m);
    /* A malformed key: refused by the key codec. */
    uint8_t junk[8] = { 8, 0, 0x7f, 0x7f, 1, 2, 3, 4 };
    add_body.key = (ProtobufCBinaryData) { sizeof junk, junk };
    add_body.actions = (ProtobufCBinaryData) { actions.size, actions.data };
    rp = call(&c, &add, &m);
    assert_int_equal(rp->error, EINVAL);
    ipc_msg_destroy(&m);
    buf_uninit(&bad);

    REQUEST(inj, inject, INJECT, Dpif__InjectRequest,
            DPIF__INJECT_REQUEST__INIT);
    ProtobufCBinaryData frames[1] = { { sizeof frame, frame } };
    inj_body.dp = "br0";
    inj_body.port_no = 1;
    inj_body.n_frames = 1;
    inj_body.frames = frames;
    rp = call_ok(&c, &inj, &m, DPIF__REPLY__RESULT_INJECT);
    assert_int_equal(rp->inject->n_injected, 1);
    ipc_msg_destroy(&m);

    REQUEST(cap, capture, CAPTURE, Dpif__CaptureRequest,
            DPIF__CAPTURE_REQUEST__INIT);
    cap_body.dp = "br0";
    cap_body.has_port_no = true;
    cap_body.port_no = 2;
    cap_body.has_clear = true;
    cap_body.clear = true;
    rp = call_ok(&c, &cap, &m, DPIF__REPLY__RESULT_CAPTURE);
    assert_int_equal(rp->capture->n_frames, 1);
    assert_false(rp->capture->more);
    assert_int_equal(rp->capture->frames[0]->port_no, 2);
    assert_int_equal(rp->capture->frames[0]->frame.len, sizeof frame);
    assert_memory_equal(rp->capture->frames[0]->frame.data, frame,
                        sizeof frame);
    ipc_msg_destroy(&m);

    /* Cleared: nothing left on p2, and nothing went out on p1. */
    rp = call_ok(&c, &cap, &m, DPIF__REPLY__RESULT_CAPTURE);
    assert_int_equal(rp->capture->n_frames, 0);
    ipc_msg_destroy(&m);
    cap_body.port_no = 1;
    rp = call_ok(&c, &cap, &m, DPIF__REPLY__RESULT_CAPTURE);
    assert_int_equal(rp->capture->n_frames, 0);
    ipc_msg_destroy(&m);

    REQUEST(dump, dump_flows, DUMP_FLOWS, Dpif__DumpFlowsRequest,
            DPIF__DUMP_FLOWS_REQUEST__INIT);
    dump_body.dp = "br0";
    rp = call_ok(&c, &dump, &m, DPIF__REPLY__RESULT_DUMP_FLOWS);
    assert_int_equal(rp->dump_flows->n_flows, 1);
    assert_false(rp->dump_flows->more);
    const Dpif__Flow *f = rp->dump_flows->flows[0];
    assert_memory_equal(f->ufid.data, ufid, 16);
    assert_int_equal(f->key.len, key.size);
    assert_memory_equal(f->actions.data, actions.data, actions.size);
    assert_int_equal(f->stats->packets, 1);
    assert_int_equal(f->stats->bytes, sizeof frame);
    ipc_msg_destroy(&m);

    REQUEST(get, get_flow, GET_FLOW, Dpif__GetFlowRequest,
            DPIF__GET_FLOW_REQUEST__INIT);
    get_body.dp = "br0";
    get_body.id_case = DPIF__GET_FLOW_REQUEST__ID_UFID;
    get_body.ufid = (ProtobufCBinaryData) { 16, ufid };
    rp = call_ok(&c, &get, &m, DPIF__REPLY__RESULT_GET_FLOW);
    assert_int_equal(rp->get_flow->flow->stats->packets, 1);
    ipc_msg_destroy(&m);

    REQUEST(del, del_flow, DEL_FLOW, Dpif__DelFlowRequest,
            DPIF__DEL_FLOW_REQUEST__INIT);
    del_body.dp = "br0";
    del_body.id_case = DPIF__DEL_FLOW_REQUEST__ID_UFID;
    del_body.ufid = (ProtobufCBinaryData) { 16, ufid };
    rp = call_ok(&c, &del, &m, DPIF__REPLY__RESULT_DEL_FLOW);
    assert_int_equal(rp->del_flow->stats->packets, 1);
    ipc_msg_destroy(&m);
    rp = call(&c, &get, &m);
    assert_int_equal(rp->error, ENOENT);
    ipc_msg_destroy(&m);
    /* The deleted flow is gone from the table (checked before the next
     * frame: its upcall may make a handler install the flow again). */
    REQUEST(show, show, SHOW, Dpif__ShowRequest, DPIF__SHOW_REQUEST__INIT);
    rp = call_ok(&c, &show, &m, DPIF__REPLY__RESULT_SHOW);
    assert_int_equal(rp->show->dps[0]->n_flows, 0);
    ipc_msg_destroy(&m);

    /* Statistics: one hit so far; the next frame misses (and, with no
     * handler to take the upcall, may be counted as lost). */
    rp = call_ok(&c, &inj, &m, DPIF__REPLY__RESULT_INJECT);
    ipc_msg_destroy(&m);
    rp = call_ok(&c, &show, &m, DPIF__REPLY__RESULT_SHOW);
    assert_int_equal(rp->show->dps[0]->n_hit, 1);
    assert_int_equal(rp->show->dps[0]->n_missed + rp->show->dps[0]->n_lost,
                     1);
    ipc_msg_destroy(&m);

    REQUEST(met, metrics, METRICS, Dpif__MetricsRequest,
            DPIF__METRICS_REQUEST__INIT);
    rp = call_ok(&c, &met, &m, DPIF__REPLY__RESULT_METRICS);
    assert_non_null(strstr(rp->metrics->text,
                           "dpifd_datapath_hits_total{dp=\"br0\","
                           "type=\"dummy\"} 1\n"));
    assert_non_null(strstr(rp->metrics->text, "# TYPE dpifd_flow_limit "
                           "gauge\n"));
    ipc_msg_destroy(&m);

    buf_uninit(&key);
    buf_uninit(&actions);
    ipc_conn_close(&c.conn);
    assert_int_equal(daemon_stop(d, SIGTERM), 0);
}

/* dump-flows pages: 40 flows, 7 per page, each seen exactly once; a stale
 * cursor is refused; del-flows removes them all. */
static void
dump_flows_pages(void **state)
{
    struct daemon *d = *state;
    struct client c;
    struct ipc_msg m;
    struct errbuf eb;
    struct buf actions;

    /* The policy makes exactly these flows, so that the revalidator keeps
     * them. */
    char *rules = xasprintf("%s/rules", d->dir);
    write_file(rules, "priority=1,in_port=1,actions=2\n");
    const char *extra[] = { "--rules", rules, NULL };
    daemon_start(d, extra);
    free(rules);
    assert_int_equal(client_open(&c, d->sock), 0);
    buf_init(&actions, 0);
    odp_put_output(&actions, 2);

    enum { N_FLOWS = 40 };
    REQUEST(add, add_flow, ADD_FLOW, Dpif__AddFlowRequest,
            DPIF__ADD_FLOW_REQUEST__INIT);
    add_body.dp = "br0";
    add_body.actions = (ProtobufCBinaryData) { actions.size, actions.data };
    for (int i = 0; i < N_FLOWS; i++) {
        uint8_t frame[64];
        struct flow flow;
        struct buf key;
        make_frame(frame, 0);
        frame[5] = (uint8_t) (i + 1);   /* A different destination MAC. */
        packet_parse(frame, sizeof frame, 1, &flow, NULL);
        buf_init(&key, 0);
        assert_int_equal(odp_key_from_flow(&key, &flow, &eb), 0);
        add_body.key = (ProtobufCBinaryData) { key.size, key.data };
        call_ok(&c, &add, &m, DPIF__REPLY__RESULT_ADD_FLOW);
        ipc_msg_destroy(&m);
        buf_uninit(&key);
    }

    REQUEST(dump, dump_flows, DUMP_FLOWS, Dpif__DumpFlowsRequest,
            DPIF__DUMP_FLOWS_REQUEST__INIT);
    dump_body.dp = "br0";
    dump_body.has_max_flows = true;
    dump_body.max_flows = 7;
    uint8_t seen[N_FLOWS] = { 0 };
    uint8_t cursor[8];
    size_t total = 0, pages = 0;
    for (;;) {
        const Dpif__Reply *rp = call_ok(&c, &dump, &m,
                                        DPIF__REPLY__RESULT_DUMP_FLOWS);
        assert_true(rp->dump_flows->n_flows <= 7);
        for (size_t i = 0; i < rp->dump_flows->n_flows; i++) {
            struct flow flow;
            const Dpif__Flow *f = rp->dump_flows->flows[i];
            void *k = xmemdup(f->key.data, f->key.len);
            assert_int_not_equal(odp_key_to_flow(k, f->key.len, &flow, &eb),
                                 ODP_FIT_ERROR);
            free(k);
            int idx = flow.dl_dst.ea[5] - 1;
            assert_true(idx >= 0 && idx < N_FLOWS);
            assert_int_equal(seen[idx]++, 0);
            total++;
        }
        pages++;
        bool more = rp->dump_flows->more;
        if (more) {
            assert_true(rp->dump_flows->has_cursor);
            assert_int_equal(rp->dump_flows->cursor.len, sizeof cursor);
            memcpy(cursor, rp->dump_flows->cursor.data, sizeof cursor);
            dump_body.has_cursor = true;
            dump_body.cursor = (ProtobufCBinaryData) { sizeof cursor,
                                                       cursor };
        }
        ipc_msg_destroy(&m);
        if (!more) {
            break;
        }
    }
    assert_int_equal(total, N_FLOWS);
    assert_int_equal(pages, (N_FLOWS + 6) / 7);

    /* The dump is over: its last cursor is stale. */
    const Dpif__Reply *rp = call(&c, &dump, &m);
    assert_int_equal(rp->error, EINVAL);
    ipc_msg_destroy(&m);

    REQUEST(delall, del_flows, DEL_FLOWS, Dpif__DelFlowsRequest,
            DPIF__DEL_FLOWS_REQUEST__INIT);
    delall_body.dp = "br0";
    rp = call_ok(&c, &delall, &m, DPIF__REPLY__RESULT_DEL_FLOWS);
    assert_int_equal(rp->del_flows->n_deleted, N_FLOWS);
    ipc_msg_destroy(&m);

    buf_uninit(&actions);
    ipc_conn_close(&c.conn);
    assert_int_equal(daemon_stop(d, SIGTERM), 0);
}

/* add-dp, add-if, del-if, del-dp, log/set, memory/show, upcall/show and
 * fdb/show, also on a datapath added at run time. */
static void
admin_commands(void **state)
{
    struct daemon *d = *state;
    struct client c;
    struct ipc_msg m;
    const Dpif__Reply *rp;

    daemon_start(d, NULL);
    assert_int_equal(client_open(&c, d->sock), 0);

    REQUEST(adp, add_dp, ADD_DP, Dpif__AddDpRequest,
            DPIF__ADD_DP_REQUEST__INIT);
    adp_body.name = "br1";
    adp_body.type = "dummy";
    call_ok(&c, &adp, &m, DPIF__REPLY__RESULT_ADD_DP);
    ipc_msg_destroy(&m);
    rp = call(&c, &adp, &m);
    assert_int_equal(rp->error, EEXIST);
    ipc_msg_destroy(&m);
    adp_body.name = "bad name!";
    rp = call(&c, &adp, &m);
    assert_int_equal(rp->error, EINVAL);
    ipc_msg_destroy(&m);

    REQUEST(aif, add_if, ADD_IF, Dpif__AddIfRequest,
            DPIF__ADD_IF_REQUEST__INIT);
    aif_body.dp = "br1";
    aif_body.name = "q1";
    rp = call_ok(&c, &aif, &m, DPIF__REPLY__RESULT_ADD_IF);
    uint32_t port_no = rp->add_if->port_no;
    assert_true(port_no > 0);
    ipc_msg_destroy(&m);

    REQUEST(dps, dump_dps, DUMP_DPS, Dpif__DumpDpsRequest,
            DPIF__DUMP_DPS_REQUEST__INIT);
    rp = call_ok(&c, &dps, &m, DPIF__REPLY__RESULT_DUMP_DPS);
    assert_int_equal(rp->dump_dps->n_dps, 2);
    ipc_msg_destroy(&m);

    REQUEST(dif, del_if, DEL_IF, Dpif__DelIfRequest,
            DPIF__DEL_IF_REQUEST__INIT);
    dif_body.dp = "br1";
    dif_body.port_case = DPIF__DEL_IF_REQUEST__PORT_NAME;
    dif_body.name = "q1";
    call_ok(&c, &dif, &m, DPIF__REPLY__RESULT_DEL_IF);
    ipc_msg_destroy(&m);
    rp = call(&c, &dif, &m);
    assert_int_equal(rp->error, ENOENT);
    ipc_msg_destroy(&m);
    dif_body.port_case = DPIF__DEL_IF_REQUEST__PORT_PORT_NO;
    dif_body.port_no = 0;
    rp = call(&c, &dif, &m);
    assert_int_equal(rp->error, EINVAL);
    ipc_msg_destroy(&m);

    REQUEST(ddp, del_dp, DEL_DP, Dpif__DelDpRequest,
            DPIF__DEL_DP_REQUEST__INIT);
    ddp_body.name = "br1";
    call_ok(&c, &ddp, &m, DPIF__REPLY__RESULT_DEL_DP);
    ipc_msg_destroy(&m);
    rp = call_ok(&c, &dps, &m, DPIF__REPLY__RESULT_DUMP_DPS);
    assert_int_equal(rp->dump_dps->n_dps, 1);
    ipc_msg_destroy(&m);

    REQUEST(ls, log_set, LOG_SET, Dpif__LogSetRequest,
            DPIF__LOG_SET_REQUEST__INIT);
    ls_body.module = "ANY";
    ls_body.level = "dbg";
    call_ok(&c, &ls, &m, DPIF__REPLY__RESULT_LOG_SET);
    ipc_msg_destroy(&m);
    ls_body.module = "no-such-module";
    rp = call(&c, &ls, &m);
    assert_int_equal(rp->error, ENOENT);
    ipc_msg_destroy(&m);

    REQUEST(mem, memory_show, MEMORY_SHOW, Dpif__MemoryShowRequest,
            DPIF__MEMORY_SHOW_REQUEST__INIT);
    rp = call_ok(&c, &mem, &m, DPIF__REPLY__RESULT_MEMORY_SHOW);
    bool rss = false;
    for (size_t i = 0; i < rp->memory_show->n_items; i++) {
        rss |= !strcmp(rp->memory_show->items[i]->name, "rss_bytes")
               && rp->memory_show->items[i]->value > 0;
    }
    assert_true(rss);
    ipc_msg_destroy(&m);

    /* upcall/show and fdb/show work on br0 as on a datapath added at run
     * time, which has workers and a MAC table of its own. */
    adp_body.name = "br2";
    call_ok(&c, &adp, &m, DPIF__REPLY__RESULT_ADD_DP);
    ipc_msg_destroy(&m);
    REQUEST(up, upcall_show, UPCALL_SHOW, Dpif__UpcallShowRequest,
            DPIF__UPCALL_SHOW_REQUEST__INIT);
    rp = call_ok(&c, &up, &m, DPIF__REPLY__RESULT_UPCALL_SHOW);
    assert_int_equal(rp->upcall_show->n_dps, 2);
    for (size_t i = 0; i < rp->upcall_show->n_dps; i++) {
        assert_true(rp->upcall_show->dps[i]->n_handlers >= 1);
        assert_true(rp->upcall_show->dps[i]->n_revalidators >= 1);
    }
    ipc_msg_destroy(&m);
    REQUEST(fdb, fdb_show, FDB_SHOW, Dpif__FdbShowRequest,
            DPIF__FDB_SHOW_REQUEST__INIT);
    const char *fdb_dps[] = { "br0", "br2" };
    for (size_t i = 0; i < ARRAY_SIZE(fdb_dps); i++) {
        fdb_body.dp = (char *) fdb_dps[i];
        call_ok(&c, &fdb, &m, DPIF__REPLY__RESULT_FDB_SHOW);
        ipc_msg_destroy(&m);
    }

    /* A request without a command. */
    Dpif__Request empty = DPIF__REQUEST__INIT;
    rp = call(&c, &empty, &m);
    assert_int_equal(rp->error, EINVAL);
    ipc_msg_destroy(&m);

    ipc_conn_close(&c.conn);
    assert_int_equal(daemon_stop(d, SIGTERM), 0);
}

/* A malformed datagram closes that connection only; the 17th client is
 * refused; dpifd keeps serving. */
static void
hostile_clients(void **state)
{
    struct daemon *d = *state;
    struct client c, more[CONTROL_MAX_CLIENTS];
    struct ipc_msg m;
    struct errbuf eb;

    daemon_start(d, NULL);
    assert_int_equal(client_open(&c, d->sock), 0);
    assert_int_equal(ipc_send_frame(c.conn.fd, "garbage!", 8, NULL, 0, &eb),
                     0);
    assert_int_equal(ipc_recv(&c.conn, &m, &eb), EPIPE);
    ipc_conn_close(&c.conn);

    /* Fill every slot (each answers one request, so it was accepted). */
    REQUEST(show, show, SHOW, Dpif__ShowRequest, DPIF__SHOW_REQUEST__INIT);
    for (size_t i = 0; i < ARRAY_SIZE(more); i++) {
        assert_int_equal(client_open(&more[i], d->sock), 0);
        call_ok(&more[i], &show, &m, DPIF__REPLY__RESULT_SHOW);
        ipc_msg_destroy(&m);
    }
    assert_int_equal(client_open(&c, d->sock), 0);
    assert_int_equal(client_call(&c, &show, &m), EPIPE);
    ipc_conn_close(&c.conn);

    assert_true(get_counter(&more[0], "control_client_limit") >= 1);
    assert_true(get_counter(&more[0], "control_request_malformed") >= 1);
    for (size_t i = 0; i < ARRAY_SIZE(more); i++) {
        ipc_conn_close(&more[i].conn);
    }
    /* Slots free again, once dpifd has seen the closes: until then a new
     * client may still be over the limit and get EOF. */
    long long deadline = time_msec() + WAIT_MSEC;
    for (;;) {
        assert_int_equal(client_open(&c, d->sock), 0);
        int error = client_call(&c, &show, &m);
        if (!error) {
            break;
        }
        assert_int_equal(error, EPIPE);
        ipc_conn_close(&c.conn);
        assert_true(time_msec() < deadline);
        sleep_msec(20);
    }
    assert_int_equal(((const Dpif__Reply *) m.msg)->result_case,
                     DPIF__REPLY__RESULT_SHOW);
    ipc_msg_destroy(&m);
    ipc_conn_close(&c.conn);
    assert_int_equal(daemon_stop(d, SIGTERM), 0);
}

/* Runs 'fn' in a child that became "nobody" with the supplementary groups
 * 'groups'; returns its exit status. */
static int
run_as_nobody(const gid_t *groups, size_t n_groups,
              int (*fn)(const struct daemon *), const struct daemon *d)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (!pid) {
        struct passwd *pw = getpwnam("nobody");
        if (!pw || setgroups(n_groups, groups)
            || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid)
            || setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid)) {
            _exit(100);
        }
        _exit(fn(d));
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* In the dpifd group: show works (0), add-dp gets EACCES (else 2, 3). */
static int
nobody_in_group(const struct daemon *d)
{
    struct client c;
    struct ipc_msg m;

    if (client_open(&c, d->sock)) {
        return 1;
    }
    REQUEST(show, show, SHOW, Dpif__ShowRequest, DPIF__SHOW_REQUEST__INIT);
    if (client_call(&c, &show, &m)
        || ((const Dpif__Reply *) m.msg)->error) {
        return 2;
    }
    ipc_msg_destroy(&m);
    REQUEST(adp, add_dp, ADD_DP, Dpif__AddDpRequest,
            DPIF__ADD_DP_REQUEST__INIT);
    adp_body.name = "evil";
    adp_body.type = "dummy";
    if (client_call(&c, &adp, &m)
        || ((const Dpif__Reply *) m.msg)->error != EACCES
        || !strstr(((const Dpif__Reply *) m.msg)->reason, "dpifd-admin")) {
        return 3;
    }
    ipc_msg_destroy(&m);
    ipc_conn_close(&c.conn);
    return 0;
}

/* Outside the group: the socket itself refuses (EACCES from connect). */
static int
nobody_outside_group(const struct daemon *d)
{
    struct client c;
    int error = client_open(&c, d->sock);
    if (!error) {
        ipc_conn_close(&c.conn);
    }
    return error == EACCES ? 0 : 1;
}

static void
permissions(void **state)
{
    struct daemon *d = *state;

    if (geteuid()) {
        skip_msg("permissions: needs root to run clients as another user "
                 "(the same-uid path is what every other test uses)");
    }
    struct group *gr = getgrnam("dpifd");
    assert_non_null(gr);
    gid_t dpifd_gid = gr->gr_gid;

    daemon_start(d, NULL);

    struct stat st;
    assert_int_equal(stat(d->sock, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0660);
    assert_int_equal(st.st_gid, dpifd_gid);
    /* privd dropped to the dpifd user (right after its socket listens). */
    struct passwd *pw = getpwnam("dpifd");
    assert_non_null(pw);
    long long deadline = time_msec() + WAIT_MSEC;
    while (!proc_status_ids_are(d->pid, "Uid", pw->pw_uid)) {
        assert_true(time_msec() < deadline);
        sleep_msec(20);
    }

    assert_int_equal(run_as_nobody(&dpifd_gid, 1, nobody_in_group, d), 0);
    assert_int_equal(run_as_nobody(NULL, 0, nobody_outside_group, d), 0);

    struct client c;
    assert_int_equal(client_open(&c, d->sock), 0);
    assert_true(get_counter(&c, "control_denied_write") >= 1);
    ipc_conn_close(&c.conn);

    assert_int_equal(daemon_stop(d, SIGTERM), 0);
    char *log = read_file(d->log);
    assert_non_null(strstr(log, "add-dp denied"));
    free(log);
}

/* Number of datapaths, or -1 if dpifd does not answer. */
static int
count_dps(const struct daemon *d)
{
    struct client c;
    struct ipc_msg m;

    if (client_open(&c, d->sock)) {
        return -1;
    }
    REQUEST(dps, dump_dps, DUMP_DPS, Dpif__DumpDpsRequest,
            DPIF__DUMP_DPS_REQUEST__INIT);
    int n = -1;
    if (!client_call(&c, &dps, &m)) {
        const Dpif__Reply *rp = (const Dpif__Reply *) m.msg;
        n = rp->error ? -1 : (int) rp->dump_dps->n_dps;
        ipc_msg_destroy(&m);
    }
    ipc_conn_close(&c.conn);
    return n;
}

/* SIGHUP applies a good configuration (a new datapath appears) and keeps
 * running on a bad one, with the old configuration. */
static void
sighup_reload(void **state)
{
    struct daemon *d = *state;

    write_file(d->conf, "flow-limit = 1000\n");
    const char *extra[] = { "--config", d->conf, NULL };
    daemon_start(d, extra);
    assert_int_equal(count_dps(d), 1);

    write_file(d->conf, "flow-limit = 1000\n[datapath dummy@br1]\n"
               "port = q1\n");
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    long long deadline = time_msec() + WAIT_MSEC;
    while (count_dps(d) != 2) {
        assert_true(time_msec() < deadline);
        sleep_msec(20);
    }

    write_file(d->conf, "flow-limit = banana\n");
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    deadline = time_msec() + WAIT_MSEC;
    for (;;) {
        char *log = read_file(d->log);
        bool seen = strstr(log, "keeping the running configuration") != NULL;
        free(log);
        if (seen) {
            break;
        }
        assert_true(time_msec() < deadline);
        sleep_msec(20);
    }
    assert_int_equal(count_dps(d), 2);

    assert_int_equal(daemon_stop(d, SIGTERM), 0);
    char *log = read_file(d->log);
    assert_non_null(strstr(log, d->conf));
    assert_non_null(strstr(log, ":1: flow-limit"));
    free(log);
}

/* ----- workers follow the datapath set ---------------------------------- */

/* The workers of one datapath, from "procs". */
struct dp_workers {
    size_t n;                   /* Workers listed for the datapath. */
    size_t n_running;           /* Those in state "running". */
    pid_t pids[8];              /* Their pids, 'n' of them. */
    bool ids_unique;            /* No two workers (of any datapath) share a
                                 * role and id. */
};

/* Fills '*w' with the workers "procs" lists for datapath 'dp'. */
static void
get_dp_workers(const struct daemon *d, const char *dp, struct dp_workers *w)
{
    struct client c;
    struct ipc_msg m;

    memset(w, 0, sizeof *w);
    w->ids_unique = true;
    assert_int_equal(client_open(&c, d->sock), 0);
    REQUEST(pr, procs, PROCS, Dpif__ProcsRequest, DPIF__PROCS_REQUEST__INIT);
    const Dpif__Reply *rp = call_ok(&c, &pr, &m, DPIF__REPLY__RESULT_PROCS);
    for (size_t i = 0; i < rp->procs->n_procs; i++) {
        const Dpif__ProcInfo *p = rp->procs->procs[i];
        if (!p->dp) {
            continue;
        }
        for (size_t j = 0; j < i; j++) {
            const Dpif__ProcInfo *q = rp->procs->procs[j];
            if (q->dp && q->id == p->id && !strcmp(q->role, p->role)) {
                w->ids_unique = false;
            }
        }
        if (!strcmp(p->dp, dp) && w->n < ARRAY_SIZE(w->pids)) {
            w->pids[w->n++] = (pid_t) p->pid;
            w->n_running += !strcmp(p->state, "running") && p->pid;
        }
    }
    ipc_msg_destroy(&m);
    ipc_conn_close(&c.conn);
}

/* Waits until datapath 'dp' has exactly 'n' workers, all running (n > 0),
 * or none listed (n == 0), and returns them in '*w'. */
static void
wait_dp_workers(const struct daemon *d, const char *dp, size_t n,
                struct dp_workers *w)
{
    long long deadline = time_msec() + WAIT_MSEC;
    for (;;) {
        get_dp_workers(d, dp, w);
        assert_true(w->ids_unique);
        if (w->n == n && w->n_running == n) {
            return;
        }
        if (time_msec() > deadline) {
            fail_msg("%s: %zu workers (%zu running), want %zu running", dp,
                     w->n, w->n_running, n);
        }
        sleep_msec(20);
    }
}

/* True if process 'pid' still exists (a zombie counts: nobody reaped it). */
static bool
process_exists(pid_t pid)
{
    char path[32];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%ld", (long) pid);
    return !stat(path, &st);
}

/* Waits until every process of 'w' is gone. */
static void
wait_processes_gone(const struct dp_workers *w)
{
    long long deadline = time_msec() + WAIT_MSEC;
    for (size_t i = 0; i < w->n; i++) {
        while (process_exists(w->pids[i])) {
            if (time_msec() > deadline) {
                fail_msg("worker pid %ld still exists", (long) w->pids[i]);
            }
            sleep_msec(20);
        }
    }
}

/* The same processes, in the same order, all running. */
static void
assert_same_workers(const struct dp_workers *a, const struct dp_workers *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(b->n_running, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->pids[i], b->pids[i]);
        assert_true(process_exists(b->pids[i]));
    }
}

static void
add_dp(const struct daemon *d, const char *name, const char *port)
{
    struct client c;
    struct ipc_msg m;

    assert_int_equal(client_open(&c, d->sock), 0);
    REQUEST(adp, add_dp, ADD_DP, Dpif__AddDpRequest,
            DPIF__ADD_DP_REQUEST__INIT);
    adp_body.name = (char *) name;
    adp_body.type = "dummy";
    call_ok(&c, &adp, &m, DPIF__REPLY__RESULT_ADD_DP);
    ipc_msg_destroy(&m);
    REQUEST(aif, add_if, ADD_IF, Dpif__AddIfRequest,
            DPIF__ADD_IF_REQUEST__INIT);
    aif_body.dp = (char *) name;
    aif_body.name = (char *) port;
    call_ok(&c, &aif, &m, DPIF__REPLY__RESULT_ADD_IF);
    ipc_msg_destroy(&m);
    ipc_conn_close(&c.conn);
}

static void
del_dp(const struct daemon *d, const char *name)
{
    struct client c;
    struct ipc_msg m;

    assert_int_equal(client_open(&c, d->sock), 0);
    REQUEST(ddp, del_dp, DEL_DP, Dpif__DelDpRequest,
            DPIF__DEL_DP_REQUEST__INIT);
    ddp_body.name = (char *) name;
    call_ok(&c, &ddp, &m, DPIF__REPLY__RESULT_DEL_DP);
    ipc_msg_destroy(&m);
    ipc_conn_close(&c.conn);
}

/* Workers follow add-dp, del-dp and reloads: a new datapath gets its own
 * handler and revalidator, a removed one's stop (and are not restarted),
 * br0's are untouched throughout, worker ids never collide; a signal to
 * the whole process group stops everything without an error logged. */
static void
workers_follow_datapaths(void **state)
{
    struct daemon *d = *state;
    struct dp_workers br0, br0_now, w, w2;

    write_file(d->conf, "handlers = 1\nrevalidators = 1\n");
    const char *extra[] = { "--config", d->conf, NULL };
    d->own_group = true;
    daemon_start(d, extra);
    wait_dp_workers(d, "br0", 2, &br0);

    /* add-dp / del-dp, twice: the second br1 reuses nothing of the
     * first. */
    for (int round = 0; round < 2; round++) {
        add_dp(d, "br1", "q1");
        wait_dp_workers(d, "br1", 2, &w);
        del_dp(d, "br1");
        wait_dp_workers(d, "br1", 0, &w2);
        wait_processes_gone(&w);
        get_dp_workers(d, "br0", &br0_now);
        assert_same_workers(&br0, &br0_now);
    }

    /* A reload adds br2, with its workers... */
    write_file(d->conf, "handlers = 1\nrevalidators = 1\n"
               "[datapath dummy@br2]\nport = r1\n");
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    wait_dp_workers(d, "br2", 2, &w);
    /* ... next to a datapath added by hand, which a reload keeps. */
    add_dp(d, "br3", "s1");
    wait_dp_workers(d, "br3", 2, &w2);

    /* A reload without br2 stops its workers only. */
    write_file(d->conf, "handlers = 1\nrevalidators = 1\n");
    assert_int_equal(kill(d->pid, SIGHUP), 0);
    wait_dp_workers(d, "br2", 0, &br0_now);
    wait_processes_gone(&w);
    get_dp_workers(d, "br3", &br0_now);
    assert_same_workers(&w2, &br0_now);
    get_dp_workers(d, "br0", &br0_now);
    assert_same_workers(&br0, &br0_now);

    /* Removed datapaths' workers exited when told to, and stayed down. */
    char *log = read_file(d->log);
    assert_non_null(strstr(log, "of a removed datapath: exited with "
                           "status 0"));
    assert_null(strstr(log, "restarting in"));
    free(log);

    /* SIGTERM to dpifd, the spawner and the workers at once (a terminal's
     * ^C): a clean exit, nothing logged as an error. */
    assert_int_equal(daemon_stop(d, SIGTERM), 0);
    log = read_file(d->log);
    if (strstr(log, "|err|")) {
        fail_msg("error logged:\n%s", log);
    }
    free(log);
}

/* SIGTERM and SIGINT: exit 0, control socket removed. */
static void
sigterm_cleans_up(void **state)
{
    struct daemon *d = *state;
    struct stat st;

    daemon_start(d, NULL);
    assert_int_equal(stat(d->sock, &st), 0);
    assert_int_equal(daemon_stop(d, SIGTERM), 0);
    assert_int_equal(stat(d->sock, &st), -1);

    daemon_start(d, NULL);
    assert_int_equal(daemon_stop(d, SIGINT), 0);
    assert_int_equal(stat(d->sock, &st), -1);
}

/* With $NOTIFY_SOCKET set (systemd Type=notify), dpifd sends READY=1 once
 * its control socket listens, and STOPPING=1 at SIGTERM. */
static void
sd_notify_ready(void **state)
{
    struct daemon *d = *state;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct timeval tv = { WAIT_MSEC / 1000, 0 };
    char buf[256];

    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/notify", d->dir);
    assert_int_equal(bind(fd, (struct sockaddr *) &sun, sizeof sun), 0);
    /* dpifd sends after its privilege drop when the test is root. */
    assert_int_equal(chmod(sun.sun_path, 0777), 0);
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);

    assert_int_equal(setenv("NOTIFY_SOCKET", sun.sun_path, 1), 0);
    daemon_start(d, NULL);
    unsetenv("NOTIFY_SOCKET");

    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "READY=1");

    assert_int_equal(daemon_stop(d, SIGTERM), 0);
    n = recv(fd, buf, sizeof buf - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_string_equal(buf, "STOPPING=1");
    close(fd);
}

/* A second dpifd on the same control socket refuses to start. */
static void
second_instance_refused(void **state)
{
    struct daemon *d = *state;
    char *out;

    daemon_start(d, NULL);
    const char *args[] = { "--datapath", "dummy@br9", "--run-dir", d->run_dir,
                           NULL };
    struct daemon other = *d;
    snprintf(other.log, sizeof other.log, "%s/other.log", d->dir);
    assert_int_equal(dpifd_run(&other, args, &out), 1);
    assert_non_null(strstr(out, "another dpifd"));
    free(out);
    assert_int_equal(count_dps(d), 1);
    assert_int_equal(daemon_stop(d, SIGTERM), 0);
}

/* --detach: the command returns once the daemon is ready, the pid file
 * names it, a second one refuses the live pid file, SIGTERM removes both
 * the pid file and the socket. */
static void
detach_with_pidfile(void **state)
{
    struct daemon *d = *state;
    char pidfile[256], *out;
    struct stat st;

    snprintf(pidfile, sizeof pidfile, "%s/dpifd.pid", d->run_dir);
    const char *args[] = {
        "--datapath", "dummy@br0", "--port", "p1", "--run-dir", d->run_dir,
        "--detach", "--pidfile", pidfile, NULL,
    };
    assert_int_equal(dpifd_run(d, args, &out), 0);
    free(out);
    assert_true(socket_answers(d->sock));

    char *text = read_file(pidfile);
    long pid = strtol(text, NULL, 10);
    free(text);
    assert_true(pid > 1);
    assert_int_equal(kill((pid_t) pid, 0), 0);
    assert_int_equal(count_dps(d), 1);

    assert_int_equal(dpifd_run(d, args, &out), 1);
    assert_non_null(strstr(out, "already running"));
    free(out);

    assert_int_equal(kill((pid_t) pid, SIGTERM), 0);
    long long deadline = time_msec() + WAIT_MSEC;
    while (!kill((pid_t) pid, 0)) {
        assert_true(time_msec() < deadline);
        sleep_msec(20);
    }
    assert_int_equal(stat(pidfile, &st), -1);
    assert_int_equal(stat(d->sock, &st), -1);
}

/* A bad configuration exits 1 naming file, line and key; so does a bad
 * command-line value, naming the flag. */
static void
bad_config_exits_1(void **state)
{
    struct daemon *d = *state;
    char *out;

    write_file(d->conf, "# dpifd\nhandlers = abc\n");
    const char *args[] = { "--config", d->conf, "--run-dir", d->run_dir,
                           NULL };
    assert_int_equal(dpifd_run(d, args, &out), 1);
    char *want = xasprintf("%s:2: handlers", d->conf);
    assert_non_null(strstr(out, want));
    free(want);
    free(out);

    const char *flag[] = { "--flow-limit", "lots", "--run-dir", d->run_dir,
                           NULL };
    assert_int_equal(dpifd_run(d, flag, &out), 1);
    assert_non_null(strstr(out, "--flow-limit"));
    free(out);

    const char *missing[] = { "--config", "/nonexistent/dpifd.conf", NULL };
    assert_int_equal(dpifd_run(d, missing, &out), 1);
    assert_non_null(strstr(out, "/nonexistent/dpifd.conf"));
    free(out);

    const char *port[] = { "--datapath", "dummy@br0", "--port", "p1:system",
                           "--run-dir", d->run_dir, NULL };
    assert_int_equal(dpifd_run(d, port, &out), 1);
    assert_non_null(strstr(out, "--port"));
    free(out);
}

/* Usage errors exit 2; --version and --help exit 0. */
static void
usage_errors_exit_2(void **state)
{
    struct daemon *d = *state;
    char *out;

    const char *bogus[] = { "--bogus", NULL };
    assert_int_equal(dpifd_run(d, bogus, &out), 2);
    assert_non_null(strstr(out, "--bogus"));
    free(out);

    const char *early_port[] = { "--port", "p1", NULL };
    assert_int_equal(dpifd_run(d, early_port, &out), 2);
    assert_non_null(strstr(out, "--datapath"));
    free(out);

    const char *no_arg[] = { "--run-dir", NULL };
    assert_int_equal(dpifd_run(d, no_arg, &out), 2);
    free(out);

    const char *extra[] = { "stray", NULL };
    assert_int_equal(dpifd_run(d, extra, &out), 2);
    free(out);

    const char *version[] = { "--version", NULL };
    assert_int_equal(dpifd_run(d, version, &out), 0);
    assert_non_null(strstr(out, "dpifd "));
    free(out);

    const char *help[] = { "--help", NULL };
    assert_int_equal(dpifd_run(d, help, &out), 0);
    assert_non_null(strstr(out, "--datapath"));
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(NAME) cmocka_unit_test_setup_teardown(NAME, setup, teardown)
        T(show_lists_ports),
        T(inject_follows_added_flow),
        T(dump_flows_pages),
        T(admin_commands),
        T(hostile_clients),
        T(permissions),
        T(sighup_reload),
        T(workers_follow_datapaths),
        T(sigterm_cleans_up),
        T(sd_notify_ready),
        T(second_instance_refused),
        T(detach_with_pidfile),
        T(bad_config_exits_1),
        T(usage_errors_exit_2),
#undef T
    };
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
