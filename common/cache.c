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

static size_t key_hash(const char *key)
{
        size_t h = 14695981039346656037ULL & (size_t)-1;

        for (; *key; key++)
                h = (h ^ (unsigned char)*key) * (size_t)1099511628211ULL;
        return h;
}

/* Open addressing with linear probing over cap (a power of two) slots, at most half full; a
 * slot with a NULL key is free (entries are never removed before cx_cache_clear). */
static struct cx_cache_slot *probe(struct cx_cache_slot *slots, size_t cap, const char *key)
{
        size_t i = key_hash(key) & (cap - 1);

        while (slots[i].key && strcmp(slots[i].key, key))
                i = (i + 1) & (cap - 1);
        return &slots[i];
}

static int grow(cx_cache *c)
{
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct cx_cache_slot *n = calloc(cap, sizeof(*n));

        if (!n)
                return -1;
        for (size_t i = 0; i < c->cap; i++)
                if (c->slots[i].key)
                        *probe(n, cap, c->slots[i].key) = c->slots[i];
        free(c->slots);
        c->slots = n;
        c->cap = cap;
        return 0;
}

void *cx_cache_get(cx_cache *c, const char *key, bool create)
{
        struct cx_cache_slot *s = c->cap ? probe(c->slots, c->cap, key) : NULL;

        if (s && s->key)
                return s->entry;
        if (!create)
                return NULL;
        if ((c->n + 1) * 2 > c->cap) {
                if (grow(c) < 0)
                        return NULL;
                s = probe(c->slots, c->cap, key);
        }
        s->key = strdup(key);
        s->entry = calloc(1, c->entry_size);
        if (!s->key || !s->entry) {
                free(s->key);
                free(s->entry);
                s->key = NULL;
                s->entry = NULL;
                return NULL;
        }
        c->n++;
        return s->entry;
}

void cx_cache_clear(cx_cache *c)
{
        pthread_mutex_lock(&c->lock);
        for (size_t i = 0; i < c->cap; i++) {
                if (!c->slots[i].key)
                        continue;
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
