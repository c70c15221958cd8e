/* TAP-style checks: a line per case, then "N passed, N failed". */
#ifndef LT_TAP_H
#define LT_TAP_H

#include <stdio.h>

static int tap_n, tap_failed;

#define CHECK(cond, ...)                                                                       \
        do {                                                                                   \
                int tap_ok_ = !!(cond);                                                        \
                ++tap_n;                                                                       \
                if (tap_ok_) {                                                                 \
                        printf("ok %d - ", tap_n);                                             \
                } else {                                                                       \
                        tap_failed++;                                                          \
                        printf("not ok %d - ", tap_n);                                         \
                }                                                                              \
                printf(__VA_ARGS__);                                                           \
                printf(tap_ok_ ? "\n" : "   (%s:%d: %s)\n", __FILE__, __LINE__, #cond);        \
        } while (0)

static inline int tap_done(void)
{
        printf("%d passed, %d failed\n", tap_n - tap_failed, tap_failed);
        return tap_failed ? 1 : 0;
}

#endif
