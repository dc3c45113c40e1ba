// glibc's allocator controls (malloc_trim), which the Glibc module does not export; part of libc, nothing to link.
#include <malloc.h>
