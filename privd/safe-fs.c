/* safe-fs.c — see safe-fs.h. */
#include "privd/safe-fs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/counters.h"
#include "common/log.h"

LOG_MODULE(safe_fs);

COUNTER_DEFINE(safe_fs_cleanup_replaced);

int
safe_fs_check_dir(int fd, const char *path, uid_t uid, struct errbuf *eb)
{
    struct stat st;

    if (fstat(fd, &st)) {
        return errbuf_set(eb, errno, "stat %s: %s", path, strerror(errno));
    }
    if (!S_ISDIR(st.st_mode)) {
        return errbuf_set(eb, ENOTDIR, "%s is not a directory", path);
    }
    if (st.st_uid != 0 && st.st_uid != uid) {
        return errbuf_set(eb, EPERM, "%s is owned by uid %u: it must be "
                          "root's or uid %u's", path, (unsigned) st.st_uid,
                          (unsigned) uid);
    }
    if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        return errbuf_set(eb, EPERM, "%s is writable by %s (mode %04o): "
                          "it must not be", path,
                          st.st_mode & S_IWOTH ? "others" : "its group",
                          (unsigned) (st.st_mode & 07777));
    }
    return 0;
}

int
safe_fs_open_dir(const char *path, uid_t uid, int *fdp, struct errbuf *eb)
{
    struct stat st;

    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        int error = errno;
        if (error == ELOOP || (error == ENOTDIR && !lstat(path, &st)
                               && S_ISLNK(st.st_mode))) {
            return errbuf_set(eb, ELOOP, "%s is a symbolic link, not a "
                              "directory", path);
        }
        return errbuf_set(eb, error, "%s: %s", path, strerror(error));
    }
    int error = safe_fs_check_dir(fd, path, uid, eb);
    if (error) {
        close(fd);
        return error;
    }
    *fdp = fd;
    return 0;
}

int
safe_fs_open_parent(const char *path, int *fdp, char name[NAME_MAX + 1],
                    struct errbuf *eb)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);

    if (!n || n > NAME_MAX || !strcmp(base, ".") || !strcmp(base, "..")) {
        return errbuf_set(eb, EINVAL, "%s: no file name at its end", path);
    }
    char dir[PATH_MAX];
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else if ((size_t) (slash - path) >= sizeof dir) {
        return errbuf_set(eb, ENAMETOOLONG, "%s: path too long", path);
    } else {
        memcpy(dir, path, (size_t) (slash - path));
        dir[slash - path] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return errbuf_set(eb, errno, "%s: %s", dir, strerror(errno));
    }
    memcpy(name, base, n + 1);
    *fdp = fd;
    return 0;
}

/* Writes all of 'data' to 'fd', then fsyncs it. */
static int
safe_fs_write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        data += n;
        len -= (size_t) n;
    }
    return fsync(fd) ? errno : 0;
}

int
safe_fs_write_atomic(const char *path, const void *data, size_t len,
                     mode_t mode, struct errbuf *eb)
{
    char name[NAME_MAX + 1], tmp[NAME_MAX + 1];
    struct stat st;
    int dirfd;

    int error = safe_fs_open_parent(path, &dirfd, name, eb);
    if (error) {
        return error;
    }
    if (fstat(dirfd, &st)) {
        error = errbuf_set(eb, errno, "%s: %s", path, strerror(errno));
        goto out;
    }
    if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
        error = errbuf_set(eb, EPERM, "%s: its directory is writable by "
                           "anyone (mode %04o)", path,
                           (unsigned) (st.st_mode & 07777));
        goto out;
    }

    int fd = -1;
    for (int attempt = 0; fd < 0 && attempt < 8; attempt++) {
        uint64_t r;
        if (getrandom(&r, sizeof r, 0) != sizeof r) {
            error = errbuf_set(eb, EIO, "getrandom: %s", strerror(errno));
            goto out;
        }
        if (snprintf(tmp, sizeof tmp, "%.*s.tmp.%016" PRIx64,
                     NAME_MAX - 21, name, r) >= (int) sizeof tmp) {
            error = errbuf_set(eb, ENAMETOOLONG, "%s: name too long", path);
            goto out;
        }
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                    | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST) {
            error = errbuf_set(eb, errno, "%s: creating a temporary file: "
                               "%s", path, strerror(errno));
            goto out;
        }
    }
    if (fd < 0) {
        error = errbuf_set(eb, EEXIST, "%s: no free temporary name", path);
        goto out;
    }
    error = fchmod(fd, mode) ? errno : 0;   /* Whatever the umask. */
    if (!error) {
        error = safe_fs_write_all(fd, data, len);
    }
    if (close(fd) && !error) {
        error = errno;
    }
    if (!error && renameat(dirfd, tmp, dirfd, name)) {
        error = errno;
    }
    if (error) {
        unlinkat(dirfd, tmp, 0);
        errbuf_set(eb, error, "%s: %s", path, strerror(error));
    }
out:
    close(dirfd);
    return error;
}

int
safe_fs_become(uid_t uid, gid_t gid, struct safe_fs_id *saved,
               struct errbuf *eb)
{
    saved->uid = (uid_t) setfsuid((uid_t) -1);
    saved->gid = (gid_t) setfsgid((gid_t) -1);
    if (geteuid()) {
        return 0;
    }
    if (gid != (gid_t) -1) {
        setfsgid(gid);
        if ((gid_t) setfsgid((gid_t) -1) != gid) {
            return errbuf_set(eb, EPERM, "setfsgid %u failed", (unsigned) gid);
        }
    }
    if (uid != (uid_t) -1) {
        setfsuid(uid);
        if ((uid_t) setfsuid((uid_t) -1) != uid) {
            safe_fs_restore(saved);
            return errbuf_set(eb, EPERM, "setfsuid %u failed", (unsigned) uid);
        }
    }
    return 0;
}

void
safe_fs_restore(const struct safe_fs_id *saved)
{
    setfsuid(saved->uid);
    setfsgid(saved->gid);
}

int
safe_fs_cleanup_add(struct safe_fs_cleanup *c, const char *path,
                    struct errbuf *eb)
{
    struct safe_fs_entry e;
    struct stat st;

    if (c->n >= SAFE_FS_MAX_CLEANUP) {
        return errbuf_set(eb, ENOSPC, "%s: too many files to remove at exit",
                          path);
    }
    int error = safe_fs_open_parent(path, &e.dirfd, e.name, eb);
    if (error) {
        return error;
    }
    if (fstatat(e.dirfd, e.name, &st, AT_SYMLINK_NOFOLLOW)) {
        error = errbuf_set(eb, errno, "%s: %s", path, strerror(errno));
        close(e.dirfd);
        return error;
    }
    e.dev = st.st_dev;
    e.ino = st.st_ino;
    e.is_dir = S_ISDIR(st.st_mode);
    c->entries[c->n++] = e;
    return 0;
}

/* Removes 'e' if its name still leads to its inode.  Returns 0 when it is
 * gone, else an errno. */
static int
safe_fs_entry_remove(const struct safe_fs_entry *e)
{
    struct stat st;

    if (fstatat(e->dirfd, e->name, &st, AT_SYMLINK_NOFOLLOW)) {
        return errno == ENOENT ? 0 : errno;
    }
    if (st.st_dev != e->dev || st.st_ino != e->ino) {
        COUNTER_INC(safe_fs_cleanup_replaced);
        return 0;               /* Someone else's now: not ours to remove. */
    }
    if (unlinkat(e->dirfd, e->name, e->is_dir ? AT_REMOVEDIR : 0)) {
        return errno == ENOENT ? 0 : errno;
    }
    return 0;
}

size_t
safe_fs_cleanup_run(struct safe_fs_cleanup *c, bool report)
{
    size_t kept = 0;

    for (size_t i = c->n; i-- > 0;) {
        struct safe_fs_entry *e = &c->entries[i];
        int error = safe_fs_entry_remove(e);
        if (!error) {
            close(e->dirfd);
            e->dirfd = -1;
            continue;
        }
        if (report) {
            LOG_WARN("%s stays at exit: %s", e->name, strerror(error));
        }
        kept++;
    }
    /* Keep the survivors in their order. */
    size_t n = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (c->entries[i].dirfd >= 0) {
            c->entries[n++] = c->entries[i];
        }
    }
    c->n = n;
    return kept;
}

size_t
safe_fs_cleanup_fds(const struct safe_fs_cleanup *c, int *fds)
{
    for (size_t i = 0; i < c->n; i++) {
        fds[i] = c->entries[i].dirfd;
    }
    return c->n;
}

void
safe_fs_cleanup_destroy(struct safe_fs_cleanup *c)
{
    for (size_t i = 0; i < c->n; i++) {
        close(c->entries[i].dirfd);
    }
    c->n = 0;
}
