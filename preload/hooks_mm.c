/* The interposed mapping calls. Only anonymous memory is followed: file
 * mappings (the loader's among them) are not memory the program holds. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>

#include "engine.h"
#include "mappings.h"
#include "modules.h"
#include "real.h"

#define REAL(name) (lt_likely(lt_real.name != NULL) || lt_real_init() == 0 ? lt_real.name : NULL)

/* Enters the tracer for what it knows of the process's code, which it
 * keeps whether recording or paused. */
static int enter_modules(void)
{
        if (lt_in_tracer || __atomic_load_n(&lt_recording, __ATOMIC_ACQUIRE) == LT_OFF)
                return 0;
        lt_in_tracer = 1;
        return 1;
}

static void *mapped(void *p, size_t len, int prot, int flags, int fd, off_t off)
{
        if (p == MAP_FAILED)
                return p;
        if ((flags & MAP_FIXED) && enter_modules()) {
                int saved = errno;
                lt_modules_unmapped((uintptr_t)p, len);
                errno = saved;
                lt_leave();
        }
        if (flags & MAP_ANONYMOUS) {
                if (lt_enter()) {
                        int saved = errno;
                        lt_mapping_mapped((uintptr_t)p, len, prot);
                        errno = saved;
                        lt_leave();
                }
                return p;
        }
        if ((flags & MAP_FIXED) && lt_enter_end()) {
                int saved = errno;
                lt_mapping_unmapped((uintptr_t)p, len); /* a file over anonymous memory */
                errno = saved;
                lt_leave();
        }
        /* Code mapped from a file by the program, not by the loader (whose
         * mmap is its own): V8 maps node's builtins again this way. */
        if ((prot & PROT_EXEC) && fd >= 0 && enter_modules()) {
                int saved = errno;
                lt_modules_mapped_exec((uintptr_t)p, len, fd, (uint64_t)off);
                errno = saved;
                lt_leave();
        }
        return p;
}

LT_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
        if (!REAL(mmap))
                return errno = ENOSYS, MAP_FAILED;
        return mapped(lt_real.mmap(addr, len, prot, flags, fd, off), len, prot, flags, fd, off);
}

LT_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
        if (!REAL(mmap))
                return errno = ENOSYS, MAP_FAILED;
        return mapped(lt_real.mmap(addr, len, prot, flags, fd, off), len, prot, flags, fd, off);
}

LT_EXPORT int munmap(void *addr, size_t len)
{
        if (!REAL(munmap))
                return errno = ENOSYS, -1;
        int rc = lt_real.munmap(addr, len);
        if (rc == 0 && enter_modules()) {
                int saved = errno;
                lt_modules_unmapped((uintptr_t)addr, len);
                errno = saved;
                lt_leave();
        }
        if (rc == 0 && lt_enter_end()) {
                int saved = errno;
                lt_mapping_unmapped((uintptr_t)addr, len);
                errno = saved;
                lt_leave();
        }
        return rc;
}

/* dlclose: the object's code goes, and the next one loaded may take its
 * addresses. Its end is a new epoch of the unwinders' rules at once: a
 * stack walked in the next one's code before the modules were looked at
 * again (a new stack looks, after its walk) used rules read in the old
 * one's, and libunwind's cache did the same. dlopen is not interposed: see
 * attach.c. */
LT_EXPORT int dlclose(void *handle)
{
        if (!REAL(dlclose))
                return -1;
        /* First the objects as they are, so that one loaded since the last
         * look is known to have been there (its frames named by it). */
        if (lt_enter_end()) {
                int saved = errno;
                lt_modules_refresh();
                errno = saved;
                lt_leave();
        }
        int rc = lt_real.dlclose(handle);
        if (lt_enter_end()) {
                int saved = errno;
                lt_engine_unloaded();
                errno = saved;
                lt_leave();
        }
        return rc;
}

LT_EXPORT int mprotect(void *addr, size_t len, int prot)
{
        if (!REAL(mprotect))
                return errno = ENOSYS, -1;
        int rc = lt_real.mprotect(addr, len, prot);
        if (rc == 0 && lt_enter_end()) {
                int saved = errno;
                lt_mapping_protected((uintptr_t)addr, len, prot);
                errno = saved;
                lt_leave();
        }
        return rc;
}

LT_EXPORT void *mremap(void *old, size_t old_len, size_t len, int flags, ...)
{
        void *want = NULL;
        if (flags & MREMAP_FIXED) {
                va_list ap;
                va_start(ap, flags);
                want = va_arg(ap, void *);
                va_end(ap);
        }
        if (!REAL(mremap))
                return errno = ENOSYS, MAP_FAILED;
        void *p = lt_real.mremap(old, old_len, len, flags, want);
        if (p != MAP_FAILED && lt_enter_end()) {
                int saved = errno;
                lt_mapping_remapped((uintptr_t)old, old_len, (uintptr_t)p, len);
                errno = saved;
                lt_leave();
        }
        return p;
}
