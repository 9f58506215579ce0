/* commands.c — the command table and the helpers commands share; see
 * commands.h. */
#include "cli/commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/text.h"
#include "common/ipc.h"

static const struct command_section sections[] = {
    { "Datapaths and ports", cmd_dp_commands, &cmd_dp_n_commands },
    { "Flows", cmd_flow_commands, &cmd_flow_n_commands },
    { "Upcalls and revalidation", cmd_upcall_commands,
      &cmd_upcall_n_commands },
    { "Policy and MAC learning", cmd_policy_commands,
      &cmd_policy_n_commands },
    { "Processes and health", cmd_status_commands, &cmd_status_n_commands },
    { "Dummy ports (tests and demos)", cmd_dummy_commands,
      &cmd_dummy_n_commands },
};

const struct command_section *
command_sections(size_t *n)
{
    *n = ARRAY_SIZE(sections);
    return sections;
}

const struct command *
command_find(const char *name)
{
    for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
        for (size_t i = 0; i < *sections[s].n_commands; i++) {
            if (!strcmp(sections[s].commands[i].name, name)) {
                return &sections[s].commands[i];
            }
        }
    }
    return NULL;
}

void
cmd_ctx_init(struct cmd_ctx *ctx, const struct command *cmd,
             enum cmd_format format)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->cmd = cmd;
    ctx->format = format;
    ds_init(&ctx->out);
    ds_init(&ctx->error);
    ds_init(&ctx->notes);
    json_init(&ctx->json, &ctx->out);
    ctx->exit_status = DPIFCTL_EXIT_OK;
}

void
cmd_ctx_destroy(struct cmd_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_allocs; i++) {
        free(ctx->allocs[i]);
    }
    free(ctx->allocs);
    free(ctx->args);
    ds_destroy(&ctx->out);
    ds_destroy(&ctx->error);
    ds_destroy(&ctx->notes);
    memset(ctx, 0, sizeof *ctx);
}

void *
cmd_adopt(struct cmd_ctx *ctx, void *p)
{
    if (ctx->n_allocs == ctx->allocated_allocs) {
        ctx->allocated_allocs = (ctx->allocated_allocs
                                 ? 2 * ctx->allocated_allocs : 16);
        ctx->allocs = xrealloc(ctx->allocs,
                               ctx->allocated_allocs * sizeof *ctx->allocs);
    }
    ctx->allocs[ctx->n_allocs++] = p;
    return p;
}

void *
cmd_alloc(struct cmd_ctx *ctx, size_t size)
{
    return cmd_adopt(ctx, xzalloc(size ? size : 1));
}

char *
cmd_strdup(struct cmd_ctx *ctx, const char *s)
{
    return cmd_adopt(ctx, xstrdup(s));
}

static int cmd_error_valist(struct cmd_ctx *, int status, int error,
                            const char *fmt, va_list) PRINTF_FORMAT(4, 0);

static int
cmd_error_valist(struct cmd_ctx *ctx, int status, int error, const char *fmt,
                 va_list args)
{
    ds_clear(&ctx->error);
    ds_put_format(&ctx->error, "%s: ", ctx->cmd->name);
    ds_put_format_valist(&ctx->error, fmt, args);
    ctx->exit_status = status;
    return error;
}

int
cmd_usage(struct cmd_ctx *ctx, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    int error = cmd_error_valist(ctx, DPIFCTL_EXIT_USAGE, EINVAL, fmt, args);
    va_end(args);
    return error;
}

int
cmd_fail(struct cmd_ctx *ctx, int error, const char *fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    cmd_error_valist(ctx, DPIFCTL_EXIT_FAILED, error, fmt, args);
    va_end(args);
    return error;
}

int
cmd_fail_reply(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    int error = reply->error ? (int) reply->error : EPROTO;
    struct ds reason = DS_EMPTY_INITIALIZER;

    if (ctx->reason_prefix) {
        text_put_safe_cstr(&reason, ctx->reason_prefix);
    }
    if (reply->reason && reply->reason[0]) {
        /* The message already starts with the command's name. */
        const char *r = reply->reason;
        size_t n = strlen(ctx->cmd->name);
        if (!strncmp(r, ctx->cmd->name, n) && !strncmp(r + n, ": ", 2)) {
            r += n + 2;
        }
        text_put_safe_cstr(&reason, r);
    } else {
        ds_put_cstr(&reason, strerror(error));
    }
    if (error == EACCES || error == EPERM) {
        ds_put_cstr(&reason, ctx->cmd->read_only
                    ? " (need group dpifd, or dpifd-admin for changes)"
                    : " (changes need root or group dpifd-admin)");
    }
    cmd_fail(ctx, error, "%s", ds_cstr(&reason));
    ds_destroy(&reason);
    return error;
}

static int
cmd_opt_index(const struct cmd_ctx *ctx, const char *name)
{
    const struct cmd_option *o = ctx->cmd->options;
    for (int i = 0; o && o[i].name; i++) {
        if (!strcmp(o[i].name, name)) {
            return i;
        }
    }
    return -1;
}

const char *
cmd_opt(const struct cmd_ctx *ctx, const char *name)
{
    int i = cmd_opt_index(ctx, name);
    return i >= 0 ? ctx->opts[i] : NULL;
}

bool
cmd_has_opt(const struct cmd_ctx *ctx, const char *name)
{
    return cmd_opt(ctx, name) != NULL;
}

const char *
cmd_arg(const struct cmd_ctx *ctx, size_t i)
{
    return i < ctx->n_args ? ctx->args[i] : NULL;
}

int
cmd_parse_uint(struct cmd_ctx *ctx, const char *what, const char *s,
               uint64_t min, uint64_t max, uint64_t *valuep)
{
    uint64_t v;
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    int error = str_to_uint(hex ? s + 2 : s, hex ? 16 : 10, max, &v);

    if (hex && !s[2]) {
        error = EINVAL;
    }
    if (error == EINVAL) {
        return cmd_usage(ctx, "%s: \"%s\" is not a number", what, s);
    } else if (error || v < min) {
        return cmd_usage(ctx, "%s: %s is out of range %llu..%llu", what, s,
                         (unsigned long long) min, (unsigned long long) max);
    }
    *valuep = v;
    return 0;
}

int
cmd_parse_dp(struct cmd_ctx *ctx, const char *arg, char **namep,
             char **typep)
{
    const char *at = strchr(arg, '@');
    const char *name = at ? at + 1 : arg;

    if (!name[0]) {
        return cmd_usage(ctx, "datapath name is empty");
    } else if (strlen(name) > IPC_MAX_NAME) {
        return cmd_usage(ctx, "datapath name \"%s\" is longer than %d bytes",
                         name, IPC_MAX_NAME);
    } else if (at && at == arg) {
        return cmd_usage(ctx, "datapath type before '@' is empty");
    }
    if (typep) {
        *typep = at ? cmd_adopt(ctx, xmemdup(arg, (size_t) (at - arg) + 1))
                    : NULL;
        if (*typep) {
            (*typep)[at - arg] = '\0';
        }
    }
    *namep = cmd_strdup(ctx, name);
    return 0;
}

int
cmd_transact(struct cmd_ctx *ctx, const Dpif__Request *request,
             struct ipc_msg *m)
{
    struct errbuf eb = { "" };

    if (!ctx->client) {
        return cmd_fail(ctx, ENOTCONN, "not connected to dpifd");
    }
    /* "cannot connect to ..." is about dpifctl, not about the command. */
    int error = client_connect(ctx->client, &eb);
    if (error) {
        ds_clear(&ctx->error);
        ds_put_cstr(&ctx->error, eb.msg);
        ctx->exit_status = DPIFCTL_EXIT_FAILED;
        return error;
    }
    error = client_transact(ctx->client, request, m, &eb);
    if (error) {
        return cmd_fail(ctx, error, "%s", eb.msg);
    }
    const Dpif__Reply *reply = (const Dpif__Reply *) m->msg;
    if (reply->error) {
        error = cmd_fail_reply(ctx, reply);
        ipc_msg_destroy(m);
    }
    return error;
}

int
cmd_resolve_dp(struct cmd_ctx *ctx, const char *arg, char **namep)
{
    if (arg) {
        return cmd_parse_dp(ctx, arg, namep, NULL);
    }

    Dpif__Request req = DPIF__REQUEST__INIT;
    Dpif__DumpDpsRequest dd = DPIF__DUMP_DPS_REQUEST__INIT;
    struct ipc_msg m;

    req.command_case = DPIF__REQUEST__COMMAND_DUMP_DPS;
    req.dump_dps = &dd;
    int error = cmd_transact(ctx, &req, &m);
    if (error) {
        return error;
    }
    const Dpif__DumpDpsReply *r = ((const Dpif__Reply *) m.msg)->dump_dps;
    if (r->n_dps == 1) {
        *namep = cmd_strdup(ctx, r->dps[0]->name);
    } else if (!r->n_dps) {
        error = cmd_fail(ctx, ENOENT, "dpifd has no datapath");
    } else {
        struct ds names = DS_EMPTY_INITIALIZER;
        for (size_t i = 0; i < r->n_dps; i++) {
            ds_put_cstr(&names, i ? ", " : "");
            text_put_safe_cstr(&names, r->dps[i]->name);
        }
        error = cmd_usage(ctx, "there are %zu datapaths (%s): name one",
                          r->n_dps, ds_cstr(&names));
        ds_destroy(&names);
    }
    ipc_msg_destroy(&m);
    return error;
}

int
cmd_resolve_port(struct cmd_ctx *ctx, const char *dp, const char *arg,
                 uint32_t *port_nop)
{
    uint64_t v;

    if (arg[0] >= '0' && arg[0] <= '9') {
        int error = cmd_parse_uint(ctx, "PORT", arg, 0, UINT32_MAX, &v);
        if (!error) {
            *port_nop = (uint32_t) v;
        }
        return error;
    }

    Dpif__Request req = DPIF__REQUEST__INIT;
    Dpif__ShowRequest show = DPIF__SHOW_REQUEST__INIT;
    struct ipc_msg m;

    show.dp = (char *) dp;
    req.command_case = DPIF__REQUEST__COMMAND_SHOW;
    req.show = &show;
    int error = cmd_transact(ctx, &req, &m);
    if (error) {
        return error;
    }
    const Dpif__ShowReply *r = ((const Dpif__Reply *) m.msg)->show;
    bool found = false;
    for (size_t i = 0; i < r->n_dps && !found; i++) {
        for (size_t j = 0; j < r->dps[i]->n_ports && !found; j++) {
            if (!strcmp(r->dps[i]->ports[j]->name, arg)) {
                *port_nop = r->dps[i]->ports[j]->port_no;
                found = true;
            }
        }
    }
    ipc_msg_destroy(&m);
    return found ? 0 : cmd_fail(ctx, ENOENT, "datapath %s has no port "
                                "named %s", dp, arg);
}

void
cmd_put_dp_name(struct ds *out, const char *type, const char *name)
{
    text_put_safe_cstr(out, type);
    ds_put_char(out, '@');
    text_put_safe_cstr(out, name);
}
