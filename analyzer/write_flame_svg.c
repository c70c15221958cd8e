/* A flame graph of live bytes, as one self-contained SVG: the root at the
 * bottom, callers below callees, each frame as wide as the live bytes
 * under it; a <title> on each gives its name and figures as a tooltip.
 * Frames whose bytes are mostly from sites judged leaks are red, those
 * mostly of anonymous mappings blue, the others in flamegraph.pl's warm
 * colours. Siblings in name order, as flamegraph.pl does, so that the
 * same stacks always draw the same picture. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "history.h"
#include "svg.h"
#include "writers.h"

#define WIDTH 1200.0
#define PAD 10.0
#define ROW 17.0
#define HEAD 56.0 /* title and legend */
#define FOOT 24.0
#define CHAR_W 6.7 /* of the 11px monospace labels */

struct node {
        char *name;
        int64_t bytes, leak_bytes, map_bytes;
        struct node **kids;
        size_t nkids, cap;
};

static void node_free(struct node *n)
{
        if (!n)
                return;
        for (size_t i = 0; i < n->nkids; i++)
                node_free(n->kids[i]);
        free(n->kids);
        free(n->name);
        free(n);
}

static struct node *node_new(const char *name)
{
        struct node *n = calloc(1, sizeof(*n));
        if (n && !(n->name = strdup(name))) {
                free(n);
                return NULL;
        }
        return n;
}

static struct node *child(struct node *p, const char *name)
{
        for (size_t i = 0; i < p->nkids; i++)
                if (!strcmp(p->kids[i]->name, name))
                        return p->kids[i];
        if (p->nkids == p->cap) {
                size_t cap = p->cap ? 2 * p->cap : 4;
                struct node **k = realloc(p->kids, cap * sizeof(*k));
                if (!k)
                        return NULL;
                p->kids = k;
                p->cap = cap;
        }
        struct node *n = node_new(name);
        if (n)
                p->kids[p->nkids++] = n;
        return n;
}

static void add(struct node *n, const struct lt_site *s)
{
        /* wrapped, never undefined, for a damaged file's absurd figures */
        __builtin_add_overflow(n->bytes, s->live_bytes, &n->bytes);
        if (s->hist && s->hist->verdict.kind == LT_VERDICT_LEAK)
                __builtin_add_overflow(n->leak_bytes, s->live_bytes, &n->leak_bytes);
        if (s->kind == LT_SITE_MAPPING)
                __builtin_add_overflow(n->map_bytes, s->live_bytes, &n->map_bytes);
}

static int add_report(struct node *root, struct lt_report *r)
{
        for (size_t i = 0; i < r->nsites; i++) {
                const struct lt_site *s = r->sites[i];
                if (s->live_bytes <= 0)
                        continue;
                char **names;
                unsigned nn;
                int err = lt_site_names(r, s, &names, &nn);
                if (err)
                        return err;
                struct node *n = root;
                add(n, s);
                for (unsigned j = 0; j < nn && n; j++)
                        if ((n = child(n, names[j])))
                                add(n, s);
                lt_names_free(names, nn);
                if (!n)
                        return -ENOMEM;
        }
        return 0;
}

static int kid_cmp(const void *pa, const void *pb)
{
        return strcmp((*(struct node *const *)pa)->name, (*(struct node *const *)pb)->name);
}

static unsigned depth_of(struct node *n)
{
        unsigned d = 0;
        if (n->nkids)
                qsort(n->kids, n->nkids, sizeof(*n->kids), kid_cmp);
        for (size_t i = 0; i < n->nkids; i++) {
                unsigned k = depth_of(n->kids[i]);
                d = k > d ? k : d;
        }
        return d + 1;
}

/* The first bytes of NAME that fit in MAXC characters, cut on a character
 * boundary, with ".." when cut. */
static void label(FILE *out, const char *name, int maxc)
{
        int chars = 0;
        size_t i = 0, len = strlen(name);
        while (i < len && chars < maxc) {
                i++;
                while (i < len && ((unsigned char)name[i] & 0xc0) == 0x80)
                        i++;
                chars++;
        }
        if (i >= len) {
                lt_svg_text(out, name);
                return;
        }
        /* cut two characters earlier, for the ".." */
        size_t cut = i;
        for (int k = 0; k < 2 && cut > 0; k++) {
                cut--;
                while (cut > 0 && ((unsigned char)name[cut] & 0xc0) == 0x80)
                        cut--;
        }
        lt_svg_text_n(out, name, cut);
        fputs("..", out);
}

static void draw(FILE *out, const struct node *n, double x, unsigned depth, double scale,
                 double base_y, int64_t total)
{
        double w = (double)n->bytes * scale;
        if (w < 0.3)
                return;
        double y = base_y - (depth + 1) * ROW;
        double half = (double)n->bytes / 2; /* doubles: a damaged file's figures overflow */
        int palette = (double)n->leak_bytes > half ? 1 : (double)n->map_bytes > half ? 2 : 0;
        char color[8], human[64];
        fputs("<g><title>", out);
        lt_svg_text(out, n->name);
        fprintf(out, " \xe2\x80\x94 %s live (%.2f%%)",
                lt_human_bytes(human, sizeof(human), n->bytes),
                total ? 100.0 * (double)n->bytes / (double)total : 0.0);
        if (n->leak_bytes)
                fprintf(out, ", %s of it in leaks",
                        lt_human_bytes(human, sizeof(human), n->leak_bytes));
        if (n->map_bytes)
                fprintf(out, ", %s of it mapped",
                        lt_human_bytes(human, sizeof(human), n->map_bytes));
        fprintf(out,
                "</title><rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.0f\" rx=\"2\" "
                "fill=\"%s\" data-bytes=\"%" PRId64 "\"/>",
                x, y, w, ROW - 1, lt_svg_color(color, n->name, palette), n->bytes);
        int maxc = (int)((w - 6) / CHAR_W);
        if (maxc >= 3) {
                fprintf(out, "<text class=\"mono\" x=\"%.2f\" y=\"%.2f\">", x + 3, y + ROW - 5);
                label(out, n->name, maxc);
                fputs("</text>", out);
        }
        fputs("</g>\n", out);
        double kx = x;
        for (size_t i = 0; i < n->nkids; i++) {
                draw(out, n->kids[i], kx, depth + 1, scale, base_y, total);
                kx += (double)n->kids[i]->bytes * scale;
        }
}

static void legend(FILE *out, double x, double y, const char *fill, const char *text)
{
        fprintf(out,
                "<rect x=\"%.0f\" y=\"%.0f\" width=\"12\" height=\"12\" rx=\"2\" fill=\"%s\"/>"
                "<text x=\"%.0f\" y=\"%.0f\">%s</text>\n",
                x, y, fill, x + 17, y + 10, text);
}

int lt_write_flame_svg(FILE *out, struct lt_report *const *reports, size_t n)
{
        char *root_name = NULL;
        if (n == 1) {
                const struct lt_trace *t = reports[0]->trace;
                if (asprintf(&root_name, "pid %" PRIu32 " %s", t->hdr.pid,
                             t->argc ? t->argv[0] : t->hdr.exe) < 0)
                        return -ENOMEM;
        } else if (!(root_name = strdup("all processes"))) {
                return -ENOMEM;
        }
        struct node *root = node_new(root_name);
        free(root_name);
        int err = root ? 0 : -ENOMEM;
        int sampled = 0;
        size_t nsites = 0;
        for (size_t k = 0; k < n && !err; k++) {
                struct lt_report *r = reports[k];
                sampled |= r->trace->hdr.sample_bytes != 0;
                nsites += r->nsites;
                struct node *top = root;
                if (n > 1) {
                        char *name;
                        if (asprintf(&name, "pid %" PRIu32 " %s", r->trace->hdr.pid,
                                     r->trace->argc ? r->trace->argv[0] : r->trace->hdr.exe) < 0) {
                                err = -ENOMEM;
                                break;
                        }
                        top = child(root, name);
                        free(name);
                        if (!top) {
                                err = -ENOMEM;
                                break;
                        }
                }
                err = add_report(top, r);
                if (!err && top != root) {
                        __builtin_add_overflow(root->bytes, top->bytes, &root->bytes);
                        __builtin_add_overflow(root->leak_bytes, top->leak_bytes,
                                               &root->leak_bytes);
                        __builtin_add_overflow(root->map_bytes, top->map_bytes, &root->map_bytes);
                }
        }
        if (err) {
                node_free(root);
                return err;
        }
        unsigned depth = depth_of(root);
        double height = HEAD + depth * ROW + FOOT;
        char human[64], mapped[64], title[320];
        /* Mappings are in the picture (in blue): said, as the text report's
         * "live" does not count them. */
        if (root->map_bytes > 0)
                snprintf(title, sizeof(title),
                         "leaktrace: live and mapped bytes, %s in %zu site%s",
                         lt_human_bytes(human, sizeof(human), root->bytes), nsites,
                         nsites == 1 ? "" : "s");
        else
                snprintf(title, sizeof(title), "leaktrace: live bytes by call stack, %s in %zu site%s",
                         lt_human_bytes(human, sizeof(human), root->bytes), nsites,
                         nsites == 1 ? "" : "s");
        lt_svg_begin(out, WIDTH, height, title);
        fputs("<text class=\"title\" x=\"10\" y=\"22\">", out);
        lt_svg_text(out, title);
        fputs("</text>\n<text class=\"small\" x=\"10\" y=\"40\">", out);
        lt_svg_text(out, root->name);
        if (root->map_bytes > 0) {
                fputs(" \xe2\x80\x94 ", out);
                lt_svg_text(out, lt_human_bytes(mapped, sizeof(mapped), root->map_bytes));
                fputs(" of it anonymous mappings", out);
        }
        fputs(sampled ? " \xe2\x80\x94 sampled: bytes are estimates" : "", out);
        fputs(" \xe2\x80\x94 each frame as wide as the live bytes allocated under it; hover for "
              "figures</text>\n",
              out);
        legend(out, WIDTH - 420, 12, "#e0504a", "mostly leaks");
        legend(out, WIDTH - 300, 12, "#f0a030", "other allocations");
        legend(out, WIDTH - 160, 12, "#70b0e8", "anonymous mappings");
        double scale = root->bytes > 0 ? (WIDTH - 2 * PAD) / (double)root->bytes : 0;
        if (root->bytes > 0)
                draw(out, root, PAD, 0, scale, height - FOOT, root->bytes);
        else
                fprintf(out, "<text x=\"%.0f\" y=\"%.0f\">no live memory</text>\n", PAD,
                        height - FOOT - 4);
        node_free(root);
        return lt_svg_end(out);
}
