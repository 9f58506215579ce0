/* dpifctl.c — command line, help and the command loop; see dpifctl.h. */
#include "cli/dpifctl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "common/ipc.h"
#include "common/timeval.h"

/* ----- parsing ------------------------------------------------------------ */

enum global_option {
    GOPT_SOCKET,
    GOPT_FORMAT,
    GOPT_TIMEOUT,
    GOPT_HELP,
    GOPT_VERSION,
};

static const struct {
    enum global_option id;
    const char *name;
    char short_name;
    bool has_arg;
    bool after_command;         /* Also accepted among a command's args. */
} global_options[] = {
    { GOPT_SOCKET, "socket", 0, true, true },
    { GOPT_FORMAT, "format", 'f', true, true },
    { GOPT_TIMEOUT, "timeout", 0, true, true },
    { GOPT_HELP, "help", 'h', false, true },
    { GOPT_VERSION, "version", 'V', false, false },
};

/* Records a usage error that is not tied to a command. */
static int PRINTF_FORMAT(2, 3)
parse_error(struct dpifctl_invocation *inv, const char *fmt, ...)
{
    va_list args;

    ds_clear(&inv->ctx.error);
    va_start(args, fmt);
    ds_put_format_valist(&inv->ctx.error, fmt, args);
    va_end(args);
    inv->ctx.exit_status = DPIFCTL_EXIT_USAGE;
    return EINVAL;
}

/* Prefixes with the command's name once it is known. */
static int PRINTF_FORMAT(2, 3)
parse_usage(struct dpifctl_invocation *inv, const char *fmt, ...)
{
    struct ds msg = DS_EMPTY_INITIALIZER;
    va_list args;

    va_start(args, fmt);
    ds_put_format_valist(&msg, fmt, args);
    va_end(args);
    if (inv->ctx.cmd) {
        cmd_usage(&inv->ctx, "%s", ds_cstr(&msg));
    } else {
        parse_error(inv, "%s", ds_cstr(&msg));
    }
    ds_destroy(&msg);
    return EINVAL;
}

static int
global_option_apply(struct dpifctl_invocation *inv, enum global_option id,
                    const char *value)
{
    uint64_t v;

    switch (id) {
    case GOPT_SOCKET:
        if (!value[0]) {
            return parse_usage(inv, "--socket: empty path");
        }
        inv->socket = value;
        return 0;
    case GOPT_FORMAT:
        if (!strcmp(value, "text")) {
            inv->ctx.format = CMD_FORMAT_TEXT;
        } else if (!strcmp(value, "json")) {
            inv->ctx.format = CMD_FORMAT_JSON;
        } else {
            return parse_usage(inv, "--format: \"%s\" is not text or json",
                               value);
        }
        return 0;
    case GOPT_TIMEOUT:
        if (str_to_uint(value, 10, 24 * 3600 * 1000, &v)) {
            return parse_usage(inv, "--timeout: \"%s\" is not a number of "
                               "milliseconds (0..86400000)", value);
        }
        inv->timeout_ms = (int) v;
        return 0;
    case GOPT_HELP:
        inv->help = true;
        return 0;
    case GOPT_VERSION:
        inv->version = true;
        return 0;
    }
    return 0;
}

/* One parsed "--name[=value]" or "-X" argument. */
struct option_arg {
    const char *name;           /* Long name (NULL for a short option). */
    size_t name_len;
    char short_name;            /* 0 for a long option. */
    const char *value;          /* "=value" or attached "-Xvalue", or NULL. */
};

static void
option_arg_split(const char *arg, struct option_arg *oa)
{
    memset(oa, 0, sizeof *oa);
    if (arg[1] == '-') {
        oa->name = arg + 2;
        oa->name_len = strcspn(oa->name, "=");
        if (oa->name[oa->name_len] == '=') {
            oa->value = oa->name + oa->name_len + 1;
        }
    } else {
        oa->short_name = arg[1];
        if (arg[2]) {
            oa->value = arg + 2;
        }
    }
}

static bool
option_arg_matches(const struct option_arg *oa, const char *name,
                   char short_name)
{
    if (oa->name) {
        return strlen(name) == oa->name_len
               && !strncmp(oa->name, name, oa->name_len);
    }
    return short_name && oa->short_name == short_name;
}

/* The printable form of 'oa' for messages. */
static void
option_arg_format(const struct option_arg *oa, struct ds *out)
{
    if (oa->name) {
        ds_put_format(out, "--%.*s", (int) oa->name_len, oa->name);
    } else {
        ds_put_format(out, "-%c", oa->short_name);
    }
}

/* Takes the value of option 'oa' from the argument itself or from the
 * next one. */
static int
option_take_value(struct dpifctl_invocation *inv, const struct option_arg *oa,
                  int argc, char *argv[], int *ip, const char **valuep)
{
    if (oa->value) {
        *valuep = oa->value;
        return 0;
    }
    if (*ip + 1 >= argc) {
        struct ds name = DS_EMPTY_INITIALIZER;
        option_arg_format(oa, &name);
        parse_usage(inv, "option %s needs a value", ds_cstr(&name));
        ds_destroy(&name);
        return EINVAL;
    }
    *valuep = argv[++*ip];
    return 0;
}

/* Handles the option argv[*ip] as a global option, if it is one: returns 0
 * (handled), ENOENT (not a global option) or EINVAL. */
static int
parse_global_option(struct dpifctl_invocation *inv, const struct option_arg *oa,
                    bool after_command, int argc, char *argv[], int *ip)
{
    for (size_t j = 0; j < ARRAY_SIZE(global_options); j++) {
        if (!option_arg_matches(oa, global_options[j].name,
                                global_options[j].short_name)
            || (after_command && !global_options[j].after_command)) {
            continue;
        }
        const char *value = "";
        if (global_options[j].has_arg) {
            int error = option_take_value(inv, oa, argc, argv, ip, &value);
            if (error) {
                return error;
            }
        } else if (oa->value) {
            return parse_usage(inv, "option --%s takes no value",
                               global_options[j].name);
        }
        return global_option_apply(inv, global_options[j].id, value);
    }
    return ENOENT;
}

/* Handles the option argv[*ip] as an option of the command: returns 0,
 * ENOENT (not one of its options) or EINVAL. */
static int
parse_command_option(struct dpifctl_invocation *inv,
                     const struct option_arg *oa, int argc, char *argv[],
                     int *ip)
{
    struct cmd_ctx *ctx = &inv->ctx;
    const struct cmd_option *o = ctx->cmd->options;

    for (size_t j = 0; o && o[j].name; j++) {
        if (!option_arg_matches(oa, o[j].name, o[j].short_name)) {
            continue;
        }
        const char *value = "";
        if (ctx->opts[j]) {
            return parse_usage(inv, "option --%s given twice", o[j].name);
        }
        if (o[j].arg) {
            int error = option_take_value(inv, oa, argc, argv, ip, &value);
            if (error) {
                return error;
            }
        } else if (oa->value) {
            return parse_usage(inv, "option --%s takes no value", o[j].name);
        }
        ctx->opts[j] = value;
        return 0;
    }
    return ENOENT;
}

/* An argument that is an option rather than an operand ("-" alone is an
 * operand: standard input). */
static bool
is_option(const char *arg)
{
    return arg[0] == '-' && arg[1] && strcmp(arg, "--");
}

/* The name of positional argument 'n' in 'usage' ("IFACE" for 1 in "DP
 * IFACE[,type=T]..."), for "missing IFACE". */
static void
usage_word(const char *usage, size_t n, struct ds *out)
{
    const char *p = usage;

    for (size_t i = 0; i < n && *p; i++) {
        p += strcspn(p, " ");
        p += strspn(p, " ");
    }
    size_t len = strcspn(p, " [.");
    if (*p == '{') {
        p++;
        len = strcspn(p, "}");
    }
    if (len) {
        ds_put_buffer(out, p, len);
    } else {
        ds_put_cstr(out, "argument");
    }
}

static int
parse_command_args(struct dpifctl_invocation *inv, int argc, char *argv[],
                   int i)
{
    struct cmd_ctx *ctx = &inv->ctx;
    bool options_done = false;

    ctx->args = xcalloc((size_t) argc, sizeof *ctx->args);
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (options_done || !is_option(arg)) {
            if (!options_done && !strcmp(arg, "--")) {
                options_done = true;
                continue;
            }
            ctx->args[ctx->n_args++] = argv[i];
            continue;
        }

        struct option_arg oa;
        option_arg_split(arg, &oa);
        int error = parse_command_option(inv, &oa, argc, argv, &i);
        if (error == ENOENT) {
            error = parse_global_option(inv, &oa, true, argc, argv, &i);
        }
        if (error == ENOENT) {
            struct ds name = DS_EMPTY_INITIALIZER;
            option_arg_format(&oa, &name);
            parse_usage(inv, "unknown option %s", ds_cstr(&name));
            ds_destroy(&name);
            return EINVAL;
        } else if (error) {
            return error;
        }
    }
    if (inv->help) {
        return 0;
    }
    if (ctx->n_args < ctx->cmd->min_args) {
        struct ds word = DS_EMPTY_INITIALIZER;
        usage_word(ctx->cmd->usage, ctx->n_args, &word);
        parse_usage(inv, "missing %s", ds_cstr(&word));
        ds_destroy(&word);
        return EINVAL;
    } else if (ctx->n_args > ctx->cmd->max_args) {
        return parse_usage(inv, "too many arguments (%zu given, at most %u)",
                           ctx->n_args, ctx->cmd->max_args);
    }
    return 0;
}

int
dpifctl_parse(int argc, char *argv[], struct dpifctl_invocation *inv)
{
    const char *env = getenv("DPIFD_SOCKET");
    int i;

    memset(inv, 0, sizeof *inv);
    cmd_ctx_init(&inv->ctx, NULL, CMD_FORMAT_TEXT);
    inv->socket = env && env[0] ? env : CLIENT_DEFAULT_SOCKET;
    inv->timeout_ms = DPIFCTL_DEFAULT_TIMEOUT_MS;

    for (i = 1; i < argc && is_option(argv[i]); i++) {
        struct option_arg oa;
        option_arg_split(argv[i], &oa);
        int error = parse_global_option(inv, &oa, false, argc, argv, &i);
        if (error == ENOENT) {
            struct ds name = DS_EMPTY_INITIALIZER;
            option_arg_format(&oa, &name);
            parse_error(inv, "unknown option %s", ds_cstr(&name));
            ds_destroy(&name);
            return EINVAL;
        } else if (error) {
            return error;
        }
    }
    if (i < argc && !strcmp(argv[i], "--")) {
        i++;
    }
    if (inv->help || inv->version) {
        return 0;
    }
    if (i >= argc) {
        return parse_error(inv, "no command given ('dpifctl help' lists "
                           "them)");
    }

    const char *name = argv[i++];
    if (!strcmp(name, "help")) {
        inv->help = true;
        if (i < argc) {
            name = argv[i++];
        } else {
            return 0;
        }
        if (i < argc) {
            return parse_error(inv, "help takes at most one COMMAND");
        }
    }
    if (!strncmp(name, "dpctl/", 6)) {
        name += 6;
    }
    inv->ctx.cmd = command_find(name);
    if (!inv->ctx.cmd) {
        return parse_error(inv, "unknown command \"%s\" ('dpifctl help' "
                           "lists them)", name);
    }
    return inv->help ? 0 : parse_command_args(inv, argc, argv, i);
}

void
dpifctl_invocation_destroy(struct dpifctl_invocation *inv)
{
    cmd_ctx_destroy(&inv->ctx);
}

/* ----- help ------------------------------------------------------------------ */

void
dpifctl_format_usage(const struct command *cmd, struct ds *out)
{
    const struct cmd_option *o = cmd->options;

    ds_put_format(out, "dpifctl %s", cmd->name);
    for (size_t i = 0; o && o[i].name; i++) {
        ds_put_format(out, " [--%s%s%s]", o[i].name, o[i].arg ? " " : "",
                      o[i].arg ? o[i].arg : "");
    }
    if (cmd->usage[0]) {
        ds_put_format(out, " %s", cmd->usage);
    }
}

static void
help_put_global(struct ds *out)
{
    ds_put_format(out,
        "Global options (before the command or among its arguments):\n"
        "  --socket PATH      control socket (default: $DPIFD_SOCKET, else\n"
        "                     %s)\n"
        "  -f, --format FMT   text (default) or json (docs/dpifctl-json.md)\n"
        "  --timeout MS       wait at most MS ms for each reply (default\n"
        "                     %d; 0: no limit)\n"
        "  -h, --help         help; \"dpifctl COMMAND --help\" for a "
        "command\n"
        "  -V, --version      print the version\n"
        "\n"
        "Exit status: 0 success, 1 the operation failed, 2 usage error.\n",
        CLIENT_DEFAULT_SOCKET, DPIFCTL_DEFAULT_TIMEOUT_MS);
}

static void
help_put_all(struct ds *out)
{
    size_t n_sections;
    const struct command_section *sections = command_sections(&n_sections);

    ds_put_cstr(out,
        "dpifctl: administer dpifd, the privilege-separated flow-caching "
        "switch\n\n"
        "usage: dpifctl [--socket PATH] [--format text|json] [--timeout MS]"
        "\n               COMMAND [ARG...]\n"
        "       dpifctl help [COMMAND]\n");
    for (size_t s = 0; s < n_sections; s++) {
        ds_put_format(out, "\n%s:\n", sections[s].title);
        for (size_t i = 0; i < *sections[s].n_commands; i++) {
            const struct command *cmd = &sections[s].commands[i];
            size_t start = out->length;

            ds_put_format(out, "  %s %s", cmd->name, cmd->usage);
            size_t width = out->length - start;
            if (width >= 34) {
                ds_put_cstr(out, "\n");
                width = 0;
            }
            ds_put_format(out, "%*s%s\n", (int) (34 - width), "",
                          cmd->summary);
        }
    }
    ds_put_char(out, '\n');
    help_put_global(out);
}

static void
help_put_command(const struct command *cmd, struct ds *out)
{
    const struct cmd_option *o = cmd->options;

    ds_put_cstr(out, "usage: ");
    dpifctl_format_usage(cmd, out);
    ds_put_format(out, "\n\n%s: %s.\n\n%s\n", cmd->name, cmd->summary,
                  cmd->help);
    if (o && o[0].name) {
        ds_put_cstr(out, "\nOptions:\n");
        for (size_t i = 0; o[i].name; i++) {
            size_t start = out->length;
            if (o[i].short_name) {
                ds_put_format(out, "  -%c, ", o[i].short_name);
            } else {
                ds_put_cstr(out, "      ");
            }
            ds_put_format(out, "--%s%s%s", o[i].name, o[i].arg ? " " : "",
                          o[i].arg ? o[i].arg : "");
            size_t width = out->length - start;
            ds_put_format(out, "%*s%s\n", width < 24 ? (int) (24 - width) : 1,
                          "", o[i].help);
        }
    }
    ds_put_format(out, "\nPermission: %s.\n"
                  "Global options: see \"dpifctl help\".\n",
                  cmd->read_only ? "read (group dpifd or root)"
                  : "change (group dpifd-admin or root)");
}

/* ----- running ------------------------------------------------------------------ */

static int
write_out(struct cmd_ctx *ctx, FILE *out)
{
    if (ctx->out.length) {
        fwrite(ds_cstr(&ctx->out), 1, ctx->out.length, out);
        ds_clear(&ctx->out);
    }
    return fflush(out) ? errno : 0;
}

/* Sends the requests of the command in 'ctx' and prints the replies. */
static void
dpifctl_run(struct cmd_ctx *ctx, FILE *out)
{
    const struct command *cmd = ctx->cmd;
    Dpif__Request req = DPIF__REQUEST__INIT;

    if (cmd->build(ctx, &req)) {
        return;
    }
    for (;;) {
        struct ipc_msg m;
        if (cmd_transact(ctx, &req, &m)) {
            return;
        }

        const Dpif__Reply *reply = (const Dpif__Reply *) m.msg;
        if (ctx->format == CMD_FORMAT_JSON && cmd->print_json) {
            cmd->print_json(ctx, reply);
        } else if (ctx->format == CMD_FORMAT_TEXT && cmd->print_text) {
            cmd->print_text(ctx, reply);
        }
        bool again = cmd->next && cmd->next(ctx, reply, &req);
        ipc_msg_destroy(&m);
        ctx->n_replies++;

        int error = write_out(ctx, out);
        if (error) {
            cmd_fail(ctx, error, "cannot write output: %s", strerror(error));
            return;
        }
        if (!again || ctx->exit_status) {
            break;
        }
    }
    if (ctx->format == CMD_FORMAT_JSON && !cmd->print_json) {
        ds_put_cstr(&ctx->out, "{}\n");
        write_out(ctx, out);
    }
}

/* What follows a usage error's message. */
static void
put_usage_trailer(const struct command *cmd, struct ds *out)
{
    ds_put_cstr(out, "usage: ");
    dpifctl_format_usage(cmd, out);
    ds_put_format(out, "\n(\"dpifctl %s --help\" for more)\n", cmd->name);
}

int
dpifctl_main(int argc, char *argv[], FILE *out, FILE *err)
{
    struct dpifctl_invocation inv;
    struct ds text = DS_EMPTY_INITIALIZER;
    int status;

    if (dpifctl_parse(argc, argv, &inv)) {
        ds_put_format(&text, "dpifctl: %s\n", ds_cstr(&inv.ctx.error));
        if (inv.ctx.cmd) {
            put_usage_trailer(inv.ctx.cmd, &text);
        }
        fputs(ds_cstr(&text), err);
        status = DPIFCTL_EXIT_USAGE;
    } else if (inv.version) {
        fprintf(out, "dpifctl (dpifd) %s\n", DPIFD_VERSION);
        status = DPIFCTL_EXIT_OK;
    } else if (inv.help) {
        if (inv.ctx.cmd) {
            help_put_command(inv.ctx.cmd, &text);
        } else {
            help_put_all(&text);
        }
        fputs(ds_cstr(&text), out);
        status = DPIFCTL_EXIT_OK;
    } else {
        struct client client;

        client_init(&client, inv.socket, inv.timeout_ms);
        inv.ctx.client = &client;
        inv.ctx.now_msec = time_msec();
        dpifctl_run(&inv.ctx, out);
        client_destroy(&client);
        inv.ctx.client = NULL;

        status = inv.ctx.exit_status;
        if (status) {
            ds_put_format(&text, "dpifctl: %s\n", ds_cstr(&inv.ctx.error));
            if (status == DPIFCTL_EXIT_USAGE) {
                put_usage_trailer(inv.ctx.cmd, &text);
            }
        } else {
            /* Notes are remarks like "more frames are buffered". */
            for (const char *s = ds_cstr(&inv.ctx.notes); *s;) {
                size_t len = strcspn(s, "\n");
                ds_put_format(&text, "dpifctl: %.*s\n", (int) len, s);
                s += len + (s[len] == '\n');
            }
        }
        fputs(ds_cstr(&text), err);
    }
    fflush(err);
    ds_destroy(&text);
    dpifctl_invocation_destroy(&inv);
    return status;
}
