/* api_tenants: the tenant pages' API: the tenant list with a derived state, one tenant, its
 * mapping rules, its sync log and the booking preview. @p t is a tenant the user may see. */
#ifndef PANEL_API_TENANTS_H
#define PANEL_API_TENANTS_H

#include <stdbool.h>

#include "panel/rq.h"

void api_tenants_list(rq *q);
void api_tenants_show(rq *q, const char *t);
void api_tenants_mappings_get(rq *q, const char *t);
void api_tenants_mappings_put(rq *q, const char *t, bool check_only);
void api_tenants_log(rq *q, const char *t);
void api_tenants_preview(rq *q, const char *t);

#endif
