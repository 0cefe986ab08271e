/* api_users: accounts a shop owner runs alone. Operators invite users (a link by e-mail, the
 * invitee chooses the password), everyone changes their own password, and a forgotten one is
 * reset through a single-use link by e-mail. Links and passwords pass the sign-in throttle. */
#ifndef PANEL_API_USERS_H
#define PANEL_API_USERS_H

#include "panel/rq.h"

/** @brief GET /api/users (operators): every user, without secrets. */
void api_users_list(rq *q);

/** @brief POST /api/users/invite {"name","email","role","tenant"} (operators). */
void api_users_invite(rq *q);

/** @brief POST /api/password {"current","new"}: the signed-in user's own password. */
void api_users_change_password(rq *q);

/** @brief POST /api/password/forgot {"user"}: a reset link by mail (the same answer always). */
void api_users_forgot(rq *q);

/** @brief POST /api/password/reset or /api/invite/accept {"token","password"}. */
void api_users_redeem(rq *q, const char *purpose);

#endif
