/* replay-main.c — a main() for the libFuzzer harnesses of tests/fuzz
 * without libFuzzer, so that the normal (gcc) and the sanitizer builds run
 * every harness over its seed corpus and its regression inputs.
 *
 * Usage: replay_<harness> PATH...
 *
 * Each PATH is a file, or a directory whose regular files are replayed in
 * name order (a directory that does not exist is skipped: a harness may
 * have no regression inputs yet).  Every input goes once through
 * LLVMFuzzerTestOneInput() from an exactly sized heap copy, as libFuzzer
 * gives it; a crash, a sanitizer report or a harness's abort() fails the
 * run.  Fails as well when no input at all was found, so that a missing
 * corpus cannot pass silently. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads 'path' whole into a heap block of exactly its size.  Returns NULL
 * (with errno set) on failure. */
static uint8_t *
replay_read_file(const char *path, size_t *sizep)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    size_t cap = 4096, size = 0;
    uint8_t *data = malloc(cap);
    for (;;) {
        if (size == cap) {
            cap *= 2;
            data = realloc(data, cap);
        }
        if (!data) {
            fclose(f);
            errno = ENOMEM;
            return NULL;
        }
        size_t n = fread(data + size, 1, cap - size, f);
        size += n;
        if (n == 0) {
            break;
        }
    }
    int error = ferror(f) ? EIO : 0;
    fclose(f);
    if (error) {
        free(data);
        errno = error;
        return NULL;
    }
    /* The harness gets exactly 'size' bytes, so that ASan sees any
     * overread. */
    uint8_t *exact = malloc(size ? size : 1);
    if (exact) {
        memcpy(exact, data, size);
    }
    free(data);
    *sizep = size;
    return exact;
}

/* Replays one file.  Returns 0 or an errno. */
static int
replay_file(const char *path)
{
    size_t size;
    uint8_t *data = replay_read_file(path, &size);

    if (!data) {
        int error = errno;
        fprintf(stderr, "%s: %s\n", path, strerror(error));
        return error;
    }
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int
replay_filter(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* Replays 'path' (file or directory), adding the inputs run to '*np'.
 * Returns 0 or an errno. */
static int
replay_path(const char *path, size_t *np)
{
    struct stat st;

    if (stat(path, &st)) {
        return errno == ENOENT ? 0 : errno;
    }
    if (!S_ISDIR(st.st_mode)) {
        int error = replay_file(path);
        *np += !error;
        return error;
    }

    struct dirent **names;
    int n = scandir(path, &names, replay_filter, alphasort);
    if (n < 0) {
        int error = errno;
        fprintf(stderr, "%s: %s\n", path, strerror(error));
        return error;
    }
    int error = 0;
    for (int i = 0; i < n; i++) {
        char file[4096];
        snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
        if (!error && !stat(file, &st) && S_ISREG(st.st_mode)) {
            error = replay_file(file);
            *np += !error;
        }
        free(names[i]);
    }
    free(names);
    return error;
}

int
main(int argc, char *argv[])
{
    size_t n = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s PATH...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        if (replay_path(argv[i], &n)) {
            return 1;
        }
    }
    if (!n) {
        fprintf(stderr, "%s: no input found\n", argv[0]);
        return 1;
    }
    printf("%s: %zu inputs replayed\n", argv[0], n);
    return 0;
}
