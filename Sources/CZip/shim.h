#ifndef GREENGRASS_CZIP_SHIM_H
#define GREENGRASS_CZIP_SHIM_H

// libzip (Debian: libzip-dev): reads ZIP archives for `Unarchive: ZIP` artifacts. Chosen over libarchive because
// its shared library pulls in only zlib, libbz2 and libcrypto, where libarchive brings ICU, libxml2 and libstdc++.
#include <zip.h>

#endif
