/* ops_users: who may use the control panel. Users with Argon2id password hashes (libsodium
 * crypto_pwhash_str), sign-in with a growing delay after each wrong password and a lockout
 * after repeated ones, and sessions: a random cookie value (only its SHA-256 is stored) with a
 * per-session CSRF token that every change must send back in a header.
 *
 * One module for the whole store (panel_users, panel_sessions): connector-admin creates the
 * users (`users add`), the panel signs them in, and both must agree on names and passwords.
 *
 * Every function returns 0 or -1 with a cx_err (see common/error.h). The caller serialises
 * calls that share one cx_db. */
#ifndef OPS_USERS_H
#define OPS_USERS_H

#include <jansson.h>
#include <stdbool.h>

#include "common/db.h"
#include "common/error.h"

#define OPS_TOKEN_LEN 64 /* hex characters of a session or CSRF token */
#define OPS_MIN_PASSWORD 10
#define OPS_MAX_PASSWORD 1024

typedef struct ops_auth_policy {
        long session_ttl_s; /**< idle life of a session (sliding) */
        long session_max_s; /**< absolute life of a session from sign-in (never extended) */
        long fail_delay_ms; /**< wait after the first wrong password; doubles after each */
        int lockout_after;  /**< wrong passwords in a row that lock the account */
        long lockout_s;     /**< how long the lock lasts */
} ops_auth_policy;

typedef struct ops_user {
        char name[65];
        char email[255]; /**< "" when the user has none (filled by ops_link_*) */
        char role[16];   /**< "operator" or "owner" */
        char tenant[64]; /**< the owner's tenant; "" for operators */
} ops_user;

/** @brief Prepare libsodium and a dummy hash (so unknown names cost what known ones do). */
int ops_auth_init(cx_err *err);

/** @brief Free what ops_auth_init() made. */
void ops_auth_cleanup(void);

/**
 * @brief Create user @p name, or replace the password, role and tenant of an existing one
 *        (which also clears its failed sign-ins and ends its sessions).
 * @returns 0, or -1: CX_ERR_PARSE for a bad name, role, a password shorter than
 *          OPS_MIN_PASSWORD, or an owner without a tenant or an operator with one;
 *          CX_ERR_NOT_FOUND for an unknown tenant.
 */
int ops_user_set(cx_db *db, const char *name, const char *role, const char *tenant,
                 const char *password, cx_err *err);

/**
 * @brief Check @p name and @p password and open a session.
 * @param token  receives the cookie value (OPS_TOKEN_LEN + 1 bytes)
 * @param csrf   receives the session's CSRF token (OPS_TOKEN_LEN + 1 bytes)
 * @param retry_after_s set when the answer is CX_ERR_LIMIT
 * @returns 0, or -1: CX_ERR_INVALID for a wrong name or password (the same answer for both),
 *          CX_ERR_LIMIT when the account must wait (delay after a wrong password, or locked).
 */
int ops_login(cx_db *db, const ops_auth_policy *pol, const char *name, const char *password,
              ops_user *user, char *token, char *csrf, long *retry_after_s, cx_err *err);

/**
 * @brief The user of the session whose cookie value is @p token, extending its idle life.
 * @returns 0, or -1 with CX_ERR_NOT_FOUND when there is no such live session.
 */
int ops_session(cx_db *db, const ops_auth_policy *pol, const char *token, ops_user *user,
                char *csrf, cx_err *err);

/** @brief End the session of @p token (nothing happens when there is none). */
int ops_logout(cx_db *db, const char *token, cx_err *err);

/** @brief Fail with CX_ERR_PARSE unless @p password has OPS_MIN_PASSWORD..OPS_MAX_PASSWORD. */
int ops_check_password(const char *password, cx_err *err);

/** @brief Fail with CX_ERR_PARSE unless @p email looks like name@domain (no spaces, <, >). */
int ops_check_email(const char *email, cx_err *err);

/** @brief Set @p name's e-mail address ("" or NULL removes it). CX_ERR_NOT_FOUND: no user. */
int ops_user_set_email(cx_db *db, const char *name, const char *email, cx_err *err);

/**
 * @brief Change the password of @p name after checking @p current; every other session of
 *        the user ends (the one whose cookie value is @p keep_token stays).
 * @returns 0, or -1: CX_ERR_INVALID when @p current is wrong, CX_ERR_PARSE for a bad new one.
 */
int ops_password_change(cx_db *db, const char *name, const char *current, const char *new_pw,
                        const char *keep_token, cx_err *err);

/**
 * @brief Invite user @p name (@p email, role, tenant as for ops_user_set) without a password:
 *        issue an invite link token valid for @p ttl_s. A user who has not accepted an
 *        earlier invitation is invited again (the old link stops working).
 * @param token receives the link's token (OPS_TOKEN_LEN + 1 bytes)
 * @returns 0, or -1: CX_ERR_INVALID when the user exists and has a password already,
 *          CX_ERR_PARSE / CX_ERR_NOT_FOUND as for ops_user_set.
 */
int ops_user_invite(cx_db *db, const char *name, const char *email, const char *role,
                    const char *tenant, const char *invited_by, long ttl_s, char *token,
                    cx_err *err);

/**
 * @brief Issue a password reset token for the user whose name or e-mail address is @p who and
 *        who has an e-mail address; earlier unused reset links of the user stop working.
 * @returns 0 with @p user (name, email) filled, or -1: CX_ERR_NOT_FOUND (no such user with an
 *          address; the caller answers as if one was sent).
 */
int ops_reset_issue(cx_db *db, const char *who, long ttl_s, ops_user *user, char *token,
                    cx_err *err);

/**
 * @brief Use a link token of @p purpose ("invite" or "reset") once: set @p password, clear
 *        failed sign-ins and the lock, end every session of the user.
 * @returns 0 with @p user filled, or -1: CX_ERR_INVALID when the link is unknown, used,
 *          expired or for the other purpose; CX_ERR_PARSE for a bad password.
 */
int ops_link_redeem(cx_db *db, const char *purpose, const char *token, const char *password,
                    ops_user *user, cx_err *err);

/** @brief Every user, without secrets: [{name, role, tenant, email, active, invited_by,
 *         last_login_at}] (active: has a password). A new reference, or NULL with @p err. */
json_t *ops_user_list(cx_db *db, cx_err *err);

/** @brief Whether the panel's tables are there (the schema is migrated) and answer. */
bool ops_users_ready(cx_db *db);

/** @brief Constant-time comparison of two NUL-terminated tokens. */
bool ops_token_equal(const char *a, const char *b);

#endif
