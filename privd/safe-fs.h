/*
 * safe-fs.h — privd's file-system work in directories others may write.
 *
 * privd starts as root and runs as uid dpifd; the directories it works in
 * (the run directory, the directory of a rules file or of the metrics
 * textfile) may be writable by that uid or by an operator's account.  A
 * path-based call as root in such a directory can be turned by a racer
 * (a symlink or hard link planted between two calls) into a change of a
 * file the racer could not touch.  The rules here:
 *
 *   - A directory is opened once (O_DIRECTORY | O_NOFOLLOW) and checked on
 *     the open fd: safe_fs_open_dir() wants a directory owned by root or by
 *     privd's own uid that neither group nor others may write.  Everything
 *     after that works through the fd with *at() calls.
 *   - Files are never opened by a fixed name for writing:
 *     safe_fs_write_atomic() creates a temporary file with a random name
 *     and O_CREAT | O_EXCL | O_NOFOLLOW, writes, fsyncs, and renameat()s it
 *     over the target, so that a planted symlink is never followed and
 *     readers see the old file or the new one, never half of one.
 *   - What privd creates before it drops its privileges (the run directory
 *     if it made it, the control socket, the workers' empty root, the pid
 *     file) is recorded with its directory fd, name, device and inode in a
 *     struct safe_fs_cleanup.  safe_fs_cleanup_run() removes each entry
 *     whose name still leads to that very inode, and nothing else.
 *     privd, as uid dpifd, can remove what lies in directories it may
 *     write; the spawner, which keeps uid 0, runs the same list when privd
 *     has gone (spawner_config.at_exit) for what lies in root's
 *     directories.  No request from privd reaches that code: the list is
 *     the spawner's own copy from before the drop.
 *
 * Single-threaded; errors are positive errnos with a reason in 'eb'.
 *
 * Counters: safe_fs_cleanup_replaced (an entry's name led to another
 * inode at exit, which was left alone).
 */
#ifndef PRIVD_SAFE_FS_H
#define PRIVD_SAFE_FS_H 1

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/util.h"

/* Checks that 'fd' is a directory owned by root or 'uid', not writable
 * by group or others; 'path' names it in errors. */
int safe_fs_check_dir(int fd, const char *path, uid_t uid,
                      struct errbuf *eb);

/* Opens directory 'path' (its last component must not be a symlink) and
 * checks that it is a directory owned by root or 'uid', not writable by
 * group or others.  Stores the fd (O_CLOEXEC) in '*fdp'. */
int safe_fs_open_dir(const char *path, uid_t uid, int *fdp,
                     struct errbuf *eb);

/* Opens the directory that holds 'path' (O_DIRECTORY, O_CLOEXEC), without
 * checks, and stores the fd in '*fdp' and the last component of 'path' in
 * 'name'.  EINVAL for a path that ends in '/' or has no last component. */
int safe_fs_open_parent(const char *path, int *fdp, char name[NAME_MAX + 1],
                        struct errbuf *eb);

/* Replaces 'path' by a file of mode 'mode' holding 'len' bytes of 'data':
 * temporary file "NAME.tmp.RANDOM" in the same directory (O_EXCL,
 * O_NOFOLLOW), write, fsync, renameat.  The directory must not be writable
 * by others without its sticky bit.  Nothing is changed on failure. */
int safe_fs_write_atomic(const char *path, const void *data, size_t len,
                         mode_t mode, struct errbuf *eb);

/* Root: the file-system uid and gid for the calls between
 * safe_fs_become() and safe_fs_restore() (setfsuid(), setfsgid()), so
 * that root acts in a directory of uid 'uid' as that uid, and files are
 * created with group 'gid' without a chown.  (uid_t) -1 or (gid_t) -1
 * keeps that one.  Not root: nothing happens. */
struct safe_fs_id {
    uid_t uid;                  /* File-system uid before. */
    gid_t gid;                  /* File-system gid before. */
};
int safe_fs_become(uid_t uid, gid_t gid, struct safe_fs_id *saved,
                   struct errbuf *eb);
void safe_fs_restore(const struct safe_fs_id *saved);

/* One object privd made, to remove at exit. */
struct safe_fs_entry {
    int dirfd;                  /* Its directory, owned, or -1. */
    char name[NAME_MAX + 1];    /* Its name there. */
    dev_t dev;                  /* Its device ... */
    ino_t ino;                  /* ... and inode when it was made. */
    bool is_dir;                /* rmdir, not unlink. */
};

/* Most entries of a cleanup list. */
#define SAFE_FS_MAX_CLEANUP 8

/* What to remove at exit, most recent last (removed first). */
struct safe_fs_cleanup {
    struct safe_fs_entry entries[SAFE_FS_MAX_CLEANUP]; /* 'n' of them. */
    size_t n;                   /* Entries in use. */
};

/* Records 'path' (which must exist) in 'c'. */
int safe_fs_cleanup_add(struct safe_fs_cleanup *c, const char *path,
                        struct errbuf *eb);

/* Removes every entry of 'c' that still names the recorded inode, newest
 * first, and forgets the ones that are gone (removed, or no longer that
 * inode).  With 'report' (the last pass), every entry that stays is
 * logged; without, a failure is left for a later pass (another process
 * that may write that directory).  Returns the number of entries left. */
size_t safe_fs_cleanup_run(struct safe_fs_cleanup *c, bool report);

/* Stores the directory fds of 'c' in 'fds' (SAFE_FS_MAX_CLEANUP) and
 * returns how many: the fds a process that runs 'c' later must keep. */
size_t safe_fs_cleanup_fds(const struct safe_fs_cleanup *c, int *fds);

/* Closes the fds of 'c' and empties it. */
void safe_fs_cleanup_destroy(struct safe_fs_cleanup *c);

#endif /* safe-fs.h */
