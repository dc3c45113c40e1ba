#ifndef GREENGRASS_CZIP_H
#define GREENGRASS_CZIP_H

// libzip (Debian: libzip-dev) reads ZIP archives for `Unarchive: ZIP` artifacts. Chosen over libarchive because its
// shared library pulls in only zlib, libbz2 and libcrypto, where libarchive brings ICU, libxml2 and libstdc++.
//
// It is loaded with dlopen when the first archive is opened, not linked: linked, it and the libcrypto it needs are
// mapped in every nucleus, 1.4 MB resident even when no deployment ever unpacks a ZIP (issue 16).

#include <zip.h>

/// The libzip functions ZipExtraction calls, with libzip's own prototypes.
typedef struct {
    __typeof__(zip_open) *open;
    __typeof__(zip_discard) *discard;
    __typeof__(zip_get_num_entries) *get_num_entries;
    __typeof__(zip_stat_init) *stat_init;
    __typeof__(zip_stat_index) *stat_index;
    __typeof__(zip_file_get_external_attributes) *file_get_external_attributes;
    __typeof__(zip_fopen_index) *fopen_index;
    __typeof__(zip_fclose) *fclose;
    __typeof__(zip_fread) *fread;
    __typeof__(zip_file_strerror) *file_strerror;
    __typeof__(zip_strerror) *strerror;
    __typeof__(zip_error_init_with_code) *error_init_with_code;
    __typeof__(zip_error_fini) *error_fini;
    __typeof__(zip_error_strerror) *error_strerror;
} gg_libzip;

/// Loads libzip on the first call (thread-safe; later calls return the same table). NULL when it cannot be loaded;
/// then `gg_libzip_failure()` says why.
const gg_libzip *gg_libzip_load(void);

/// Why `gg_libzip_load()` returned NULL (the dynamic loader's message), or NULL after a successful load.
const char *gg_libzip_failure(void);

#endif
