#pragma once
/*
 * ccv_hook.h - webhook delivery from a background thread.  Enqueueing never
 * blocks on the network; each POST has a short timeout and is tried once.
 */
#include <stdint.h>

struct ccv_hooks;

struct ccv_hook_stats {
        uint64_t queued;
        uint64_t delivered; /* answered 2xx */
        uint64_t failed;    /* transport error or non-2xx */
        uint64_t dropped;   /* queue full or shutdown */
};

/* Start the delivery thread.  Returns NULL on failure. */
struct ccv_hooks *ccv_hooks_new(long timeout_ms);
/*
 * Queue a POST of body to address, signed with key (see docs: x-hash =
 * HMAC-SHA512(key, address|body)).  Copies its arguments.  Returns 0 or
 * -ENOMEM / -ENOSPC (queue full).
 */
int ccv_hooks_enqueue(struct ccv_hooks *h, const char *address, const char *key, const char *event,
                      const char *body);
void ccv_hooks_stats(struct ccv_hooks *h, struct ccv_hook_stats *ret);
/* Stop the thread (pending deliveries are dropped) and free.  NULL-safe. */
void ccv_hooks_free(struct ccv_hooks *h);
