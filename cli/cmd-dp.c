/* cmd-dp.c — datapath and port commands: show, dump-dps, add-dp, del-dp,
 * add-if, del-if. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/text.h"
#include "common/ipc-limits.h"

/* ----- show ------------------------------------------------------------ */

static int
show_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__ShowRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__show_request__init(r);
    if (cmd_arg(ctx, 0)) {
        int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->dp, NULL);
        if (error) {
            return error;
        }
    }
    req->command_case = DPIF__REQUEST__COMMAND_SHOW;
    req->show = r;
    return 0;
}

/* "-" for a statistic the provider does not keep. */
static void
put_stat(struct ds *out, bool has, uint64_t value)
{
    if (has) {
        ds_put_format(out, "%" PRIu64, value);
    } else {
        ds_put_char(out, '-');
    }
}

static void
show_print_ports(struct ds *out, const Dpif__DatapathInfo *dp)
{
    static const char *const stat_names[] = {
        "RX_PKTS", "RX_BYTES", "RX_DROP", "RX_ERR",
        "TX_PKTS", "TX_BYTES", "TX_DROP", "TX_ERR",
    };
    bool any_stats = false;
    struct table t;

    for (size_t i = 0; i < dp->n_ports; i++) {
        any_stats |= dp->ports[i]->stats != NULL;
    }
    table_init(&t, any_stats ? 3 + ARRAY_SIZE(stat_names) : 3);
    table_set_column(&t, 0, "PORT", true);
    table_set_column(&t, 1, "NAME", false);
    table_set_column(&t, 2, "TYPE", false);
    for (size_t i = 0; any_stats && i < ARRAY_SIZE(stat_names); i++) {
        table_set_column(&t, 3 + i, stat_names[i], true);
    }
    for (size_t i = 0; i < dp->n_ports; i++) {
        const Dpif__PortInfo *p = dp->ports[i];
        const Dpif__PortStats *s = p->stats;

        table_add_row(&t);
        table_put(&t, 0, "%" PRIu32, p->port_no);
        table_put(&t, 1, "%s", p->name);
        table_put(&t, 2, "%s", p->type);
        if (s) {
            const struct {
                bool has;
                uint64_t v;
            } v[] = {
                { s->has_rx_packets, s->rx_packets },
                { s->has_rx_bytes, s->rx_bytes },
                { s->has_rx_dropped, s->rx_dropped },
                { s->has_rx_errors, s->rx_errors },
                { s->has_tx_packets, s->tx_packets },
                { s->has_tx_bytes, s->tx_bytes },
                { s->has_tx_dropped, s->tx_dropped },
                { s->has_tx_errors, s->tx_errors },
            };
            for (size_t j = 0; j < ARRAY_SIZE(v); j++) {
                if (v[j].has) {
                    table_put(&t, 3 + j, "%" PRIu64, v[j].v);
                } else {
                    table_put(&t, 3 + j, "-");
                }
            }
        }
    }
    table_format(&t, "    ", out);
    table_destroy(&t);
}

static void
show_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__ShowReply *r = reply->show;
    struct ds *out = &ctx->out;

    for (size_t i = 0; i < r->n_dps; i++) {
        const Dpif__DatapathInfo *dp = r->dps[i];

        cmd_put_dp_name(out, dp->type, dp->name);
        ds_put_cstr(out, ":\n  lookups: hit:");
        put_stat(out, dp->has_n_hit, dp->n_hit);
        ds_put_cstr(out, " missed:");
        put_stat(out, dp->has_n_missed, dp->n_missed);
        ds_put_cstr(out, " lost:");
        put_stat(out, dp->has_n_lost, dp->n_lost);
        ds_put_cstr(out, "\n  flows: ");
        put_stat(out, dp->has_n_flows, dp->n_flows);
        ds_put_cstr(out, "\n  masks: total:");
        put_stat(out, dp->has_n_masks, dp->n_masks);
        ds_put_char(out, '\n');
        if (dp->n_ports) {
            ds_put_cstr(out, "  ports:\n");
            show_print_ports(out, dp);
        } else {
            ds_put_cstr(out, "  ports: none\n");
        }
    }
}

/* A statistic, or null when the provider does not keep it. */
static void
json_member_stat(struct json_writer *jw, const char *key, bool has,
                 uint64_t value)
{
    if (has) {
        json_member_uint(jw, key, value);
    } else {
        json_member_null(jw, key);
    }
}

static void
show_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__ShowReply *r = reply->show;
    struct json_writer *jw = &ctx->json;

    json_begin_object(jw);
    json_key(jw, "datapaths");
    json_begin_array(jw);
    for (size_t i = 0; i < r->n_dps; i++) {
        const Dpif__DatapathInfo *dp = r->dps[i];

        json_begin_object(jw);
        json_member_string(jw, "name", dp->name);
        json_member_string(jw, "type", dp->type);
        json_key(jw, "lookups");
        json_begin_object(jw);
        json_member_stat(jw, "hit", dp->has_n_hit, dp->n_hit);
        json_member_stat(jw, "missed", dp->has_n_missed, dp->n_missed);
        json_member_stat(jw, "lost", dp->has_n_lost, dp->n_lost);
        json_end_object(jw);
        json_member_stat(jw, "flows", dp->has_n_flows, dp->n_flows);
        json_key(jw, "masks");
        json_begin_object(jw);
        json_member_stat(jw, "total", dp->has_n_masks, dp->n_masks);
        json_end_object(jw);
        json_key(jw, "ports");
        json_begin_array(jw);
        for (size_t j = 0; j < dp->n_ports; j++) {
            const Dpif__PortInfo *p = dp->ports[j];
            const Dpif__PortStats *s = p->stats;

            json_begin_object(jw);
            json_member_uint(jw, "port_no", p->port_no);
            json_member_string(jw, "name", p->name);
            json_member_string(jw, "type", p->type);
            if (s) {
                json_key(jw, "stats");
                json_begin_object(jw);
                json_member_stat(jw, "rx_packets", s->has_rx_packets,
                                 s->rx_packets);
                json_member_stat(jw, "rx_bytes", s->has_rx_bytes,
                                 s->rx_bytes);
                json_member_stat(jw, "rx_dropped", s->has_rx_dropped,
                                 s->rx_dropped);
                json_member_stat(jw, "rx_errors", s->has_rx_errors,
                                 s->rx_errors);
                json_member_stat(jw, "tx_packets", s->has_tx_packets,
                                 s->tx_packets);
                json_member_stat(jw, "tx_bytes", s->has_tx_bytes,
                                 s->tx_bytes);
                json_member_stat(jw, "tx_dropped", s->has_tx_dropped,
                                 s->tx_dropped);
                json_member_stat(jw, "tx_errors", s->has_tx_errors,
                                 s->tx_errors);
                json_end_object(jw);
            } else {
                json_member_null(jw, "stats");
            }
            json_end_object(jw);
        }
        json_end_array(jw);
        json_end_object(jw);
    }
    json_end_array(jw);
    json_end_object(jw);
}

/* ----- dump-dps --------------------------------------------------------- */

static int
dump_dps_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__DumpDpsRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__dump_dps_request__init(r);
    req->command_case = DPIF__REQUEST__COMMAND_DUMP_DPS;
    req->dump_dps = r;
    return 0;
}

static void
dump_dps_print_text(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__DumpDpsReply *r = reply->dump_dps;

    for (size_t i = 0; i < r->n_dps; i++) {
        cmd_put_dp_name(&ctx->out, r->dps[i]->type, r->dps[i]->name);
        ds_put_char(&ctx->out, '\n');
    }
}

static void
dump_dps_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const Dpif__DumpDpsReply *r = reply->dump_dps;
    struct json_writer *jw = &ctx->json;

    json_begin_object(jw);
    json_key(jw, "datapaths");
    json_begin_array(jw);
    for (size_t i = 0; i < r->n_dps; i++) {
        json_begin_object(jw);
        json_member_string(jw, "name", r->dps[i]->name);
        json_member_string(jw, "type", r->dps[i]->type);
        json_end_object(jw);
    }
    json_end_array(jw);
    json_end_object(jw);
}

/* ----- add-dp, del-dp ----------------------------------------------------- */

static bool
dp_type_is_valid(const char *type)
{
    return (!strcmp(type, "system") || !strcmp(type, "netdev")
            || !strcmp(type, "dummy"));
}

static int
add_dp_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__AddDpRequest *r = cmd_alloc(ctx, sizeof *r);
    const char *opt_type = cmd_opt(ctx, "type");
    char *type;

    dpif__add_dp_request__init(r);
    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->name, &type);
    if (error) {
        return error;
    }
    if (type && opt_type && strcmp(type, opt_type)) {
        return cmd_usage(ctx, "type %s@ and --type %s disagree", type,
                         opt_type);
    }
    r->type = (type ? type
               : opt_type ? cmd_strdup(ctx, opt_type)
               : cmd_strdup(ctx, "netdev"));
    if (!dp_type_is_valid(r->type)) {
        return cmd_usage(ctx, "unknown datapath type \"%s\" (system, netdev "
                         "or dummy)", r->type);
    }
    req->command_case = DPIF__REQUEST__COMMAND_ADD_DP;
    req->add_dp = r;
    return 0;
}

static int
del_dp_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    Dpif__DelDpRequest *r = cmd_alloc(ctx, sizeof *r);

    dpif__del_dp_request__init(r);
    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &r->name, NULL);
    if (error) {
        return error;
    }
    req->command_case = DPIF__REQUEST__COMMAND_DEL_DP;
    req->del_dp = r;
    return 0;
}

/* ----- add-if, del-if ------------------------------------------------------
 *
 * Both take one or more ports after DP and send one request per port, in
 * order, stopping at the first failure (as ovs-dpctl does). */

struct if_state {
    Dpif__Request *requests;    /* One per port, all built up front. */
    size_t n, next;             /* Requests; index of the next to send. */
};

/* Parses "NAME[,type=T][,port_no=N][,KEY=VALUE]...". */
static int
add_if_parse(struct cmd_ctx *ctx, const char *dp, const char *arg,
             Dpif__AddIfRequest *r)
{
    char *copy = cmd_strdup(ctx, arg);
    char *save = NULL;
    char *name = strtok_r(copy, ",", &save);

    dpif__add_if_request__init(r);
    r->dp = (char *) dp;
    if (!name || copy[0] == ',') {
        return cmd_usage(ctx, "\"%s\": interface name is empty", arg);
    } else if (strlen(name) > IPC_MAX_NAME) {
        return cmd_usage(ctx, "interface name \"%s\" is longer than %d "
                         "bytes", name, IPC_MAX_NAME);
    }
    r->name = name;
    r->options = cmd_alloc(ctx, IPC_MAX_PORT_OPTIONS * sizeof *r->options);
    for (char *kv; (kv = strtok_r(NULL, ",", &save)) != NULL;) {
        char *eq = strchr(kv, '=');
        if (!eq || eq == kv) {
            return cmd_usage(ctx, "%s: option \"%s\" is not KEY=VALUE", name,
                             kv);
        }
        *eq = '\0';
        const char *value = eq + 1;
        if (strlen(kv) > IPC_MAX_NAME || strlen(value) > IPC_MAX_NAME) {
            return cmd_usage(ctx, "%s: option %s is longer than %d bytes",
                             name, kv, IPC_MAX_NAME);
        }
        if (!strcmp(kv, "type")) {
            if (r->type) {
                return cmd_usage(ctx, "%s: type given twice", name);
            } else if (!value[0]) {
                return cmd_usage(ctx, "%s: type is empty", name);
            }
            r->type = (char *) value;
        } else if (!strcmp(kv, "port_no")) {
            uint64_t v;
            if (r->has_port_no) {
                return cmd_usage(ctx, "%s: port_no given twice", name);
            }
            int error = cmd_parse_uint(ctx, "port_no", value, 0, UINT32_MAX,
                                       &v);
            if (error) {
                return error;
            }
            r->has_port_no = true;
            r->port_no = (uint32_t) v;
        } else {
            if (r->n_options == IPC_MAX_PORT_OPTIONS) {
                return cmd_usage(ctx, "%s: more than %d options", name,
                                 IPC_MAX_PORT_OPTIONS);
            }
            Dpif__PortOption *o = cmd_alloc(ctx, sizeof *o);
            dpif__port_option__init(o);
            o->key = kv;
            o->value = (char *) value;
            r->options[r->n_options++] = o;
        }
    }
    return 0;
}

static int
add_if_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    struct if_state *st = cmd_alloc(ctx, sizeof *st);
    char *dp;

    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &dp, NULL);
    if (error) {
        return error;
    }
    st->n = ctx->n_args - 1;
    st->requests = cmd_alloc(ctx, st->n * sizeof *st->requests);
    for (size_t i = 0; i < st->n; i++) {
        Dpif__AddIfRequest *r = cmd_alloc(ctx, sizeof *r);
        error = add_if_parse(ctx, dp, cmd_arg(ctx, i + 1), r);
        if (error) {
            return error;
        }
        dpif__request__init(&st->requests[i]);
        st->requests[i].command_case = DPIF__REQUEST__COMMAND_ADD_IF;
        st->requests[i].add_if = r;
    }
    ctx->state = st;
    st->next = 1;
    *req = st->requests[0];
    return 0;
}

static bool
if_next(struct cmd_ctx *ctx, const Dpif__Reply *reply, Dpif__Request *req)
{
    struct if_state *st = ctx->state;

    if (st->next >= st->n) {
        return false;
    }
    *req = st->requests[st->next++];
    return true;
}

static void
add_if_print_json(struct cmd_ctx *ctx, const Dpif__Reply *reply)
{
    const struct if_state *st = ctx->state;
    const Dpif__AddIfRequest *r = st->requests[st->next - 1].add_if;
    struct json_writer *jw = &ctx->json;

    if (!ctx->n_replies) {
        json_begin_object(jw);
        json_key(jw, "ports");
        json_begin_array(jw);
    }
    json_begin_object(jw);
    json_member_string(jw, "name", r->name);
    json_member_uint(jw, "port_no", reply->add_if->port_no);
    json_end_object(jw);
    if (st->next == st->n) {
        json_end_array(jw);
        json_end_object(jw);
    }
}

static int
del_if_build(struct cmd_ctx *ctx, Dpif__Request *req)
{
    struct if_state *st = cmd_alloc(ctx, sizeof *st);
    char *dp;

    int error = cmd_parse_dp(ctx, cmd_arg(ctx, 0), &dp, NULL);
    if (error) {
        return error;
    }
    st->n = ctx->n_args - 1;
    st->requests = cmd_alloc(ctx, st->n * sizeof *st->requests);
    for (size_t i = 0; i < st->n; i++) {
        const char *arg = cmd_arg(ctx, i + 1);
        Dpif__DelIfRequest *r = cmd_alloc(ctx, sizeof *r);

        dpif__del_if_request__init(r);
        r->dp = dp;
        if (arg[0] >= '0' && arg[0] <= '9') {
            uint64_t v;
            error = cmd_parse_uint(ctx, "port number", arg, 0, UINT32_MAX,
                                   &v);
            if (error) {
                return error;
            }
            r->port_case = DPIF__DEL_IF_REQUEST__PORT_PORT_NO;
            r->port_no = (uint32_t) v;
        } else if (!arg[0] || strlen(arg) > IPC_MAX_NAME) {
            return cmd_usage(ctx, "interface name \"%s\" is empty or longer "
                             "than %d bytes", arg, IPC_MAX_NAME);
        } else {
            r->port_case = DPIF__DEL_IF_REQUEST__PORT_NAME;
            r->name = (char *) arg;
        }
        dpif__request__init(&st->requests[i]);
        st->requests[i].command_case = DPIF__REQUEST__COMMAND_DEL_IF;
        st->requests[i].del_if = r;
    }
    ctx->state = st;
    st->next = 1;
    *req = st->requests[0];
    return 0;
}

/* ----- the table ---------------------------------------------------------- */

static const struct cmd_option add_dp_options[] = {
    { "type", 't', "TYPE", "provider: netdev (default), dummy or system" },
    { NULL, 0, NULL, NULL },
};

const struct command cmd_dp_commands[] = {
    {
        .name = "show",
        .usage = "[DP]",
        .summary = "datapaths with their statistics and ports",
        .help = "Prints every datapath (or only DP) with its lookup\n"
                "statistics (hit, missed, lost), its number of flows and\n"
                "masks, and its ports with their number, name, type and\n"
                "counters (\"-\" where the port does not count).\n"
                "DP may be written TYPE@NAME, as dump-dps prints it.",
        .min_args = 0, .max_args = 1, .read_only = true,
        .build = show_build,
        .print_text = show_print_text,
        .print_json = show_print_json,
    },
    {
        .name = "dump-dps",
        .usage = "",
        .summary = "names of all datapaths",
        .help = "Prints one TYPE@NAME line per datapath.",
        .min_args = 0, .max_args = 0, .read_only = true,
        .build = dump_dps_build,
        .print_text = dump_dps_print_text,
        .print_json = dump_dps_print_json,
    },
    {
        .name = "add-dp",
        .usage = "DP",
        .summary = "create a datapath",
        .help = "Creates datapath DP.  Its type comes from --type or from\n"
                "a TYPE@ prefix (\"dummy@dp0\"); netdev by default.",
        .options = add_dp_options,
        .min_args = 1, .max_args = 1,
        .build = add_dp_build,
    },
    {
        .name = "del-dp",
        .usage = "DP",
        .summary = "destroy a datapath",
        .help = "Destroys datapath DP, its flows and its workers.",
        .min_args = 1, .max_args = 1,
        .build = del_dp_build,
    },
    {
        .name = "add-if",
        .usage = "DP IFACE[,type=T][,port_no=N][,KEY=VALUE]...",
        .summary = "add ports to a datapath",
        .help = "Adds each IFACE to DP, in order, stopping at the first\n"
                "failure.  type is internal, system, dummy, ...; the\n"
                "datapath's default otherwise.  port_no asks for a port\n"
                "number; other KEY=VALUE pairs are port options.\n"
                "With --format json, prints the port numbers given.",
        .min_args = 2, .max_args = CMD_ARGS_UNLIMITED,
        .build = add_if_build,
        .print_json = add_if_print_json,
        .next = if_next,
    },
    {
        .name = "del-if",
        .usage = "DP IFACE...",
        .summary = "remove ports from a datapath",
        .help = "Removes each IFACE (a port name or number) from DP, in\n"
                "order, stopping at the first failure.",
        .min_args = 2, .max_args = CMD_ARGS_UNLIMITED,
        .build = del_if_build,
        .next = if_next,
    },
};
const size_t cmd_dp_n_commands = ARRAY_SIZE(cmd_dp_commands);
