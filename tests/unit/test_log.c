/*
 * test_log.c — common/log.c: escaping of control characters (every logged
 * message goes through log_escape(), so that a string from a client or a
 * worker cannot start a line of its own) and the rate limiter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/log.h"

LOG_MODULE(test_log);

static void
escape_keeps_plain_text(void **state)
{
    char out[64];
    (void) state;
    const char *s = "dp0: port p1 \\ ok \xc3\xa9";
    assert_int_equal(log_escape(out, sizeof out, s, strlen(s)), strlen(s));
    assert_string_equal(out, s);
}

static void
escape_control_characters(void **state)
{
    char out[64];
    (void) state;
    const char s[] = "a\nb\rc\td\x1b[2Je\x7f\x01";
    log_escape(out, sizeof out, s, sizeof s - 1);
    assert_string_equal(out, "a\\nb\\rc\\td\\x1b[2Je\\x7f\\x01");
    /* A NUL inside the data is escaped too. */
    log_escape(out, sizeof out, "x\0y", 3);
    assert_string_equal(out, "x\\x00y");
}

static void
escape_truncates_at_whole_escapes(void **state)
{
    char out[5];
    (void) state;
    assert_int_equal(log_escape(out, sizeof out, "ab\ncd", 5), 4);
    assert_string_equal(out, "ab\\n");
    assert_int_equal(log_escape(out, sizeof out, "abc\x01", 4), 3);
    assert_string_equal(out, "abc");
    assert_int_equal(log_escape(out, 1, "abc", 3), 0);
    assert_string_equal(out, "");
}

/* A message with a newline in an argument is written as one line. */
static void
message_is_one_line(void **state)
{
    int fds[2];
    char buf[2048];
    (void) state;

    assert_int_equal(pipe(fds), 0);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(fds[1], STDERR_FILENO), STDERR_FILENO);
    LOG_WARN("name %s", "x\nprivd|main|err|forged");
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "name x\\nprivd|main|err|forged\n"));
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
}

static void
rate_limiter_bursts_then_limits(void **state)
{
    struct log_rl rl = LOG_RL_INIT(1, 3);
    (void) state;
    int allowed = 0;
    for (int i = 0; i < 10; i++) {
        allowed += log_rl_allow(&rl);
    }
    assert_int_equal(allowed, 3);
    assert_int_equal(rl.suppressed, 7);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(escape_keeps_plain_text),
        cmocka_unit_test(escape_control_characters),
        cmocka_unit_test(escape_truncates_at_whole_escapes),
        cmocka_unit_test(message_is_one_line),
        cmocka_unit_test(rate_limiter_bursts_then_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
