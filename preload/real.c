#define _GNU_SOURCE
#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>

#include "log.h"

struct lt_real lt_real;

/* dlsym() may call calloc() and malloc() for its error state before the
 * real ones are known: those calls are served from here. A few hundred bytes
 * are used in practice; the pool is never reused. */
_Alignas(64) unsigned char lt_boot_pool[LT_BOOT_POOL_SIZE];
static atomic_size_t boot_used;

struct boot_hdr {
        size_t size;
        size_t pad;
};

void *lt_boot_alloc(size_t size, size_t align)
{
        if (align < 16)
                align = 16;
        size_t need = size + sizeof(struct boot_hdr) + align;
        size_t at = atomic_fetch_add(&boot_used, need);
        if (at + need > sizeof(lt_boot_pool) || need < size)
                return NULL;
        uintptr_t p = (uintptr_t)lt_boot_pool + at + sizeof(struct boot_hdr);
        p = (p + align - 1) & ~(uintptr_t)(align - 1);
        ((struct boot_hdr *)p)[-1].size = size;
        return (void *)p;
}

size_t lt_boot_size(const void *p)
{
        return ((const struct boot_hdr *)p)[-1].size;
}

static atomic_int state; /* 0 never, 1 running, 2 done, 3 failed */

/* Publishes r: the hooks test lt_real.malloc, so it goes last. */
static void publish(struct lt_real *r)
{
        void *(*m)(size_t) = r->malloc;
        r->malloc = NULL;
        lt_real = *r;
        __atomic_store_n(&lt_real.malloc, m, __ATOMIC_RELEASE);
        atomic_store_explicit(&state, 2, memory_order_release);
}

int lt_real_init_from(void *handle)
{
        struct lt_real r;
        int saved = errno;
#define LT_X_RESOLVE(name, ret, args) r.name = (ret(*) args)dlsym(handle, #name);
        LT_REAL_FUNCS(LT_X_RESOLVE)
#undef LT_X_RESOLVE
        errno = saved;
        if (!r.malloc || !r.free || !r.calloc || !r.realloc)
                return -ENOSYS;
        publish(&r);
        return 0;
}

int lt_real_init(void)
{
        static __thread __attribute__((tls_model("initial-exec"))) int resolving;
        int expected = 0;

        int now = atomic_load_explicit(&state, memory_order_acquire);
        if (now >= 2)
                return now == 2 ? 0 : -ENOSYS;
        if (resolving)
                return -EAGAIN; /* dlsym allocating: the caller uses the pool */
        if (!atomic_compare_exchange_strong(&state, &expected, 1)) {
                /* Another thread resolves; it never waits for us. */
                while ((now = atomic_load_explicit(&state, memory_order_acquire)) == 1)
                        ;
                return now == 2 ? 0 : -ENOSYS;
        }
        resolving = 1;

        int saved = errno;
        struct lt_real r;
#define LT_X_RESOLVE(name, ret, args) r.name = (ret(*) args)dlsym(RTLD_NEXT, #name);
        LT_REAL_FUNCS(LT_X_RESOLVE)
#undef LT_X_RESOLVE
        errno = saved;
        resolving = 0;
        if (!r.malloc || !r.free || !r.calloc || !r.realloc) {
                lt_log_error("cannot find the real malloc, free, calloc or realloc");
                atomic_store_explicit(&state, 3, memory_order_release);
                return -ENOSYS;
        }
        publish(&r);
        return 0;
}
