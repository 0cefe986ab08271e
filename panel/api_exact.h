/* api_exact: the Exact Online connection: its state, starting a consent, and the callback
 * Exact sends the browser back to (GET /oauth/callback, which needs no session). */
#ifndef PANEL_API_EXACT_H
#define PANEL_API_EXACT_H

#include <stdbool.h>

#include "panel/rq.h"

void api_exact_show(rq *q, const char *t);
void api_exact_connect(rq *q, const char *t);
void api_exact_callback(rq *q);

#endif
