/* SPDX-License-Identifier: MIT */
/* rowmode.c — how PP_EXEC_CHUNKED gets rows as they arrive: libpq 17's chunked rows mode
 * (PQsetChunkedRowsMode: one PGresult per chunk of rows) when the libpq loaded at run time
 * has it (PQlibVersion and dlsym, as cancel.c: the header this was built with does not
 * matter), else single-row mode (one PGresult per row, with a copy of the column
 * descriptions each: about a third more C time for a narrow result). */
#define _GNU_SOURCE /* RTLD_DEFAULT, RTLD_NOLOAD */
#include "internal.h"

#include <dlfcn.h>
#include <string.h>

/* Rows per PGresult in chunked rows mode: exec.c hands a chunk out once it holds 1000
 * rows and the server has sent nothing more, so libpq's chunks stay below that. */
#define LIBPQ_CHUNK_ROWS 500

typedef int (*chunked_fn)(PGconn *, int);

static chunked_fn set_chunked; /* written once (pthread_once), then only read */
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void)
{
    if (PQlibVersion() < 170000)
        return;
    /* the libpq already loaded for this library (Python loads us RTLD_LOCAL) */
    void *lib = dlopen("libpq.so.5", RTLD_NOW | RTLD_NOLOAD);
    void *p = lib != NULL ? dlsym(lib, "PQsetChunkedRowsMode") : NULL;
    if (p == NULL)
        p = dlsym(RTLD_DEFAULT, "PQsetChunkedRowsMode");
    if (p != NULL) /* POSIX: a dlsym result may be used as a function pointer */
        memcpy(&set_chunked, &p, sizeof p);
    if (lib != NULL)
        dlclose(lib); /* still loaded: this library depends on it */
}

bool pp__chunked_rows_mode(void)
{
    pthread_once(&once, load);
    return set_chunked != NULL;
}

bool pp__set_row_mode(PGconn *pg)
{
    if (pp__chunked_rows_mode())
        return set_chunked(pg, LIBPQ_CHUNK_ROWS) == 1;
    return PQsetSingleRowMode(pg) == 1;
}
