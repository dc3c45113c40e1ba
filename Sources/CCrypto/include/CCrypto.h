#ifndef GREENGRASS_CCRYPTO_H
#define GREENGRASS_CCRYPTO_H

// OpenSSL's libcrypto (Debian: libssl-dev) for artifact `Digest` checks: SHA-1/SHA-2 through the EVP digest API.
//
// The library is loaded with dlopen on the first call, not linked: a nucleus that deploys no artifact with a digest
// never maps it (libcrypto costs 1.4 MB resident even unused, issue 16). Each function below has the name, the
// arguments and the result of the OpenSSL function Swift code sees it as; when libcrypto cannot be loaded the
// constructors return NULL and the other calls fail (0), which the callers already treat as errors.

#include <stddef.h>

typedef struct evp_md_st EVP_MD;
typedef struct evp_md_ctx_st EVP_MD_CTX;
typedef struct engine_st ENGINE;

#define EVP_MAX_MD_SIZE 64

const EVP_MD *gg_EVP_sha1(void) __attribute__((swift_name("EVP_sha1()")));
const EVP_MD *gg_EVP_sha256(void) __attribute__((swift_name("EVP_sha256()")));
const EVP_MD *gg_EVP_sha384(void) __attribute__((swift_name("EVP_sha384()")));
const EVP_MD *gg_EVP_sha512(void) __attribute__((swift_name("EVP_sha512()")));
EVP_MD_CTX *gg_EVP_MD_CTX_new(void) __attribute__((swift_name("EVP_MD_CTX_new()")));
void gg_EVP_MD_CTX_free(EVP_MD_CTX *context) __attribute__((swift_name("EVP_MD_CTX_free(_:)")));
int gg_EVP_DigestInit_ex(EVP_MD_CTX *context, const EVP_MD *type, ENGINE *engine)
    __attribute__((swift_name("EVP_DigestInit_ex(_:_:_:)")));
int gg_EVP_DigestUpdate(EVP_MD_CTX *context, const void *data, size_t count)
    __attribute__((swift_name("EVP_DigestUpdate(_:_:_:)")));
int gg_EVP_DigestFinal_ex(EVP_MD_CTX *context, unsigned char *digest, unsigned int *length)
    __attribute__((swift_name("EVP_DigestFinal_ex(_:_:_:)")));

#endif
