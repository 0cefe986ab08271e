/* webhook.h: the shop's webhooks. Registration points the shop's order and product events
 * at /webhooks/{tenant}; a delivery is only a hint (stored in extract_hints, the engine
 * woken): the hinted resource is fetched again with a signed request before anything is
 * published. */
#ifndef CX_EXTRACTOR_WEBHOOK_H
#define CX_EXTRACTOR_WEBHOOK_H

#include "common/http_server.h"
#include "extractor/engine.h"

/** @brief How many webhooks a tenant has when all are registered. */
long ex_hook_events_count(void);

/** @brief Register the webhooks @p t lacks; existing ones (a lost answer last time) are
 *         recorded instead of registered twice. Retried after 5 s when it fails. */
ex_rc ex_slice_hooks(extractor *x, ex_tenant *t);

/** @brief Pull the stored hints of the tenants this instance holds into their queues. */
void ex_poll_hints(extractor *x);

/** @brief Whether @p t's hints may fetch now: they spend at most half of the tenant's GET
 *         budget per rate window (the passes keep the rest). */
bool ex_hints_may_run(const extractor *x, ex_tenant *t, double now);

/** @brief Fetch and handle up to EX_HINTS_PER_SLICE of @p t's queued hints. */
ex_rc ex_slice_hints(extractor *x, ex_tenant *t);

/** @brief Route handler for POST /webhooks/{tenant} (the HTTP server's threads): stores the
 *         hint, wakes the engine. */
void ex_webhook_route(void *ud, const cx_http_request *req, cx_http_reply *reply);

#endif
