/* cache: a map from a text key (a tenant, a tenant and an endpoint, a division) to one entry
 * of a fixed size, shared by threads.
 *
 * Entries are allocated one by one and never move, so a caller may keep a pointer to one
 * while the map grows; they live until cx_cache_clear(). The map has one lock: take it
 * around every look-up and every use of an entry's members. The map is a hash table, so a
 * look-up costs the same for a thousand tenants (and their endpoints) as for one. */
#ifndef CX_CACHE_H
#define CX_CACHE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cx_cache {
        pthread_mutex_t lock;
        size_t entry_size;
        void (*entry_free)(void *entry); /**< frees what an entry owns (not the entry), or NULL */
        struct cx_cache_slot *slots;
        size_t n, cap; /**< entries; slots (a power of two, at most half used) */
} cx_cache;

/** @brief Static initializer for a cache of entries of @p type, cleaned up by @p free_fn. */
#define CX_CACHE_INIT(type, free_fn)                                           \
        {                                                                      \
                PTHREAD_MUTEX_INITIALIZER, sizeof(type), (free_fn), NULL, 0, 0 \
        }

void cx_cache_lock(cx_cache *c);
void cx_cache_unlock(cx_cache *c);

/**
 * @brief The entry of @p key, with the lock held. Absent: NULL, or with @p create a new
 *        zeroed entry (NULL when out of memory).
 */
void *cx_cache_get(cx_cache *c, const char *key, bool create);

/** @brief Free every entry (at exit); the cache can be used again afterwards. */
void cx_cache_clear(cx_cache *c);

#endif
