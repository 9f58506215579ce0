/*
 * dpif-test-worker — a stand-in for dpif-handlerd and dpif-revald in
 * test_spawner.  Like a real worker it parses the spawner's command line
 * and enters the sandbox before anything else, then it reports over its
 * control socket (DPIF_WORKER_CONTROL_FD):
 *
 *     "ready ROLE ID applied=MASK precaps=CAPS env=N fds=LIST"
 *
 * (CAPS is the permitted set it was started with, N counts environment
 * entries other than sanitizer options, LIST the open fds below 64 after
 * the sandbox closed the rest) and obeys commands:
 *
 *     "exit N"    exits with status N
 *     "say TEXT"  writes "out: TEXT\n" to stdout, "err: TEXT\n" to stderr
 *     "socket"    calls socket(AF_INET): the sandbox kills it with SIGSYS
 *     EOF         exits 0
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/sandbox.h"
#include "common/worker.h"

extern char **environ;

/* Environment entries that are not sanitizer options. */
static int
count_env(void)
{
    int n = 0;

    for (char **e = environ; *e; e++) {
        if (strncmp(*e, "ASAN_OPTIONS=", 13)
            && strncmp(*e, "UBSAN_OPTIONS=", 14)
            && strncmp(*e, "LSAN_OPTIONS=", 13)) {
            n++;
        }
    }
    return n;
}

int
main(int argc, char *argv[])
{
    enum worker_role role;
    unsigned int id;
    struct errbuf eb = { "" };

    if (worker_parse_args(argc, argv, &role, &id, &eb)) {
        fprintf(stderr, "%s\n", eb.msg);
        return 2;
    }
    int env = count_env();
    struct __user_cap_header_struct hdr = {
        .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0,
    };
    struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &hdr, caps)) {
        return 2;
    }
    unsigned long long precaps = caps[0].permitted
                                 | (unsigned long long) caps[1].permitted
                                   << 32;

    const int keep[] = { DPIF_WORKER_CONTROL_FD };
    struct sandbox_config cfg = {
        .user = "dpifd-worker",
        .root_dir = TEST_EMPTY_ROOT,
        .role = role,
        .expect_root = geteuid() == 0,
        .keep_fds = keep,
        .n_keep_fds = 1,
    };
    struct sandbox_report report;
    if (sandbox_enter_worker(&cfg, &report, &eb)) {
        fprintf(stderr, "dpif-test-worker: sandbox: %s\n", eb.msg);
        return 3;
    }

    char msg[256];
    int len = snprintf(msg, sizeof msg, "ready %s %u applied=%#x "
                       "precaps=%#llx env=%d fds=",
                       worker_role_to_string(role), id, report.applied,
                       precaps, env);
    for (int fd = 0; fd < 64 && len < (int) sizeof msg - 8; fd++) {
        if (fcntl(fd, F_GETFD) >= 0) {
            len += snprintf(msg + len, sizeof msg - (size_t) len, "%s%d",
                            msg[len - 1] == '=' ? "" : ",", fd);
        }
    }
    if (send(DPIF_WORKER_CONTROL_FD, msg, (size_t) len, 0) < 0) {
        return 4;
    }

    for (;;) {
        char cmd[64];
        ssize_t n = recv(DPIF_WORKER_CONTROL_FD, cmd, sizeof cmd - 1, 0);
        if (n <= 0) {
            return n < 0 ? 5 : 0;
        }
        cmd[n] = '\0';
        if (!strncmp(cmd, "exit ", 5)) {
            exit(atoi(cmd + 5));
        } else if (!strncmp(cmd, "say ", 4)) {
            char line[80];
            int k = snprintf(line, sizeof line, "out: %s\n", cmd + 4);
            if (write(STDOUT_FILENO, line, (size_t) k) != k) {
                return 8;
            }
            line[0] = 'e';
            line[1] = 'r';
            line[2] = 'r';
            if (write(STDERR_FILENO, line, (size_t) k) != k) {
                return 8;
            }
        } else if (!strcmp(cmd, "socket")) {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            return fd < 0 ? 6 : 7;
        }
    }
}
