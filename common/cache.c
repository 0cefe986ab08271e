/* cache: see cache.h. */
#include "common/cache.h"

#include <stdlib.h>
#include <string.h>

struct cx_cache_slot {
        char *key;
        void *entry;
};

void cx_cache_lock(cx_cache *c)
{
        pthread_mutex_lock(&c->lock);
}

void cx_cache_unlock(cx_cache *c)
{
        pthread_mutex_unlock(&c->lock);
}

void *cx_cache_get(cx_cache *c, const char *key, bool create)
{
        struct cx_cache_slot *s;

        for (size_t i = 0; i < c->n; i++) {
                if (!strcmp(c->slots[i].key, key))
                        return c->slots[i].entry;
        }
        if (!create)
                return NULL;
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 16;
                struct cx_cache_slot *n = realloc(c->slots, cap * sizeof(*n));

                if (!n)
                        return NULL;
                c->slots = n;
                c->cap = cap;
        }
        s = &c->slots[c->n];
        s->key = strdup(key);
        s->entry = calloc(1, c->entry_size);
        if (!s->key || !s->entry) {
                free(s->key);
                free(s->entry);
                return NULL;
        }
        c->n++;
        return s->entry;
}

void cx_cache_clear(cx_cache *c)
{
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->n; i++) {
                if (c->entry_free)
                        c->entry_free(c->slots[i].entry);
                free(c->slots[i].entry);
                free(c->slots[i].key);
        }
        free(c->slots);
        c->slots = NULL;
        c->n = c->cap = 0;
        pthread_mutex_unlock(&c->lock);
}
