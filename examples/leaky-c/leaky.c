/* A small request loop with two leaks, to try leaktrace on:
 *
 *   - every request's session is put into a cache that nothing ever trims;
 *   - a request with an error builds a message with strdup() and loses it.
 *
 * Everything else a request allocates is freed. The report of
 * `leaktrace run -- build/examples/leaky` names both lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct session {
        int id;
        char user[60];
        struct session *next;
};

static struct session *cache; /* grows with every request, never trimmed */

static struct session *open_session(int id)
{
        struct session *s = malloc(sizeof(*s));
        s->id = id;
        snprintf(s->user, sizeof(s->user), "user-%d", id % 97);
        s->next = cache;
        cache = s;
        return s;
}

static char *render(const struct session *s, size_t *len)
{
        char *page = malloc(4096);
        *len = (size_t)snprintf(page, 4096, "<html><body>hello %s</body></html>", s->user);
        return page;
}

static void log_error(int id)
{
        char *msg = strdup("request failed: upstream timed out");
        if (id < 0) /* never: the message is lost */
                free(msg);
}

static size_t handle_request(int id)
{
        size_t len;
        struct session *s = open_session(id);
        char *page = render(s, &len);
        if (id % 10 == 0)
                log_error(id);
        free(page);
        return len;
}

int main(int argc, char **argv)
{
        int requests = argc > 1 ? atoi(argv[1]) : 1000;
        size_t bytes = 0;
        for (int i = 1; i <= requests; i++)
                bytes += handle_request(i);
        printf("served %d requests, %zu bytes\n", requests, bytes);
        return 0;
}
