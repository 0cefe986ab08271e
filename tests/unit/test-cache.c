/* The shared cache: 2,000 tenants x 10 endpoints, each key its own entry, entries that never
 * move while the map grows, and a clear that leaves it usable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cache.h"
#include "tests/testlib.h"

#define N_KEYS 20000

struct entry {
        int n;
        char *owned;
};

static int frees;

static void entry_free(void *e)
{
        free(((struct entry *)e)->owned);
        frees++;
}

static cx_cache cache = CX_CACHE_INIT(struct entry, entry_free);

static void key_of(int i, char *out, size_t size)
{
        snprintf(out, size, "shop-%04d/endpoint-%d", i / 10, i % 10);
}

int main(void)
{
        struct entry **seen = calloc(N_KEYS, sizeof(*seen));
        int same = 0, values = 0;
        char key[64];

        T_FATAL(seen != NULL, "setup");
        cx_cache_lock(&cache);
        T_ASSERT(cx_cache_get(&cache, "absent", false) == NULL, "empty map finds nothing");
        for (int i = 0; i < N_KEYS; i++) {
                key_of(i, key, sizeof(key));
                seen[i] = cx_cache_get(&cache, key, true);
                T_FATAL(seen[i] != NULL, "entry %d", i);
                seen[i]->n = i;
                seen[i]->owned = strdup(key);
        }
        for (int i = 0; i < N_KEYS; i++) {
                struct entry *e;

                key_of(i, key, sizeof(key));
                e = cx_cache_get(&cache, key, false);
                same += e == seen[i];
                values += e && e->n == i && !strcmp(e->owned, key);
        }
        T_ASSERT(cx_cache_get(&cache, "shop-2000/endpoint-0", false) == NULL, "unknown key");
        T_EQ_INT(cache.n, N_KEYS);
        cx_cache_unlock(&cache);
        T_EQ_INT(same, N_KEYS);
        T_EQ_INT(values, N_KEYS);
        cx_cache_clear(&cache);
        T_EQ_INT(frees, N_KEYS);
        cx_cache_lock(&cache);
        T_ASSERT(cx_cache_get(&cache, "shop-0001/endpoint-1", false) == NULL, "cleared");
        T_ASSERT(cx_cache_get(&cache, "again", true) != NULL, "usable after clear");
        cx_cache_unlock(&cache);
        cx_cache_clear(&cache);
        free(seen);
        return t_done();
}
