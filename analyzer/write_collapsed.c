/* Folded stacks, as flamegraph.pl and speedscope read them: one line per
 * site, its frames outermost first joined by ';', a space, its live bytes.
 * Callers are named by function, so that a flame graph merges what passes
 * through one function; the innermost frame, the line that allocated, also
 * by its file and line. JS frames, whose names say little alone ("value",
 * "(anonymous)"), by function, script and line, marked [JS]. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "writers.h"

static const char *base_name(const char *path)
{
        const char *slash = strrchr(path, '/');
        return slash && slash[1] ? slash + 1 : path;
}

/* A name fit for a folded line: ';' separates frames and a newline lines,
 * so ';' becomes ':', and every control character a space. */
static char *sanitized(char *s)
{
        for (unsigned char *p = (unsigned char *)s; *p; p++) {
                if (*p == ';')
                        *p = ':';
                else if (*p < 0x20 || *p == 0x7f)
                        *p = ' ';
        }
        return s;
}

void lt_names_free(char **names, unsigned n)
{
        for (unsigned i = 0; i < n; i++)
                free(names[i]);
        free(names);
}

const char *lt_site_cut_root(const struct lt_site *s)
{
        return s->truncated   ? "[outer frames cut at LEAKTRACE_DEPTH]"
               : s->cut_short ? "[outer frames not found by the unwinder]"
                              : NULL;
}

int lt_site_frames(struct lt_report *r, const struct lt_site *s, struct lt_shown_frame **out,
                   unsigned *nout)
{
        unsigned n = 0, cap = s->nframes + 1;
        struct lt_shown_frame *f = malloc(cap * sizeof(*f));
        if (!f)
                return -ENOMEM;
        for (unsigned i = 0; i < s->nframes; i++) {
                uint64_t addr = lt_site_addr(s, i);
                int mod = lt_site_module(s, i);
                const struct lt_addr_info *info = lt_sym_lookup(r->sym, mod, addr, true);
                if (!info)
                        goto nomem;
                for (unsigned j = i ? 0 : s->first_skip; j < info->nframes; j++) {
                        if (n == cap) {
                                struct lt_shown_frame *more = realloc(f, (cap *= 2) * sizeof(*f));
                                if (!more)
                                        goto nomem;
                                f = more;
                        }
                        f[n++] = (struct lt_shown_frame){&info->frames[j], mod, addr};
                }
        }
        *out = f;
        *nout = n;
        return 0;
nomem:
        free(f);
        return -ENOMEM;
}

int lt_site_names(struct lt_report *r, const struct lt_site *s, char ***out, unsigned *nout)
{
        struct lt_shown_frame *frames;
        unsigned nframes;
        int err = lt_site_frames(r, s, &frames, &nframes);
        if (err)
                return err;
        size_t n = 0;
        char **names = calloc(nframes + 3, sizeof(*names));
        if (!names)
                err = -ENOMEM;
        for (unsigned i = 0; i < nframes && !err; i++) {
                const struct lt_frame_info *f = frames[i].info;
                int mod = frames[i].mod;
                uint64_t addr = frames[i].addr;
                char *name;
                int len;
                if (f->code == LT_CODE_JS && f->file && f->line)
                        len = asprintf(&name, "%s (%s:%u) [JS]", f->function, base_name(f->file),
                                       f->line);
                else if (f->code == LT_CODE_JS)
                        len = asprintf(&name, "%s [JS]", f->function);
                else if (f->function && !n && f->file && f->line)
                        len =
                            asprintf(&name, "%s (%s:%u)", f->function, base_name(f->file), f->line);
                else if (f->function)
                        len = asprintf(&name, "%s", f->function);
                else if (mod >= 0)
                        len = asprintf(&name, "%s+0x%" PRIx64, base_name(r->trace->mods[mod].path),
                                       addr - r->trace->mods[mod].bias);
                else
                        len = asprintf(&name, "0x%" PRIx64, addr);
                if (len < 0)
                        err = -ENOMEM;
                else
                        names[n++] = sanitized(name);
        }
        free(frames);
        if (err && !names)
                return err;
        if (!err && !n && !(names[n++] = strdup("[no frames recorded]")))
                err = -ENOMEM;
        if (err) {
                lt_names_free(names, (unsigned)n);
                return err;
        }
        /* A stack whose outer frames were not recorded hangs from a root
         * that says so, not beside the whole ones as if it began there. */
        const char *cut = lt_site_cut_root(s);
        if (cut && !(names[n++] = strdup(cut))) {
                lt_names_free(names, (unsigned)n - 1);
                return -ENOMEM;
        }
        /* innermost first so far: turn them around */
        for (size_t i = 0; i < n / 2; i++) {
                char *t = names[i];
                names[i] = names[n - 1 - i];
                names[n - 1 - i] = t;
        }
        if (s->kind == LT_SITE_MAPPING && !(names[n++] = strdup("[anonymous mapping]"))) {
                lt_names_free(names, (unsigned)n - 1);
                return -ENOMEM;
        }
        *out = names;
        *nout = (unsigned)n;
        return 0;
}

int lt_write_collapsed(FILE *out, struct lt_report *const *reports, size_t n)
{
        for (size_t k = 0; k < n; k++) {
                struct lt_report *r = reports[k];
                for (size_t i = 0; i < r->nsites; i++) {
                        const struct lt_site *s = r->sites[i];
                        if (s->live_bytes <= 0)
                                continue;
                        char **names;
                        unsigned nn;
                        int err = lt_site_names(r, s, &names, &nn);
                        if (err)
                                return err;
                        if (n > 1) {
                                char *cmd =
                                    strdup(r->trace->argc ? base_name(r->trace->argv[0]) : "?");
                                if (!cmd) {
                                        lt_names_free(names, nn);
                                        return -ENOMEM;
                                }
                                fprintf(out, "pid %" PRIu32 " %s;", r->trace->hdr.pid,
                                        sanitized(cmd));
                                free(cmd);
                        }
                        for (unsigned j = 0; j < nn; j++)
                                fprintf(out, "%s%s", j ? ";" : "", names[j]);
                        fprintf(out, " %" PRId64 "\n", s->live_bytes);
                        lt_names_free(names, nn);
                }
        }
        return lt_out_error(out);
}
