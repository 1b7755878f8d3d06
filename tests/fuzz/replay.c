/* SPDX-License-Identifier: MIT */
/* replay.c — runs a fuzz target's LLVMFuzzerTestOneInput over a corpus without libFuzzer,
 * so `make check` (gcc, valgrind, tests/asan.sh) replays every seed and every committed
 * finding on each run. Arguments: files or directories; none means the target's own corpus
 * (FUZZ_CORPUS, compiled in). A property that fails aborts, as under libFuzzer. */
#include "fuzz.h"

#include <dirent.h>
#include <sys/stat.h>

#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "."
#endif

static int replayed;

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = grown;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    /* an exact-size copy, so that a read past the input shows under valgrind and ASan */
    uint8_t *exact = malloc(len ? len : 1);
    if (exact == NULL) {
        free(buf);
        return -1;
    }
    if (len > 0)
        memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    replayed++;
    return 0;
}

static int replay(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        perror(path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return replay_file(path);
    DIR *d = opendir(path);
    if (d == NULL) {
        perror(path);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        rc = replay(full);
    }
    closedir(d);
    return rc;
}

int main(int argc, char **argv)
{
    int rc = 0;
    if (argc < 2)
        rc = replay(FUZZ_CORPUS);
    for (int k = 1; rc == 0 && k < argc; k++)
        rc = replay(argv[k]);
    printf("%d inputs replayed\n", replayed);
    if (rc == 0 && replayed == 0) {
        fprintf(stderr, "no input found (corpus %s)\n", argc < 2 ? FUZZ_CORPUS : argv[1]);
        return 1;
    }
    return rc == 0 ? 0 : 1;
}
