/*  replay_main.c — runs a fuzz target's corpus without libFuzzer.

    Linked with every tests/fuzz/fuzz_X.c into build/bin/replay_fuzz_X, so
    that `make check` replays the corpora on any compiler. Each argument is
    a file or a directory; a directory's regular files are replayed (one
    level down, sorted by name so runs are repeatable). Every input goes
    through LLVMFuzzerTestOneInput exactly as libFuzzer would hand it over:
    a malloc'd buffer of the exact size, so ASan sees overreads.

    Exit 0 after "replayed N inputs"; 1 if an argument cannot be read (a
    missing corpus is a test bug, not a pass). A crash in the target shows
    as the signal it dies of.                                              */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define S_MAX_INPUT (64 * 1024 * 1024) /* larger corpus files are refused */

/* Replays one file. Returns 0, or -1 with a message on stderr. */
static int s_replay_file(const char *path, size_t *count)
{
    int rc = -1;
    uint8_t *data = NULL;
    FILE *file = fopen(path, "rb");
    if (!file) {
        fprintf(stderr, "replay: cannot open '%s': %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(file), &st) != 0 || st.st_size > S_MAX_INPUT) {
        fprintf(stderr, "replay: cannot use '%s' (unreadable or over 64 MiB)\n", path);
        goto out;
    }
    size_t size = (size_t) st.st_size;
    data = malloc(size ? size : 1);
    if (!data) {
        fprintf(stderr, "replay: out of memory for '%s'\n", path);
        goto out;
    }
    if (size && fread(data, 1, size, file) != size) {
        fprintf(stderr, "replay: cannot read '%s'\n", path);
        goto out;
    }
    LLVMFuzzerTestOneInput(data, size);
    (*count)++;
    rc = 0;
out:
    free(data);
    fclose(file);
    return rc;
}

static int s_by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Replays the regular files directly inside `dir`. */
static int s_replay_dir(const char *dir, size_t *count)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, s_by_name);
    if (n < 0) {
        fprintf(stderr, "replay: cannot list '%s': %s\n", dir, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        int len = snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
        if (rc == 0 && names[i]->d_name[0] != '.' && len > 0 && (size_t) len < sizeof path
            && stat(path, &st) == 0 && S_ISREG(st.st_mode))
            rc = s_replay_file(path, count);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot open '%s': %s\n", argv[i], strerror(errno));
            return 1;
        }
        int rc = S_ISDIR(st.st_mode) ? s_replay_dir(argv[i], &count)
                                     : s_replay_file(argv[i], &count);
        if (rc)
            return 1;
    }
    printf("replayed %zu inputs\n", count);
    return 0;
}
