/*
 * dpifctl.h — the dpifctl program: command line, help, and the loop that
 * drives a command (commands.h) over the control socket (client.h).
 *
 * Command line
 * ============
 *
 *     dpifctl [GLOBAL-OPTION...] COMMAND [ARG | OPTION]...
 *     dpifctl help [COMMAND]          dpifctl COMMAND --help
 *
 * Global options (--socket PATH, --format text|json, --timeout MS,
 * --help, --version) may come before the command and, except --help and
 * --version, also among its arguments, so that "dpifctl dump-flows
 * --format json" works as people type it.  A command's own options may be
 * mixed with its arguments; "--" ends options.  "--name=value" and
 * "--name value" are the same.  As a courtesy to ovs-appctl users a
 * "dpctl/" prefix on a command name is ignored ("dpctl/dump-flows").
 *
 * The socket defaults to $DPIFD_SOCKET, else CLIENT_DEFAULT_SOCKET.
 *
 * Exit status: DPIFCTL_EXIT_OK (0), DPIFCTL_EXIT_FAILED (1: the daemon is
 * unreachable or refused or failed the operation; the message is
 * "dpifctl: COMMAND: reason"), DPIFCTL_EXIT_USAGE (2: the command line is
 * wrong; the message is followed by the command's usage line).
 */
#ifndef DPIF_CLI_DPIFCTL_H
#define DPIF_CLI_DPIFCTL_H 1

#include <stdio.h>

#include "cli/commands.h"

/* Default --timeout, in milliseconds. */
#define DPIFCTL_DEFAULT_TIMEOUT_MS 30000

/* What the command line asks for. */
struct dpifctl_invocation {
    const char *socket;         /* Control socket path. */
    int timeout_ms;             /* Per reply; 0: no limit. */
    bool help;                  /* Print help (of 'ctx.cmd', if set). */
    bool version;               /* Print the version. */
    struct cmd_ctx ctx;         /* The command, if any (ctx.cmd). */
};

/* Parses argv[1..argc-1] into '*inv', which the caller then releases with
 * dpifctl_invocation_destroy() whatever the result.  Returns 0, or EINVAL
 * with the message in inv->ctx.error (and inv->ctx.cmd set if the command
 * was recognized, for its usage line).  The strings stay argv's. */
int dpifctl_parse(int argc, char *argv[], struct dpifctl_invocation *inv);
void dpifctl_invocation_destroy(struct dpifctl_invocation *);

/* Appends "dpifctl NAME [--opt ARG]... USAGE" for 'cmd'. */
void dpifctl_format_usage(const struct command *cmd, struct ds *out);

/* The whole program: parses, runs, prints results to 'out' and messages to
 * 'err', and returns the exit status. */
int dpifctl_main(int argc, char *argv[], FILE *out, FILE *err);

#endif /* dpifctl.h */
