// Loads libzip on the first archive and hands out its functions (see CZip.h for why it is not linked).
#include "CZip.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

// The sonames of libzip's 1.x releases: .so.4 (Debian 12, Ubuntu 22.04 and 24.04: libzip 1.7) and .so.5 (later
// releases, Debian 13); ZipArchiveReader calls only functions both export with the prototypes of zip.h. Last the
// development link, which points at the library of the very headers we were built with.
static const char *const candidates[] = {"libzip.so.4", "libzip.so.5", "libzip.so"};

static gg_libzip functions;
static const gg_libzip *table;
static char failure[512];
static pthread_once_t loading = PTHREAD_ONCE_INIT;

static void load(void) {
    void *library = NULL;
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0] && library == NULL; i++) {
        library = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) snprintf(failure, sizeof failure, "none of libzip.so.4, .so.5, .so loads (%s)", dlerror());
    }
    if (library == NULL) return;
#define GG_RESOLVE(field, name)                                                                          \
    if ((*(void **)&functions.field = dlsym(library, #name)) == NULL) {                                   \
        snprintf(failure, sizeof failure, "libzip has no %s", #name);                                     \
        return;                                                                                           \
    }
    GG_RESOLVE(open, zip_open)
    GG_RESOLVE(discard, zip_discard)
    GG_RESOLVE(get_num_entries, zip_get_num_entries)
    GG_RESOLVE(stat_init, zip_stat_init)
    GG_RESOLVE(stat_index, zip_stat_index)
    GG_RESOLVE(file_get_external_attributes, zip_file_get_external_attributes)
    GG_RESOLVE(fopen_index, zip_fopen_index)
    GG_RESOLVE(fclose, zip_fclose)
    GG_RESOLVE(fread, zip_fread)
    GG_RESOLVE(file_strerror, zip_file_strerror)
    GG_RESOLVE(strerror, zip_strerror)
    GG_RESOLVE(error_init_with_code, zip_error_init_with_code)
    GG_RESOLVE(error_fini, zip_error_fini)
    GG_RESOLVE(error_strerror, zip_error_strerror)
#undef GG_RESOLVE
    failure[0] = '\0';
    table = &functions;
}

const gg_libzip *gg_libzip_load(void) {
    pthread_once(&loading, load);
    return table;
}

const char *gg_libzip_failure(void) {
    pthread_once(&loading, load);
    return table == NULL ? failure : NULL;
}
