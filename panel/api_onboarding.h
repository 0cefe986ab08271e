/* api_onboarding: the shop owner's onboarding wizard (docs/panel.md, "Onboarding"): connect
 * the shop (keys verified with one signed call before they are stored), choose the Exact
 * administration among those the consent reaches, read what the mapping is picked from, list
 * the shop's latest orders for the preview, and switch syncing on (only once shop and Exact
 * are connected) or off. */
#ifndef PANEL_API_ONBOARDING_H
#define PANEL_API_ONBOARDING_H

#include "panel/rq.h"

/**
 * @brief /api/tenants/T/onboarding[/STEP]: GET (state), POST shop, GET divisions,
 *        POST division, POST live, GET choices, GET orders. The caller has checked access.
 */
void api_onboarding(rq *q, const char *t, const char *step);

#endif
