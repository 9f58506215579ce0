/*
 * commands.h — dpifctl's command table and what every command shares.
 *
 * Overview
 * ========
 *
 * Each dpifctl command is one "struct command": its name as typed
 * ("dump-flows", "upcall/show"), how many positional arguments it takes,
 * its options, its help text, whether it only reads, and four functions:
 *
 *     build       turns the arguments into a Request (proto/control.proto),
 *                 doing any look-ups it needs first (the only datapath when
 *                 DP is omitted, a port number from a port name);
 *     print_text  prints one Reply for a terminal (NULL: prints nothing, as
 *                 ovs-dpctl prints nothing after a successful change);
 *     print_json  prints one Reply as part of the JSON document whose
 *                 schema docs/dpifctl-json.md documents (NULL: "{}");
 *     next        for paged commands (dump-flows, capture --clear, inject
 *                 with more than IPC_MAX_INJECT_FRAMES frames): given the
 *                 reply just printed, prepares the next request and returns
 *                 true, or returns false when the command is complete.
 *
 * dpifctl.c parses the command line into a "struct cmd_ctx" and drives
 * build, transact, print, next.  The command modules (cmd-dp.c,
 * cmd-flow.c, cmd-upcall.c, cmd-policy.c, cmd-status.c, cmd-dummy.c) each
 * define one slice of the table; command_find() searches all of them and
 * command_sections() lists them in the order of "dpifctl help".
 *
 * Errors
 * ======
 *
 * A builder reports a usage error with cmd_usage() (exit status 2: the
 * command line is wrong) and any other failure with cmd_fail() (exit
 * status 1: the operation failed).  Both record the message without the
 * "dpifctl: " prefix, which dpifctl.c adds; both return a positive errno so
 * that "return cmd_usage(ctx, ...)" reads naturally.  Usage errors are
 * found before any look-up, so a wrong command line gets a usage message
 * whether or not dpifd runs.
 *
 * Ownership
 * =========
 *
 * A Request built for a context points into memory that the context owns
 * (cmd_alloc(), cmd_strdup(), and the command line's argv, which outlives
 * it); all of it is freed by cmd_ctx_destroy().  Replies belong to the
 * driver and are valid only during print_text/print_json/next: anything a
 * command keeps from a reply (a dump cursor) it copies with cmd_alloc().
 */
#ifndef DPIF_CLI_COMMANDS_H
#define DPIF_CLI_COMMANDS_H 1

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cli/json.h"
#include "common/ds.h"
#include "common/util.h"
#include "proto/control.pb-c.h"

struct client;
struct ipc_msg;

/* Exit statuses of dpifctl. */
#define DPIFCTL_EXIT_OK 0       /* Success. */
#define DPIFCTL_EXIT_FAILED 1   /* The operation failed. */
#define DPIFCTL_EXIT_USAGE 2    /* The command line is wrong. */

enum cmd_format {
    CMD_FORMAT_TEXT,            /* For people (the default). */
    CMD_FORMAT_JSON,            /* For programs: docs/dpifctl-json.md. */
};

/* One option of a command ("--more", "--type T"). */
struct cmd_option {
    const char *name;           /* Long name without "--"; NULL ends. */
    char short_name;            /* "-X" form, or 0. */
    const char *arg;            /* Argument name for help, NULL: a flag. */
    const char *help;           /* One line. */
};

/* Most options one command has. */
#define CMD_MAX_OPTIONS 6
/* max_args of a command that takes any number of arguments. */
#define CMD_ARGS_UNLIMITED UINT32_MAX

struct cmd_ctx;

struct command {
    const char *name;           /* "dump-flows". */
    const char *usage;          /* Arguments: "[DP] [FILTER]". */
    const char *summary;        /* One line for "dpifctl help". */
    const char *help;           /* Paragraphs for "dpifctl CMD --help". */
    const struct cmd_option *options; /* Terminated by a NULL name; or NULL. */
    uint32_t min_args, max_args;      /* Positional arguments. */
    bool read_only;             /* Needs only the dpifd group. */
    int (*build)(struct cmd_ctx *, Dpif__Request *);
    void (*print_text)(struct cmd_ctx *, const Dpif__Reply *);
    void (*print_json)(struct cmd_ctx *, const Dpif__Reply *);
    bool (*next)(struct cmd_ctx *, const Dpif__Reply *, Dpif__Request *);
};

/* Everything one invocation of a command knows. */
struct cmd_ctx {
    /* The command line (dpifctl.c fills these). */
    const struct command *cmd;
    char **args;                /* Positional arguments; the array is owned,
                                 * the strings are argv's. */
    size_t n_args;
    const char *opts[CMD_MAX_OPTIONS]; /* Per cmd->options[i]: the value, ""
                                        * for a flag given, NULL if absent. */
    enum cmd_format format;
    long long now_msec;         /* time_msec() when the command started:
                                 * flow ages are relative to it. */
    struct client *client;      /* For look-ups; NULL: none possible. */

    /* Output of the reply being printed; the driver writes it out and
     * clears it after each reply. */
    struct ds out;
    struct json_writer json;    /* Writes into 'out'. */
    unsigned int n_replies;     /* Replies printed before this one. */

    /* Failure: message (without "dpifctl: ") and exit status. */
    struct ds error;
    int exit_status;
    const char *reason_prefix;  /* Put before the reason of a failed reply
                                 * ("rules.txt: "), or NULL. */
    struct ds notes;            /* Remarks for standard error after a
                                 * successful command, one per line. */

    /* Command-private state kept across the requests of a paged command,
     * allocated with cmd_alloc(). */
    void *state;

    /* Blocks to free with the context. */
    void **allocs;
    size_t n_allocs, allocated_allocs;
};

/* A group of commands, as "dpifctl help" lists them. */
struct command_section {
    const char *title;          /* "Flows". */
    const struct command *commands;
    const size_t *n_commands;
};

/* The command named 'name', or NULL. */
const struct command *command_find(const char *name);
/* The sections in help order; stores their number in '*n'. */
const struct command_section *command_sections(size_t *n);

/* Context life cycle.  cmd_ctx_init() leaves every field empty except
 * 'cmd', 'format' and 'exit_status' (DPIFCTL_EXIT_OK). */
void cmd_ctx_init(struct cmd_ctx *, const struct command *,
                  enum cmd_format);
void cmd_ctx_destroy(struct cmd_ctx *);

/* Zeroed memory, or a copy of 's', owned by the context. */
void *cmd_alloc(struct cmd_ctx *, size_t size);
char *cmd_strdup(struct cmd_ctx *, const char *s);
/* Keeps 'p' (from malloc) to be freed with the context; returns it. */
void *cmd_adopt(struct cmd_ctx *, void *p);

/* Records a usage error (exit 2) or a failure (exit 1); returns EINVAL or
 * 'error' respectively. */
int cmd_usage(struct cmd_ctx *, const char *fmt, ...) PRINTF_FORMAT(2, 3);
int cmd_fail(struct cmd_ctx *, int error, const char *fmt, ...)
    PRINTF_FORMAT(3, 4);
/* Records the failure that 'reply' (error != 0) reports: its reason, or
 * strerror(), plus who may do what when it is EACCES or EPERM. */
int cmd_fail_reply(struct cmd_ctx *, const Dpif__Reply *reply);

/* The value of the command option 'name' (see cmd_ctx.opts), or NULL. */
const char *cmd_opt(const struct cmd_ctx *, const char *name);
/* True if the flag or option 'name' was given. */
bool cmd_has_opt(const struct cmd_ctx *, const char *name);
/* The positional argument 'i', or NULL beyond the last. */
const char *cmd_arg(const struct cmd_ctx *, size_t i);

/* Parses 's' as an unsigned integer from 'min' to 'max' (decimal, or hex
 * with "0x"); on error, records a usage error naming 'what'. */
int cmd_parse_uint(struct cmd_ctx *, const char *what, const char *s,
                   uint64_t min, uint64_t max, uint64_t *valuep);

/* Splits a datapath argument "[TYPE@]NAME" (ovs-dpctl's form, e.g.
 * "netdev@br0") into its name and, if 'typep' is nonnull, type (NULL when
 * not given).  Both strings are owned by the context.  Checks the name's
 * length. */
int cmd_parse_dp(struct cmd_ctx *, const char *arg, char **namep,
                 char **typep);
/* Like cmd_parse_dp() for a "[DP]" argument: with 'arg' NULL, asks dpifd
 * for its datapaths and uses the only one (as ovs-dpctl does); more or
 * fewer than one is an error that lists them. */
int cmd_resolve_dp(struct cmd_ctx *, const char *arg, char **namep);
/* Parses a port argument: a number, or a port name that is looked up in
 * datapath 'dp'. */
int cmd_resolve_port(struct cmd_ctx *, const char *dp, const char *arg,
                     uint32_t *port_nop);

/* Sends 'request' as a look-up for the command being built and stores the
 * successful reply in '*m' (destroy it with ipc_msg_destroy()).  Any
 * failure is recorded with cmd_fail(). */
int cmd_transact(struct cmd_ctx *, const Dpif__Request *request,
                 struct ipc_msg *m);

/* Appends a datapath heading "TYPE@NAME" safely. */
void cmd_put_dp_name(struct ds *, const char *type, const char *name);

/* The table slices of the command modules. */
extern const struct command cmd_dp_commands[];
extern const size_t cmd_dp_n_commands;
extern const struct command cmd_flow_commands[];
extern const size_t cmd_flow_n_commands;
extern const struct command cmd_upcall_commands[];
extern const size_t cmd_upcall_n_commands;
extern const struct command cmd_policy_commands[];
extern const size_t cmd_policy_n_commands;
extern const struct command cmd_status_commands[];
extern const size_t cmd_status_n_commands;
extern const struct command cmd_dummy_commands[];
extern const size_t cmd_dummy_n_commands;

#endif /* commands.h */
