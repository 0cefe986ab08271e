/* ops_notify: the e-mail notifications a shop owner gets without looking at the panel: the
 * Exact connection needs a new consent, new failures (dead letters) wait for a fix, and a
 * daily summary of what synced. Each notice is claimed in panel_notices before it is sent, so
 * several panel replicas send it once; a notice no recipient could be sent is released and
 * tried again on the next run. Recipients: the tenant's shop owners who have an e-mail
 * address and a password. */
#ifndef OPS_NOTIFY_H
#define OPS_NOTIFY_H

#include "ops/ops.h"

typedef struct ops_notify_cfg {
        long failures_gap_s; /**< at least this long between two failure mails of a tenant */
        int summary_hour; /**< local hour (Europe/Amsterdam) from which the day's summary goes; -1: none */
        const char *public_url; /**< links to the panel; "" for none */
} ops_notify_cfg;

/** @brief Send one mail; 0 or -1 with @p err. */
typedef int (*ops_notify_send_fn)(void *ud, const char *to, const char *subject, const char *text,
                                  cx_err *err);

/**
 * @brief Find the notices due for every enabled tenant, claim and send them.
 * @returns the number of notices sent, or -1 with @p err (database).
 */
int ops_notify_run(ops_ctx *ctx, const ops_notify_cfg *cfg, ops_notify_send_fn send, void *ud,
                   cx_err *err);

#endif
