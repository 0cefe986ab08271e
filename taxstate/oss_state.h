/* oss_state: the running intra-EU B2C total of the auto OSS mode, per tenant and year
 * (table oss_sales), as the transformer daemon counts it and the preview reads it. */
#ifndef TAXSTATE_OSS_STATE_H
#define TAXSTATE_OSS_STATE_H

#include "common/db.h"
#include "common/error.h"

/* What was counted in @p year before, excluding order @p source_id (a replay of it). */
int oss_state_ytd(cx_db *db, const char *tenant, int year, const char *source_id, long long *cents,
                  cx_err *err);

/* Counts order @p source_id (idempotent per order). */
int oss_state_add(cx_db *db, const char *tenant, int year, const char *source_id, long long cents,
                  cx_err *err);

#endif
