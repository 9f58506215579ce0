/* Tests for privd/metrics.c without a running daemon: the exposition text
 * of a privd with no datapath and no workers, and the textfile timer
 * (written at the first run, not again before the interval, counted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/ds.h"
#include "common/timeval.h"
#include "common/util.h"
#include "privd/config.h"
#include "privd/metrics.h"
#include "privd/privd.h"

static void
privd_init_for_test(struct privd *privd, const char *textfile)
{
    memset(privd, 0, sizeof *privd);
    config_init_defaults(&privd->cfg);
    privd->cfg.flow_limit = 4321;
    free(privd->cfg.metrics_textfile);
    privd->cfg.metrics_textfile = xstrdup(textfile);
    privd->cfg.metrics_interval_s = 3600;
    privd->start_msec = time_msec();
}

static void
format_without_datapaths(void **state)
{
    struct privd privd;
    struct ds s;

    (void) state;
    privd_init_for_test(&privd, "");
    ds_init(&s);
    metrics_format(&privd, &s);
    const char *text = ds_cstr(&s);
    assert_non_null(strstr(text, "# TYPE dpifd_datapath_flows gauge\n"));
    assert_non_null(strstr(text, "dpifd_flow_limit 4321\n"));
    assert_non_null(strstr(text, "dpifd_anomalies_total{name=\""
                            "control_metrics_textfile_written\","
                            "process=\"privd\"} "));
    assert_non_null(strstr(text, "dpifd_process_uptime_seconds{role=\""
                            "privd\",id=\"0\"} "));
    assert_null(strstr(text, "role=\"spawner\""));
    assert_null(strstr(text, "{dp=\""));
    ds_destroy(&s);
    config_destroy(&privd.cfg);
}

static void
rss_is_read(void **state)
{
    uint64_t rss = 0;

    (void) state;
    assert_int_equal(metrics_read_rss(&rss), 0);
    assert_true(rss > 0);
}

static void
textfile_written_when_due(void **state)
{
    char dir[] = "/tmp/test_metrics.XXXXXX";
    char path[64];
    struct stat st;
    struct privd privd;
    struct metrics_textfile t = { 0 };

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/dpifd.prom", dir);
    privd_init_for_test(&privd, path);

    metrics_textfile_run(&t, &privd);
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > 0);
    assert_true(t.next_msec >= time_msec() + 3599 * 1000LL);
    assert_int_equal(unlink(path), 0);

    metrics_textfile_run(&t, &privd);       /* Not due: nothing written. */
    assert_int_not_equal(stat(path, &st), 0);

    t.next_msec = 0;                        /* Due again. */
    metrics_textfile_run(&t, &privd);
    assert_int_equal(stat(path, &st), 0);

    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[256];
    bool found = false;
    while (fgets(line, sizeof line, f)) {
        found |= !strcmp(line, "dpifd_flow_limit 4321\n");
    }
    fclose(f);
    assert_true(found);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rmdir(dir), 0);
    config_destroy(&privd.cfg);
}

/* Without a textfile configured, the timer never fires or waits. */
static void
textfile_off_without_path(void **state)
{
    struct privd privd;
    struct metrics_textfile t = { 0 };

    (void) state;
    privd_init_for_test(&privd, "");
    metrics_textfile_run(&t, &privd);
    assert_int_equal(t.next_msec, 0);
    config_destroy(&privd.cfg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(format_without_datapaths),
        cmocka_unit_test(rss_is_read),
        cmocka_unit_test(textfile_written_when_due),
        cmocka_unit_test(textfile_off_without_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
