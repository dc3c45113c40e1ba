// Loads libcrypto on the first digest and forwards the calls declared in CCrypto.h to it.
#include "CCrypto.h"

#include <dlfcn.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <pthread.h>

#define GG_STRING(x) #x
#define GG_EXPAND(x) GG_STRING(x)
// The soname the headers we compile against belong to ("libcrypto.so.3" for OpenSSL 3.x).
#define GG_LIBCRYPTO "libcrypto.so." GG_EXPAND(OPENSSL_SHLIB_VERSION)

// The real prototypes from <openssl/evp.h>: a signature mismatch with CCrypto.h fails the build.
static struct {
    __typeof__(EVP_sha1) *sha1;
    __typeof__(EVP_sha256) *sha256;
    __typeof__(EVP_sha384) *sha384;
    __typeof__(EVP_sha512) *sha512;
    __typeof__(EVP_MD_CTX_new) *contextNew;
    __typeof__(EVP_MD_CTX_free) *contextFree;
    __typeof__(EVP_DigestInit_ex) *initialize;
    __typeof__(EVP_DigestUpdate) *update;
    __typeof__(EVP_DigestFinal_ex) *finish;
} libcrypto;

static pthread_once_t loading = PTHREAD_ONCE_INIT;
static int loaded;

static void load(void) {
    void *library = dlopen(GG_LIBCRYPTO, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) return;
#define GG_RESOLVE(field, name) \
    if ((*(void **)&libcrypto.field = dlsym(library, #name)) == NULL) return;
    GG_RESOLVE(sha1, EVP_sha1)
    GG_RESOLVE(sha256, EVP_sha256)
    GG_RESOLVE(sha384, EVP_sha384)
    GG_RESOLVE(sha512, EVP_sha512)
    GG_RESOLVE(contextNew, EVP_MD_CTX_new)
    GG_RESOLVE(contextFree, EVP_MD_CTX_free)
    GG_RESOLVE(initialize, EVP_DigestInit_ex)
    GG_RESOLVE(update, EVP_DigestUpdate)
    GG_RESOLVE(finish, EVP_DigestFinal_ex)
#undef GG_RESOLVE
    loaded = 1;
}

static int ready(void) {
    pthread_once(&loading, load);
    return loaded;
}

const EVP_MD *gg_EVP_sha1(void) { return ready() ? libcrypto.sha1() : NULL; }
const EVP_MD *gg_EVP_sha256(void) { return ready() ? libcrypto.sha256() : NULL; }
const EVP_MD *gg_EVP_sha384(void) { return ready() ? libcrypto.sha384() : NULL; }
const EVP_MD *gg_EVP_sha512(void) { return ready() ? libcrypto.sha512() : NULL; }
EVP_MD_CTX *gg_EVP_MD_CTX_new(void) { return ready() ? libcrypto.contextNew() : NULL; }

void gg_EVP_MD_CTX_free(EVP_MD_CTX *context) {
    if (context != NULL && ready()) libcrypto.contextFree(context);
}

int gg_EVP_DigestInit_ex(EVP_MD_CTX *context, const EVP_MD *type, ENGINE *engine) {
    return ready() ? libcrypto.initialize(context, type, engine) : 0;
}

int gg_EVP_DigestUpdate(EVP_MD_CTX *context, const void *data, size_t count) {
    return ready() ? libcrypto.update(context, data, count) : 0;
}

int gg_EVP_DigestFinal_ex(EVP_MD_CTX *context, unsigned char *digest, unsigned int *length) {
    return ready() ? libcrypto.finish(context, digest, length) : 0;
}

