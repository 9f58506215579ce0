/* The dpif layer: provider registry, "type@name" names, argument checks,
 * batching in chunks, and debug logging of flow operations. */
#include "privd/dpif.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/ds.h"
#include "common/log.h"
#include "common/odp-format.h"
#include "common/util.h"
#include "privd/dpif-provider.h"

LOG_MODULE(dpif);

#define MAX_PROVIDERS 8
#define MAX_BLACKLIST 8

static const struct dpif_class *providers[MAX_PROVIDERS];
static size_t n_providers;
static char *blacklist[MAX_BLACKLIST];
static size_t n_blacklist;
static bool builtins_registered;

static bool
dpif_type_is_blacklisted(const char *type)
{
    for (size_t i = 0; i < n_blacklist; i++) {
        if (!strcmp(blacklist[i], type)) {
            return true;
        }
    }
    return false;
}

static const struct dpif_class *
dpif_class_find(const char *type)
{
    for (size_t i = 0; i < n_providers; i++) {
        if (!strcmp(providers[i]->type, type)) {
            return providers[i];
        }
    }
    return NULL;
}

int
dpif_register_provider(const struct dpif_class *class)
{
    if (dpif_type_is_blacklisted(class->type)) {
        LOG_DBG("attempted to register blacklisted provider: %s",
                class->type);
        return EINVAL;
    }
    if (dpif_class_find(class->type)) {
        LOG_WARN("attempted to register duplicate datapath provider: %s",
                 class->type);
        return EEXIST;
    }
    if (n_providers >= MAX_PROVIDERS) {
        return ENOSPC;
    }
    if (class->init) {
        int error = class->init();
        if (error) {
            LOG_WARN("failed to initialize %s datapath class: %s",
                     class->type, strerror(error));
            return error;
        }
    }
    providers[n_providers++] = class;
    return 0;
}

void
dpif_blacklist_provider(const char *type)
{
    if (n_blacklist < MAX_BLACKLIST && !dpif_type_is_blacklisted(type)) {
        blacklist[n_blacklist++] = xstrdup(type);
    }
}

static void
dpif_register_builtins(void)
{
    if (!builtins_registered) {
        builtins_registered = true;
        dpif_register_provider(&dpif_netdev_class);
        dpif_register_provider(&dpif_dummy_class);
        dpif_register_provider(&dpif_system_class);
    }
}

const struct dpif_class *
dpif_class_lookup(const char *type)
{
    dpif_register_builtins();
    return dpif_class_find(type && *type ? type : "system");
}

void
dpif_parse_name(const char *datapath_name, char **name, char **type)
{
    const char *at = strchr(datapath_name, '@');

    if (at) {
        *type = xmemdup(datapath_name, (size_t) (at - datapath_name) + 1);
        (*type)[at - datapath_name] = '\0';
        *name = xstrdup(at + 1);
    } else {
        *type = xstrdup("system");
        *name = xstrdup(datapath_name);
    }
}

void
dpif_init(struct dpif *dpif, const struct dpif_class *class, const char *name)
{
    dpif->class = class;
    dpif->name = xstrdup(name);
    dpif->full_name = xasprintf("%s@%s", class->type, name);
}

void
dpif_uninit(struct dpif *dpif)
{
    free(dpif->name);
    free(dpif->full_name);
    dpif->name = dpif->full_name = NULL;
}

static bool
dpif_name_is_valid(const char *name)
{
    size_t len = strlen(name);

    if (!len || len > DPIF_NAME_MAX) {
        return false;
    }
    for (const char *p = name; *p; p++) {
        if (*p == '/' || *p == '@' || *p <= ' ' || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

static int
dpif_open__(const char *name, const char *type, bool create,
            struct dpif **dpifp)
{
    const char *t = type && *type ? type : "system";
    const struct dpif_class *class = dpif_class_lookup(t);

    *dpifp = NULL;
    if (!class) {
        LOG_WARN("could not %s datapath %s of unknown type %s",
                 create ? "create" : "open", name, t);
        return dpif_type_is_blacklisted(t) ? EPERM : EAFNOSUPPORT;
    }
    if (!dpif_name_is_valid(name)) {
        return EINVAL;
    }
    int error = class->open(class, name, create, dpifp);
    if (error && error != ENODEV) {
        LOG_WARN("failed to %s datapath %s@%s: %s",
                 create ? "create" : "open", t, name, strerror(error));
    }
    return error;
}

int
dpif_open(const char *name, const char *type, struct dpif **dpifp)
{
    return dpif_open__(name, type, false, dpifp);
}

int
dpif_create_and_open(const char *name, const char *type, struct dpif **dpifp)
{
    int error = dpif_open__(name, type, true, dpifp);
    if (error == EEXIST) {
        error = dpif_open__(name, type, false, dpifp);
    }
    return error;
}

void
dpif_close(struct dpif *dpif)
{
    if (dpif) {
        dpif->class->close(dpif);
    }
}

int
dpif_delete(struct dpif *dpif)
{
    int error = dpif->class->destroy(dpif);
    LOG_INFO("%s: deleted datapath: %s", dpif->full_name,
             error ? strerror(error) : "success");
    return error;
}

const char *
dpif_name(const struct dpif *dpif)
{
    return dpif->name;
}

const char *
dpif_type(const struct dpif *dpif)
{
    return dpif->class->type;
}

bool
dpif_outlives_process(const struct dpif *dpif)
{
    return dpif->class->outlives_process;
}

bool
dpif_has_upcall_sockets(const struct dpif *dpif)
{
    return dpif->class->upcall_sockets;
}

int
dpif_enumerate(const char *type, void (*cb)(const char *name, void *aux),
               void *aux)
{
    const struct dpif_class *class = dpif_class_lookup(type);

    if (!class) {
        return EAFNOSUPPORT;
    }
    return class->enumerate ? class->enumerate(cb, aux) : 0;
}

void
dpif_run(struct dpif *dpif)
{
    if (dpif->class->run) {
        dpif->class->run(dpif);
    }
}

void
dpif_wait(struct dpif *dpif, struct poller *p)
{
    if (dpif->class->wait) {
        dpif->class->wait(dpif, p);
    }
}

int
dpif_get_dp_stats(const struct dpif *dpif, struct dpif_dp_stats *stats)
{
    int error = dpif->class->get_stats(dpif, stats);
    if (error) {
        memset(stats, 0, sizeof *stats);
    }
    return error;
}

int
dpif_port_add(struct dpif *dpif, const char *name, const char *type,
              uint32_t *port_nop)
{
    uint32_t port_no = port_nop ? *port_nop : UINT32_MAX;

    if (!dpif_name_is_valid(name)) {
        return EINVAL;
    }
    int error = dpif->class->port_add(dpif, name, type, &port_no);
    if (!error) {
        LOG_INFO("%s: added %s as port %u", dpif->full_name, name, port_no);
        if (port_nop) {
            *port_nop = port_no;
        }
    } else {
        LOG_WARN("%s: failed to add %s as port: %s", dpif->full_name, name,
                 strerror(error));
    }
    return error;
}

int
dpif_port_del(struct dpif *dpif, uint32_t port_no)
{
    int error = dpif->class->port_del(dpif, port_no);
    if (!error) {
        LOG_INFO("%s: port_del(%u)", dpif->full_name, port_no);
    } else {
        LOG_WARN("%s: port_del(%u) failed: %s", dpif->full_name, port_no,
                 strerror(error));
    }
    return error;
}

int
dpif_port_query_by_number(const struct dpif *dpif, uint32_t port_no,
                          struct dpif_port *port)
{
    int error = dpif->class->port_query_by_number(dpif, port_no, port);
    if (error && port) {
        memset(port, 0, sizeof *port);
    }
    return error;
}

int
dpif_port_query_by_name(const struct dpif *dpif, const char *name,
                        struct dpif_port *port)
{
    int error = dpif->class->port_query_by_name(dpif, name, port);
    if (error && port) {
        memset(port, 0, sizeof *port);
    }
    return error;
}

void
dpif_port_destroy(struct dpif_port *port)
{
    free(port->name);
    free(port->type);
    port->name = port->type = NULL;
}

int
dpif_port_get_stats(const struct dpif *dpif, uint32_t port_no,
                    struct dpif_port_stats *stats)
{
    memset(stats, 0, sizeof *stats);
    return (dpif->class->port_get_stats
            ? dpif->class->port_get_stats(dpif, port_no, stats)
            : EOPNOTSUPP);
}

uint32_t
dpif_port_get_pid(const struct dpif *dpif, uint32_t port_no)
{
    return dpif->class->port_get_pid(dpif, port_no);
}

int
dpif_port_dump(const struct dpif *dpif,
               void (*cb)(const struct dpif_port *, void *aux), void *aux)
{
    return dpif->class->port_dump(dpif, cb, aux);
}

int
dpif_port_poll(const struct dpif *dpif, char **devnamep)
{
    *devnamep = NULL;
    return dpif->class->port_poll ? dpif->class->port_poll(dpif, devnamep)
                                  : EAGAIN;
}

void
dpif_port_poll_wait(const struct dpif *dpif, struct poller *p)
{
    if (dpif->class->port_poll_wait) {
        dpif->class->port_poll_wait(dpif, p);
    }
}

int
dpif_flow_flush(struct dpif *dpif)
{
    int error = dpif->class->flow_flush(dpif);
    LOG_DBG("%s: flow_flush: %s", dpif->full_name,
            error ? strerror(error) : "success");
    return error;
}

/* Runs one op through operate(), the single path for every flow op. */
static int
dpif_operate_one(struct dpif *dpif, struct dpif_op *op)
{
    struct dpif_op *ops[1] = { op };
    dpif_operate(dpif, ops, 1);
    return op->error;
}

int
dpif_flow_put(struct dpif *dpif, const struct dpif_flow_put *put)
{
    struct dpif_op op = { .type = DPIF_OP_FLOW_PUT, .flow_put = *put };
    return dpif_operate_one(dpif, &op);
}

int
dpif_flow_del(struct dpif *dpif, const struct dpif_flow_del *del)
{
    struct dpif_op op = { .type = DPIF_OP_FLOW_DEL, .flow_del = *del };
    return dpif_operate_one(dpif, &op);
}

int
dpif_flow_get(const struct dpif *dpif, const struct dpif_flow_get *get)
{
    struct dpif_op op = { .type = DPIF_OP_FLOW_GET, .flow_get = *get };
    /* A get changes nothing; operate() takes a non-const dpif only because
     * the other ops do. */
    return dpif_operate_one((struct dpif *) dpif, &op);
}

int
dpif_execute(struct dpif *dpif, const struct dpif_execute *execute)
{
    struct dpif_op op = { .type = DPIF_OP_EXECUTE, .execute = *execute };
    return dpif_operate_one(dpif, &op);
}

static const char *
dpif_op_name(enum dpif_op_type type)
{
    switch (type) {
    case DPIF_OP_FLOW_PUT: return "flow_put";
    case DPIF_OP_FLOW_DEL: return "flow_del";
    case DPIF_OP_EXECUTE: return "execute";
    case DPIF_OP_FLOW_GET: return "flow_get";
    }
    return "?";
}

/* Appends "ufid:..." if 'ufid' is nonnull, else the key in text form. */
static void
dpif_format_flow_name(struct ds *s, const union ufid *ufid, const void *key,
                      size_t key_len)
{
    if (ufid) {
        char text[UFID_STRLEN];
        ufid_format(ufid, text);
        ds_put_cstr(s, text);
    } else {
        odp_format_key(s, key, key_len, NULL, 0, false);
    }
}

/* Logs 'op' and its result at debug level in the ovs-dpctl text format:
 * "dummy@br0: flow_put(create): ufid:..., in_port(1),...,
 * actions:2: success". */
static void
dpif_log_op(const struct dpif *dpif, const struct dpif_op *op)
{
    struct ds s = DS_EMPTY_INITIALIZER;

    ds_put_format(&s, "%s: %s", dpif->full_name, dpif_op_name(op->type));
    switch (op->type) {
    case DPIF_OP_FLOW_PUT: {
        const struct dpif_flow_put *put = &op->flow_put;
        ds_put_format(&s, "(%s%s%s): ",
                      put->flags & DPIF_FP_CREATE ? "create" : "",
                      (put->flags & DPIF_FP_CREATE
                       && put->flags & DPIF_FP_MODIFY) ? "|" : "",
                      put->flags & DPIF_FP_MODIFY ? "modify" : "");
        if (put->flags & DPIF_FP_ZERO_STATS) {
            ds_put_cstr(&s, "zero_stats ");
        }
        if (put->ufid) {
            dpif_format_flow_name(&s, put->ufid, NULL, 0);
            ds_put_cstr(&s, ", ");
        }
        odp_format_key(&s, put->key, put->key_len, put->mask, put->mask_len,
                       false);
        ds_put_cstr(&s, ", actions:");
        odp_format_actions(&s, put->actions, put->actions_len);
        break;
    }
    case DPIF_OP_FLOW_DEL:
        ds_put_cstr(&s, ": ");
        dpif_format_flow_name(&s, op->flow_del.ufid, op->flow_del.key,
                              op->flow_del.key_len);
        break;
    case DPIF_OP_FLOW_GET:
        ds_put_cstr(&s, ": ");
        dpif_format_flow_name(&s, op->flow_get.ufid, op->flow_get.key,
                              op->flow_get.key_len);
        break;
    case DPIF_OP_EXECUTE:
        ds_put_cstr(&s, ": ");
        odp_format_key(&s, op->execute.key, op->execute.key_len, NULL, 0,
                       false);
        ds_put_format(&s, ", %zu-byte packet, actions:",
                      op->execute.packet_len);
        odp_format_actions(&s, op->execute.actions, op->execute.actions_len);
        break;
    }
    ds_put_format(&s, ": %s", op->error ? strerror(op->error) : "success");
    LOG_DBG("%s", ds_cstr(&s));
    ds_destroy(&s);
}

/* Rejects ops whose arguments no provider should have to check. */
static int
dpif_op_check(const struct dpif_op *op)
{
    switch (op->type) {
    case DPIF_OP_FLOW_PUT:
        if (!op->flow_put.key || !op->flow_put.key_len
            || !(op->flow_put.flags & (DPIF_FP_CREATE | DPIF_FP_MODIFY))) {
            return EINVAL;
        }
        return 0;
    case DPIF_OP_FLOW_DEL:
        return op->flow_del.ufid || op->flow_del.key_len ? 0 : EINVAL;
    case DPIF_OP_FLOW_GET:
        return ((op->flow_get.ufid || op->flow_get.key_len)
                && op->flow_get.buffer && op->flow_get.flow ? 0 : EINVAL);
    case DPIF_OP_EXECUTE:
        return op->execute.packet_len >= 14 ? 0 : EINVAL;
    }
    return EINVAL;
}

void
dpif_operate(struct dpif *dpif, struct dpif_op **ops, size_t n_ops)
{
    while (n_ops > 0) {
        struct dpif_op *chunk[DPIF_OPERATE_CHUNK];
        size_t n_chunk = 0, consumed = 0;

        while (consumed < n_ops && n_chunk < DPIF_OPERATE_CHUNK) {
            struct dpif_op *op = ops[consumed++];
            op->error = dpif_op_check(op);
            if (!op->error) {
                chunk[n_chunk++] = op;
            }
        }
        if (n_chunk) {
            dpif->class->operate(dpif, chunk, n_chunk);
        }
        for (size_t i = 0; i < consumed; i++) {
            if (ops[i]->error && ops[i]->error != EEXIST
                && ops[i]->error != ENOENT) {
                static struct log_rl rl = LOG_RL_INIT(5, 20);
                LOG_WARN_RL(&rl, "%s: %s failed: %s", dpif->full_name,
                            dpif_op_name(ops[i]->type),
                            strerror(ops[i]->error));
            } else if (LOG_DBG_IS_ON()) {
                dpif_log_op(dpif, ops[i]);
            }
        }
        ops += consumed;
        n_ops -= consumed;
    }
}

struct dpif_flow_dump *
dpif_flow_dump_create(const struct dpif *dpif, bool terse)
{
    return dpif->class->flow_dump_create(dpif, terse);
}

int
dpif_flow_dump_destroy(struct dpif_flow_dump *dump)
{
    return dump->dpif->class->flow_dump_destroy(dump);
}

struct dpif_flow_dump_thread *
dpif_flow_dump_thread_create(struct dpif_flow_dump *dump)
{
    return dump->dpif->class->flow_dump_thread_create(dump);
}

void
dpif_flow_dump_thread_destroy(struct dpif_flow_dump_thread *thread)
{
    thread->dpif->class->flow_dump_thread_destroy(thread);
}

int
dpif_flow_dump_next(struct dpif_flow_dump_thread *thread,
                    struct dpif_flow *flows, int max_flows)
{
    return max_flows > 0
           ? thread->dpif->class->flow_dump_next(thread, flows, max_flows)
           : 0;
}

int
dpif_recv_set(struct dpif *dpif, bool enable)
{
    return dpif->class->recv_set(dpif, enable);
}

int
dpif_handlers_set(struct dpif *dpif, uint32_t n_handlers)
{
    return n_handlers ? dpif->class->handlers_set(dpif, n_handlers) : EINVAL;
}

int
dpif_recv(struct dpif *dpif, uint32_t handler_id, struct dpif_upcall *upcall)
{
    return dpif->class->recv(dpif, handler_id, upcall);
}

void
dpif_recv_wait(struct dpif *dpif, uint32_t handler_id, struct poller *p)
{
    dpif->class->recv_wait(dpif, handler_id, p);
}

void
dpif_recv_purge(struct dpif *dpif)
{
    dpif->class->recv_purge(dpif);
}

int
dpif_packet_inject(struct dpif *dpif, uint32_t port_no, const void *frame,
                   size_t len)
{
    if (!dpif->class->packet_inject) {
        return EOPNOTSUPP;
    }
    return len >= 14 ? dpif->class->packet_inject(dpif, port_no, frame, len)
                     : EINVAL;
}

int
dpif_capture_read(struct dpif *dpif, uint32_t port_no, bool clear,
                  void (*cb)(const void *frame, size_t len,
                             long long wall_msec, void *aux),
                  void *aux)
{
    return (dpif->class->capture_read
            ? dpif->class->capture_read(dpif, port_no, clear, cb, aux)
            : EOPNOTSUPP);
}

void
dpif_upcall_init(struct dpif_upcall *upcall)
{
    memset(upcall, 0, sizeof *upcall);
    buf_init(&upcall->packet, 0);
    buf_init(&upcall->key, 0);
    buf_init(&upcall->userdata, 0);
}

void
dpif_upcall_uninit(struct dpif_upcall *upcall)
{
    buf_uninit(&upcall->packet);
    buf_uninit(&upcall->key);
    buf_uninit(&upcall->userdata);
}
