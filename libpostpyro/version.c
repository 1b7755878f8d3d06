/* SPDX-License-Identifier: MIT */
/* version.c — version calls, so callers can check header and library agree. */
#include "internal.h"

#include <stdlib.h>

#define PP_STR2(x) #x
#define PP_STR(x) PP_STR2(x)

const char *pp_version(void)
{
    return PP_STR(PP_VERSION_MAJOR) "." PP_STR(PP_VERSION_MINOR) "." PP_STR(PP_VERSION_PATCH);
}

int32_t pp_version_number(void) { return PP_VERSION_NUMBER; }

int32_t pp_abi_version(void) { return PP_ABI_VERSION; }

int32_t pp_libpq_version(void) { return PQlibVersion(); }

void pp_free(void *ptr) { free(ptr); }
