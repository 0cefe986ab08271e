/* api_session: sign-in, sign-out and the session of a page reload (POST /api/login,
 * POST /api/logout, GET /api/session). */
#ifndef PANEL_API_SESSION_H
#define PANEL_API_SESSION_H

#include <stdbool.h>

#include "panel/rq.h"

json_t *api_session_json(const rq *q);
void api_session_login(rq *q);
void api_session_logout(rq *q);

#endif
