/*
 * test_safe_fs.c — privd/safe-fs.c: directory checks, atomic writes that
 * never follow a planted symlink, and the exit cleanup list that removes
 * only the inodes privd made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privd/safe-fs.h"

struct fixture {
    char dir[64];               /* A fresh directory of our own. */
};

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/test-safe-fs.XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static char *
path_in(const struct fixture *f, const char *name)
{
    static char path[4][PATH_MAX];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, PATH_MAX, "%s/%s", f->dir, name);
    return p;
}

static void
write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *
read_all(const char *path)
{
    static char buf[256];
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(buf, 1, sizeof buf - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    return buf;
}

static void
dir_checks(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    int fd;

    assert_int_equal(safe_fs_open_dir(f->dir, getuid(), &fd, &eb), 0);
    close(fd);
    assert_int_equal(symlink(f->dir, path_in(f, "link")), 0);
    assert_int_equal(safe_fs_open_dir(path_in(f, "link"), getuid(), &fd, &eb),
                     ELOOP);
    assert_non_null(strstr(eb.msg, "symbolic link"));
    assert_int_equal(mkdir(path_in(f, "gw"), 0755), 0);
    assert_int_equal(chmod(path_in(f, "gw"), 0775), 0);
    assert_int_equal(safe_fs_open_dir(path_in(f, "gw"), getuid(), &fd, &eb),
                     EPERM);
    assert_non_null(strstr(eb.msg, "writable by its group"));
    if (getuid()) {
        /* Ours, but we are not uid 0 and ask for another uid. */
        assert_int_equal(safe_fs_open_dir(f->dir, getuid() + 1, &fd, &eb),
                         EPERM);
    } else {
        assert_int_equal(chown(path_in(f, "gw"), 12345, 0), 0);
        assert_int_equal(chmod(path_in(f, "gw"), 0755), 0);
        assert_int_equal(safe_fs_open_dir(path_in(f, "gw"), 995, &fd, &eb),
                         EPERM);
        assert_non_null(strstr(eb.msg, "owned by uid 12345"));
    }
    write_file(path_in(f, "file"), "x");
    assert_int_equal(safe_fs_open_dir(path_in(f, "file"), getuid(), &fd,
                                      &eb), ENOTDIR);
}

/* The old fixed temporary name, planted as a symlink, is never followed;
 * the target is replaced by a regular file. */
static void
atomic_write_ignores_planted_symlink(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;
    struct stat st;

    write_file(path_in(f, "victim"), "victim\n");
    assert_int_equal(symlink(path_in(f, "victim"), path_in(f, "r.tmp")), 0);
    assert_int_equal(safe_fs_write_atomic(path_in(f, "r"), "new\n", 4, 0640,
                                          &eb), 0);
    assert_string_equal(read_all(path_in(f, "victim")), "victim\n");
    assert_string_equal(read_all(path_in(f, "r")), "new\n");
    assert_int_equal(lstat(path_in(f, "r"), &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0640);
    assert_int_equal(lstat(path_in(f, "r.tmp"), &st), 0);
    assert_true(S_ISLNK(st.st_mode));

    /* A symlink as the target itself is replaced, not followed. */
    assert_int_equal(symlink(path_in(f, "victim"), path_in(f, "s")), 0);
    assert_int_equal(safe_fs_write_atomic(path_in(f, "s"), "s\n", 2, 0644,
                                          &eb), 0);
    assert_string_equal(read_all(path_in(f, "victim")), "victim\n");
    assert_int_equal(lstat(path_in(f, "s"), &st), 0);
    assert_true(S_ISREG(st.st_mode));

    /* Nothing temporary is left behind. */
    DIR *d = opendir(f->dir);
    const struct dirent *de;
    while ((de = readdir(d))) {
        assert_null(strstr(de->d_name, ".tmp."));
    }
    closedir(d);
}

static void
atomic_write_refuses_world_writable_dir(void **state)
{
    struct fixture *f = *state;
    struct errbuf eb;

    assert_int_equal(mkdir(path_in(f, "ww"), 0777), 0);
    assert_int_equal(chmod(path_in(f, "ww"), 0777), 0);
    assert_int_equal(safe_fs_write_atomic(path_in(f, "ww/x"), "x", 1, 0644,
                                          &eb), EPERM);
    assert_int_equal(access(path_in(f, "ww/x"), F_OK), -1);
}

/* The cleanup list removes what it recorded, newest first, and leaves a
 * name that leads to another inode alone. */
static void
cleanup_removes_only_recorded_inodes(void **state)
{
    struct fixture *f = *state;
    struct safe_fs_cleanup c = { .n = 0 };
    struct errbuf eb;

    assert_int_equal(mkdir(path_in(f, "run"), 0755), 0);
    assert_int_equal(safe_fs_cleanup_add(&c, path_in(f, "run"), &eb), 0);
    write_file(path_in(f, "run/sock"), "s");
    assert_int_equal(safe_fs_cleanup_add(&c, path_in(f, "run/sock"), &eb), 0);
    write_file(path_in(f, "run/other"), "o");
    assert_int_equal(safe_fs_cleanup_add(&c, path_in(f, "run/other"), &eb),
                     0);
    /* 'other' is replaced by someone else's file. */
    write_file(path_in(f, "run/other.new"), "n");
    assert_int_equal(rename(path_in(f, "run/other.new"),
                            path_in(f, "run/other")), 0);
    int fds[SAFE_FS_MAX_CLEANUP];
    assert_int_equal(safe_fs_cleanup_fds(&c, fds), 3);

    /* 'run' is not empty ('other' stays): one entry left. */
    assert_int_equal(safe_fs_cleanup_run(&c, false), 1);
    assert_int_equal(access(path_in(f, "run/sock"), F_OK), -1);
    assert_string_equal(read_all(path_in(f, "run/other")), "n");
    assert_int_equal(unlink(path_in(f, "run/other")), 0);
    assert_int_equal(safe_fs_cleanup_run(&c, true), 0);
    assert_int_equal(access(path_in(f, "run"), F_OK), -1);
    safe_fs_cleanup_destroy(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(dir_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(atomic_write_ignores_planted_symlink,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            atomic_write_refuses_world_writable_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(cleanup_removes_only_recorded_inodes,
                                        setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
