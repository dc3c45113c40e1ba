#ifndef GREENGRASS_CCRYPTO_SHIM_H
#define GREENGRASS_CCRYPTO_SHIM_H

// OpenSSL's libcrypto (Debian: libssl-dev): SHA-1/SHA-2 through the EVP digest API for artifact `Digest` checks.
// Chosen over swift-crypto because the nucleus already maps libcrypto (libzip links it), so hashing adds no
// resident library.
#include <openssl/evp.h>

#endif
