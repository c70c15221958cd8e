/* Whether what was written to a stream reached it, and if not, why: the
 * reason stdio met (no space left, a broken pipe, a quota), not a blanket
 * "Input/output error". */
#ifndef LT_OUTPUT_H
#define LT_OUTPUT_H

#include <errno.h>
#include <stdio.h>

/* Flushes OUT. Returns 0 when every write reached it, else -errno of the
 * failure, or -EIO when the error is an earlier one whose reason stdio did
 * not keep. */
static inline int lt_out_error(FILE *out)
{
        errno = 0;
        if (fflush(out) == 0 && !ferror(out))
                return 0;
        return errno ? -errno : -EIO;
}

/* lt_out_error(), then closes OUT, whose close may fail too (a file
 * system that writes at close). Returns as lt_out_error(). */
static inline int lt_out_close(FILE *out)
{
        int err = lt_out_error(out);
        errno = 0;
        if (fclose(out) && !err)
                err = errno ? -errno : -EIO;
        return err;
}

#endif
