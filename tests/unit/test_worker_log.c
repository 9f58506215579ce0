/* Unit tests for privd/worker-log.c: a worker's output becomes privd's log
 * lines, each prefixed with the worker, escaped, cut at
 * WORKER_LOG_LINE_MAX and rate-limited, with counters; the pipe's EOF
 * closes it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/counters.h"
#include "privd/worker-log.h"

/* stderr goes to a temporary file while a test captures it. */
static int saved_stderr = -1;
static FILE *capture;

static void
capture_start(void)
{
    capture = tmpfile();
    assert_non_null(capture);
    fflush(stderr);
    saved_stderr = dup(STDERR_FILENO);
    assert_true(dup2(fileno(capture), STDERR_FILENO) >= 0);
}

/* Stops capturing; returns what was logged (free it). */
static char *
capture_stop(void)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
    close(saved_stderr);
    long n = ftell(capture);
    char *text = calloc(1, (size_t) n + 1);
    rewind(capture);
    assert_int_equal(fread(text, 1, (size_t) n, capture), (size_t) n);
    fclose(capture);
    return text;
}

static size_t
count_lines(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        n += *p == '\n';
    }
    return n;
}

static void
forged_lines_are_prefixed_and_escaped(void **state)
{
    struct worker_log wl;
    const char forged[] = "2026-01-01T00:00:00.000Z|privd|main|info|dpifd"
                          " ready\x1b[2K\rok\t\x07\nsecond\n";

    (void) state;
    worker_log_init(&wl);
    worker_log_set_name(&wl, "handler", 0, 4242);
    capture_start();
    worker_log_feed(&wl, forged, sizeof forged - 1);
    char *log = capture_stop();

    assert_int_equal(count_lines(log), 2);
    assert_non_null(strstr(log, "|worker_log|info|handler 0 (pid 4242): "
                           "2026-01-01T00:00:00.000Z|privd|main|info|dpifd "
                           "ready\\x1b[2K\\rok\\t\\x07\n"));
    assert_non_null(strstr(log, "handler 0 (pid 4242): second\n"));
    /* No line of the log starts with the forged text. */
    assert_null(strstr(log, "\n2026-01-01T00:00:00.000Z"));
    assert_true(strncmp(log, "2026-01-01T00:00:00.000Z", 24));
    free(log);
}

static void
long_lines_are_cut(void **state)
{
    struct worker_log wl;
    char big[3 * WORKER_LOG_LINE_MAX];
    uint64_t cut = counter_get("worker_log_cut");

    (void) state;
    memset(big, 'a', sizeof big);
    big[sizeof big - 1] = '\n';
    worker_log_init(&wl);
    worker_log_set_name(&wl, "revalidator", 1, 7);
    capture_start();
    worker_log_feed(&wl, big, sizeof big);
    worker_log_feed(&wl, "next\n", 5);
    char *log = capture_stop();

    assert_int_equal(count_lines(log), 2);
    assert_int_equal(counter_get("worker_log_cut"), cut + 1);
    char want[WORKER_LOG_LINE_MAX + 16];
    memset(want, 'a', WORKER_LOG_LINE_MAX);
    strcpy(want + WORKER_LOG_LINE_MAX, " [cut]\n");
    assert_non_null(strstr(log, want));
    assert_non_null(strstr(log, "revalidator 1 (pid 7): next\n"));
    free(log);
}

static void
floods_are_rate_limited(void **state)
{
    struct worker_log wl;
    uint64_t dropped = counter_get("worker_log_dropped");

    (void) state;
    worker_log_init(&wl);
    capture_start();
    for (int i = 0; i < WORKER_LOG_BURST + 1000; i++) {
        worker_log_feed(&wl, "spam\n", 5);
    }
    char *log = capture_stop();
    size_t n = count_lines(log);
    assert_true(n >= WORKER_LOG_BURST && n < WORKER_LOG_BURST + 100);
    assert_int_equal(counter_get("worker_log_dropped") - dropped,
                     WORKER_LOG_BURST + 1000 - n);
    free(log);
}

static void
pipe_is_read_to_eof(void **state)
{
    struct worker_log wl;
    int w;
    struct errbuf eb = { "" };

    (void) state;
    worker_log_init(&wl);
    assert_int_equal(worker_log_open(&wl, &w, &eb), 0);
    assert_true(wl.fd >= 0);
    assert_int_equal(write(w, "partial", 7), 7);
    capture_start();
    worker_log_run(&wl);            /* No newline yet: nothing. */
    assert_true(wl.fd >= 0);
    close(w);
    worker_log_run(&wl);            /* EOF: the partial line, closed. */
    char *log = capture_stop();
    assert_int_equal(wl.fd, -1);
    assert_int_equal(count_lines(log), 1);
    assert_non_null(strstr(log, ": partial\n"));
    free(log);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forged_lines_are_prefixed_and_escaped),
        cmocka_unit_test(long_lines_are_cut),
        cmocka_unit_test(floods_are_rate_limited),
        cmocka_unit_test(pipe_is_read_to_eof),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
