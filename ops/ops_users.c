#include "ops/ops_users.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/crypto.h"
#include "common/log.h"
#include "ops/ops.h"

static char dummy_hash[crypto_pwhash_STRBYTES];

int ops_auth_init(cx_err *err)
{
        unsigned char pw[16];

        if (sodium_init() < 0)
                return cx_fail(err, CX_ERR_CRYPTO, false, "libsodium cannot be initialised");
        /* The hash of a random password nobody knows: verifying against it takes as long as
         * verifying a real user's password, so timing does not tell which names exist. */
        randombytes_buf(pw, sizeof(pw));
        if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof(pw),
                              crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
                return cx_fail(err, CX_ERR_CRYPTO, false, "out of memory hashing a password");
        return 0;
}

void ops_auth_cleanup(void)
{
        sodium_memzero(dummy_hash, sizeof(dummy_hash));
}

bool ops_users_ready(cx_db *db)
{
        return cx_db_exec(db, "SELECT 1 FROM panel_users LIMIT 0", 0, NULL, NULL) == 0;
}

bool ops_token_equal(const char *a, const char *b)
{
        size_t la = strlen(a), lb = strlen(b);

        if (la != lb || la == 0)
                return false;
        return sodium_memcmp(a, b, la) == 0;
}

static void random_hex(char *out)
{
        unsigned char raw[OPS_TOKEN_LEN / 2];

        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(out, OPS_TOKEN_LEN + 1, raw, sizeof(raw));
        sodium_memzero(raw, sizeof(raw));
}

static int check_name(const char *name, cx_err *err)
{
        size_t n = strlen(name);

        if (n == 0 || n > 64 || !isalnum((unsigned char)name[0]))
                return cx_fail(err, CX_ERR_PARSE, false,
                               "a user name is 1 to 64 characters and "
                               "starts with a letter or digit");
        for (size_t i = 0; i < n; i++) {
                unsigned char c = (unsigned char)name[i];

                if (!isalnum(c) && !strchr("._@-", c))
                        return cx_fail(err, CX_ERR_PARSE, false,
                                       "a user name may hold letters, "
                                       "digits, '.', '_', '@' and '-' only");
        }
        return 0;
}

int ops_user_set(cx_db *db, const char *name, const char *role, const char *tenant,
                 const char *password, cx_err *err)
{
        char hash[crypto_pwhash_STRBYTES];
        const char *p[4];
        size_t pwlen = password ? strlen(password) : 0;
        int rc;

        if (check_name(name, err) < 0)
                return -1;
        if (strcmp(role, "operator") != 0 && strcmp(role, "owner") != 0)
                return cx_fail(err, CX_ERR_PARSE, false, "role \"%s\": expected operator or owner",
                               role);
        if (tenant && !*tenant)
                tenant = NULL;
        if (!strcmp(role, "owner") && !tenant)
                return cx_fail(err, CX_ERR_PARSE, false, "a shop owner needs --tenant");
        if (!strcmp(role, "operator") && tenant)
                return cx_fail(err, CX_ERR_PARSE, false,
                               "an operator sees every tenant: "
                               "leave out --tenant");
        if (pwlen < OPS_MIN_PASSWORD || pwlen > OPS_MAX_PASSWORD)
                return cx_fail(err, CX_ERR_PARSE, false, "a password has %d to %d characters",
                               OPS_MIN_PASSWORD, OPS_MAX_PASSWORD);
        if (tenant) {
                const char *tp[1] = { tenant };
                PGresult *r = cx_db_query(db, "SELECT 1 FROM tenants WHERE id = $1", 1, tp, err);
                int rows = r ? PQntuples(r) : -1;

                PQclear(r);
                if (rows < 0)
                        return -1;
                if (rows == 0)
                        return cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", tenant);
        }
        if (crypto_pwhash_str(hash, password, pwlen, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
                return cx_fail(err, CX_ERR_CRYPTO, false, "out of memory hashing the password");
        p[0] = name;
        p[1] = hash;
        p[2] = role;
        p[3] = tenant;
        if (cx_db_begin(db, err) < 0)
                return -1;
        rc = cx_db_exec(db,
                        "INSERT INTO panel_users (name, password_hash, role, tenant_id)"
                        " VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO UPDATE SET"
                        " password_hash = $2, role = $3, tenant_id = $4, failed_logins = 0,"
                        " last_failed_at = NULL, locked_until = NULL, updated_at = now()",
                        4, p, err);
        if (rc == 0)
                rc = cx_db_exec(db, "DELETE FROM panel_sessions WHERE user_name = $1", 1, p, err);
        if (rc == 0)
                rc = cx_db_commit(db, err);
        if (rc < 0)
                cx_db_rollback(db);
        sodium_memzero(hash, sizeof(hash));
        return rc;
}

/* Milliseconds to wait after @p failed wrong passwords in a row: the delay doubles each time,
 * up to 64 times the first. */
static long fail_wait_ms(const ops_auth_policy *pol, long failed)
{
        long shift = failed > 7 ? 6 : failed - 1;

        return failed <= 0 ? 0 : pol->fail_delay_ms << shift;
}

static int open_session(cx_db *db, const ops_auth_policy *pol, const char *name, char *token,
                        char *csrf, cx_err *err)
{
        char hash[65], ttl[24], max[24];
        const char *p[5] = { hash, name, csrf, ttl, max };

        random_hex(token);
        random_hex(csrf);
        cx_sha256_hex(token, strlen(token), hash);
        snprintf(ttl, sizeof(ttl), "%ld", pol->session_ttl_s);
        snprintf(max, sizeof(max), "%ld", pol->session_max_s > 0 ? pol->session_max_s : 43200);
        return cx_db_exec(db,
                          "INSERT INTO panel_sessions (token_hash, user_name, csrf_token,"
                          " expires_at, ends_at) VALUES ($1, $2, $3, least(now() + $4::bigint *"
                          " interval '1 second', now() + $5::bigint * interval '1 second'),"
                          " now() + $5::bigint * interval '1 second')",
                          5, p, err);
}

int ops_login(cx_db *db, const ops_auth_policy *pol, const char *name, const char *password,
              ops_user *user, char *token, char *csrf, long *retry_after_s, cx_err *err)
{
        const char *p[4] = { name, NULL, NULL, NULL };
        char lock[24], failed_s[24];
        size_t pwlen = password ? strlen(password) : 0;
        PGresult *r;
        long failed, since_ms, lock_left;
        bool ok;

        *retry_after_s = 0;
        if (!name || check_name(name, NULL) < 0 || pwlen == 0 || pwlen > OPS_MAX_PASSWORD) {
                /* Spend the same time as a real check before saying no. */
                if (crypto_pwhash_str_verify(dummy_hash, "x", 1) == 0)
                        cx_log(CX_LOG_ERROR, "panel.dummy_hash", "dummy hash matched");
                return cx_fail(err, CX_ERR_INVALID, false, "wrong user name or password");
        }
        cx_db_exec(db, "DELETE FROM panel_sessions WHERE expires_at < now() OR ends_at < now()", 0,
                   NULL, NULL);
        if (cx_db_begin(db, err) < 0)
                return -1;
        r = cx_db_query(db,
                        "SELECT password_hash, role, coalesce(tenant_id, ''), failed_logins,"
                        " coalesce((extract(epoch FROM now() - last_failed_at) * 1000)::bigint,"
                        " -1), coalesce(ceil(extract(epoch FROM locked_until - now()))::bigint, 0)"
                        " FROM panel_users WHERE name = $1 FOR UPDATE",
                        1, p, err);
        if (!r)
                goto fail;
        if (PQntuples(r) != 1) {
                PQclear(r);
                cx_db_rollback(db);
                if (crypto_pwhash_str_verify(dummy_hash, password, pwlen) == 0)
                        cx_log(CX_LOG_ERROR, "panel.dummy_hash", "dummy hash matched");
                return cx_fail(err, CX_ERR_INVALID, false, "wrong user name or password");
        }
        failed = strtol(PQgetvalue(r, 0, 3), NULL, 10);
        since_ms = strtol(PQgetvalue(r, 0, 4), NULL, 10);
        lock_left = strtol(PQgetvalue(r, 0, 5), NULL, 10);
        if (lock_left > 0) {
                PQclear(r);
                cx_db_rollback(db);
                *retry_after_s = lock_left;
                return cx_fail(err, CX_ERR_LIMIT, false,
                               "too many wrong passwords: this account "
                               "is locked for another %ld s",
                               lock_left);
        }
        if (failed > 0 && since_ms >= 0 && since_ms < fail_wait_ms(pol, failed)) {
                long wait_ms = fail_wait_ms(pol, failed) - since_ms;

                PQclear(r);
                cx_db_rollback(db);
                *retry_after_s = (wait_ms + 999) / 1000;
                return cx_fail(err, CX_ERR_LIMIT, false,
                               "wrong password a moment ago: wait %ld "
                               "ms before trying again",
                               wait_ms);
        }
        if (PQgetisnull(r, 0, 0)) {
                /* invited, no password chosen yet: nothing matches, at the usual cost */
                if (crypto_pwhash_str_verify(dummy_hash, password, pwlen) == 0)
                        cx_log(CX_LOG_ERROR, "panel.dummy_hash", "dummy hash matched");
                ok = false;
        } else {
                ok = crypto_pwhash_str_verify(PQgetvalue(r, 0, 0), password, pwlen) == 0;
        }
        if (!ok) {
                failed++;
                snprintf(failed_s, sizeof(failed_s), "%ld", failed);
                snprintf(lock, sizeof(lock), "%ld", pol->lockout_s);
                p[1] = failed_s;
                p[2] = failed >= pol->lockout_after ? lock : NULL;
                PQclear(r);
                /* clock_timestamp(), not now(): the wait counts from the refusal, not from
                 * the start of this transaction, before the slow hash check. */
                if (cx_db_exec(db,
                               "UPDATE panel_users SET failed_logins = CASE WHEN $3::bigint"
                               " IS NULL THEN $2::integer ELSE 0 END,"
                               " last_failed_at = clock_timestamp(), locked_until ="
                               " clock_timestamp() + $3::bigint * interval '1 second'"
                               " WHERE name = $1",
                               3, p, err) < 0 ||
                    cx_db_commit(db, err) < 0)
                        goto fail;
                cx_log_fields(CX_LOG_WARN, "panel.login_failed",
                              json_pack("{s:s, s:i, s:b}", "user", name, "failed", (int)failed,
                                        "locked", p[2] != NULL),
                              "wrong password for panel user %s", name);
                if (p[2])
                        return cx_fail(err, CX_ERR_INVALID, false,
                                       "wrong user name or password;"
                                       " the account is now locked for %ld s",
                                       pol->lockout_s);
                return cx_fail(err, CX_ERR_INVALID, false, "wrong user name or password");
        }
        snprintf(user->name, sizeof(user->name), "%s", name);
        snprintf(user->role, sizeof(user->role), "%s", PQgetvalue(r, 0, 1));
        snprintf(user->tenant, sizeof(user->tenant), "%s", PQgetvalue(r, 0, 2));
        PQclear(r);
        if (cx_db_exec(db,
                       "UPDATE panel_users SET failed_logins = 0, last_failed_at = NULL,"
                       " locked_until = NULL, last_login_at = now() WHERE name = $1",
                       1, p, err) < 0 ||
            open_session(db, pol, name, token, csrf, err) < 0 || cx_db_commit(db, err) < 0)
                goto fail;
        return 0;
fail:
        cx_db_rollback(db);
        return -1;
}

int ops_session(cx_db *db, const ops_auth_policy *pol, const char *token, ops_user *user,
                char *csrf, cx_err *err)
{
        char hash[65], ttl[24];
        const char *p[2] = { hash, ttl };
        PGresult *r;

        if (!token || strlen(token) != OPS_TOKEN_LEN)
                return cx_fail(err, CX_ERR_NOT_FOUND, false, "not signed in");
        cx_sha256_hex(token, strlen(token), hash);
        snprintf(ttl, sizeof(ttl), "%ld", pol->session_ttl_s);
        r = cx_db_query(db,
                        "UPDATE panel_sessions s SET last_seen_at = now(), expires_at ="
                        " least(now() + $2::bigint * interval '1 second', s.ends_at)"
                        " FROM panel_users u WHERE s.token_hash = $1 AND s.expires_at > now()"
                        " AND s.ends_at > now() AND u.name ="
                        " s.user_name RETURNING u.name, u.role, coalesce(u.tenant_id, ''),"
                        " s.csrf_token",
                        2, p, err);
        if (!r)
                return -1;
        if (PQntuples(r) != 1) {
                PQclear(r);
                return cx_fail(err, CX_ERR_NOT_FOUND, false,
                               "not signed in (or the session "
                               "expired)");
        }
        snprintf(user->name, sizeof(user->name), "%s", PQgetvalue(r, 0, 0));
        snprintf(user->role, sizeof(user->role), "%s", PQgetvalue(r, 0, 1));
        snprintf(user->tenant, sizeof(user->tenant), "%s", PQgetvalue(r, 0, 2));
        snprintf(csrf, OPS_TOKEN_LEN + 1, "%s", PQgetvalue(r, 0, 3));
        PQclear(r);
        return 0;
}

int ops_logout(cx_db *db, const char *token, cx_err *err)
{
        char hash[65];
        const char *p[1] = { hash };

        if (!token || !*token)
                return 0;
        cx_sha256_hex(token, strlen(token), hash);
        return cx_db_exec(db, "DELETE FROM panel_sessions WHERE token_hash = $1", 1, p, err);
}

int ops_check_password(const char *password, cx_err *err)
{
        size_t n = password ? strlen(password) : 0;

        if (n < OPS_MIN_PASSWORD || n > OPS_MAX_PASSWORD)
                return cx_fail(err, CX_ERR_PARSE, false, "a password has %d to %d characters",
                               OPS_MIN_PASSWORD, OPS_MAX_PASSWORD);
        return 0;
}

int ops_check_email(const char *email, cx_err *err)
{
        const char *at = email ? strchr(email, '@') : NULL;
        size_t n = email ? strlen(email) : 0;

        if (!at || at == email || !at[1] || strchr(at + 1, '@') || n > 254 ||
            strpbrk(email, " \t\r\n<>,;\"'()[]\\"))
                return cx_fail(err, CX_ERR_PARSE, false,
                               "\"%.80s\" is not an e-mail address (name@example.com)",
                               email ? email : "");
        return 0;
}

static int hash_password(const char *password, char hash[crypto_pwhash_STRBYTES], cx_err *err)
{
        if (ops_check_password(password, err) < 0)
                return -1;
        if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                              crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
                return cx_fail(err, CX_ERR_CRYPTO, false, "out of memory hashing the password");
        return 0;
}

int ops_user_set_email(cx_db *db, const char *name, const char *email, cx_err *err)
{
        const char *p[2] = { name, email && *email ? email : NULL };
        PGresult *r;
        int rows;

        if (p[1] && ops_check_email(p[1], err) < 0)
                return -1;
        r = cx_db_query(db, "UPDATE panel_users SET email = $2, updated_at = now() WHERE name = $1",
                        2, p, err);
        if (!r)
                return -1;
        rows = atoi(PQcmdTuples(r));
        PQclear(r);
        return rows == 1 ? 0 : cx_fail(err, CX_ERR_NOT_FOUND, false, "no panel user \"%s\"", name);
}

int ops_password_change(cx_db *db, const char *name, const char *current, const char *new_pw,
                        const char *keep_token, cx_err *err)
{
        char hash[crypto_pwhash_STRBYTES], keep[65] = "";
        const char *p[3] = { name, hash, keep };
        PGresult *r;
        bool ok;
        int rc;

        if (ops_check_password(new_pw, err) < 0)
                return -1;
        if (keep_token && *keep_token)
                cx_sha256_hex(keep_token, strlen(keep_token), keep);
        if (cx_db_begin(db, err) < 0)
                return -1;
        r = cx_db_query(db, "SELECT password_hash FROM panel_users WHERE name = $1 FOR UPDATE", 1,
                        p, err);
        if (!r)
                goto fail;
        ok = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) && current &&
             crypto_pwhash_str_verify(PQgetvalue(r, 0, 0), current, strlen(current)) == 0;
        PQclear(r);
        if (!ok) {
                cx_db_rollback(db);
                return cx_fail(err, CX_ERR_INVALID, false, "the current password is wrong");
        }
        if (hash_password(new_pw, hash, err) < 0)
                goto fail;
        rc = cx_db_exec(db,
                        "UPDATE panel_users SET password_hash = $2, failed_logins = 0,"
                        " last_failed_at = NULL, locked_until = NULL, updated_at = now()"
                        " WHERE name = $1",
                        2, p, err);
        if (rc == 0)
                rc = cx_db_exec(db,
                                "DELETE FROM panel_sessions WHERE user_name = $1 AND"
                                " token_hash <> $2",
                                2, (const char *const[]){ name, keep }, err);
        if (rc == 0)
                rc = cx_db_exec(db,
                                "DELETE FROM panel_links WHERE user_name = $1 AND used_at IS NULL",
                                1, p, err);
        sodium_memzero(hash, sizeof(hash));
        if (rc < 0 || cx_db_commit(db, err) < 0)
                goto fail;
        cx_log_fields(CX_LOG_INFO, "panel.password_changed", json_pack("{s:s}", "user", name),
                      "panel user %s changed the password", name);
        return 0;
fail:
        cx_db_rollback(db);
        return -1;
}

/* name, email, role, tenant: the first four columns of @p r's first row. */
static void user_from_row(ops_user *user, const PGresult *r)
{
        snprintf(user->name, sizeof(user->name), "%s", PQgetvalue(r, 0, 0));
        snprintf(user->email, sizeof(user->email), "%s", PQgetvalue(r, 0, 1));
        snprintf(user->role, sizeof(user->role), "%s", PQgetvalue(r, 0, 2));
        snprintf(user->tenant, sizeof(user->tenant), "%s", PQgetvalue(r, 0, 3));
}

/* A new link of @p purpose for @p name, valid @p ttl_s; earlier unused ones of the same
 * purpose stop working. Inside the caller's transaction. */
static int issue_link(cx_db *db, const char *purpose, const char *name, long ttl_s, char *token,
                      cx_err *err)
{
        char hash[65], ttl[24];
        const char *p[4] = { hash, purpose, name, ttl };

        random_hex(token);
        cx_sha256_hex(token, strlen(token), hash);
        snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
        if (cx_db_exec(db,
                       "DELETE FROM panel_links WHERE user_name = $1 AND purpose = $2 AND"
                       " used_at IS NULL",
                       2, (const char *const[]){ name, purpose }, err) < 0)
                return -1;
        return cx_db_exec(db,
                          "INSERT INTO panel_links (token_hash, purpose, user_name, expires_at)"
                          " VALUES ($1, $2, $3, now() + $4::bigint * interval '1 second')",
                          4, p, err);
}

int ops_user_invite(cx_db *db, const char *name, const char *email, const char *role,
                    const char *tenant, const char *invited_by, long ttl_s, char *token,
                    cx_err *err)
{
        const char *p[5] = { name, email, role, NULL, invited_by };
        PGresult *r;
        int rows;

        if (check_name(name, err) < 0 || ops_check_email(email, err) < 0)
                return -1;
        if (strcmp(role, "operator") != 0 && strcmp(role, "owner") != 0)
                return cx_fail(err, CX_ERR_PARSE, false, "role \"%s\": expected operator or owner",
                               role);
        if (tenant && !*tenant)
                tenant = NULL;
        if (!strcmp(role, "owner") != !!tenant)
                return cx_fail(err, CX_ERR_PARSE, false,
                               tenant ? "an operator sees every tenant: leave out the tenant"
                                      : "a shop owner needs a tenant");
        p[3] = tenant;
        if (cx_db_begin(db, err) < 0)
                return -1;
        if (tenant) {
                const char *tp[1] = { tenant };

                r = cx_db_query(db, "SELECT 1 FROM tenants WHERE id = $1", 1, tp, err);
                rows = r ? PQntuples(r) : -1;
                PQclear(r);
                if (rows < 0)
                        goto fail;
                if (rows == 0) {
                        cx_db_rollback(db);
                        return cx_fail(err, CX_ERR_NOT_FOUND, false, "no tenant \"%s\"", tenant);
                }
        }
        /* A user who already chose a password is not invited over (that would take the
         * account from its owner); one who has not yet is invited again. */
        r = cx_db_query(db,
                        "INSERT INTO panel_users (name, password_hash, role, tenant_id, email,"
                        " invited_by) VALUES ($1, NULL, $3, $4, $2, $5) ON CONFLICT (name) DO"
                        " UPDATE SET role = $3, tenant_id = $4, email = $2, invited_by = $5,"
                        " updated_at = now() WHERE panel_users.password_hash IS NULL",
                        5, p, err);
        if (!r) {
                /* 23505: the unique index on the address */
                if (err && !strncmp(err->msg, "23505", 5))
                        cx_fail(err, CX_ERR_INVALID, false,
                                "another user has the e-mail address %s already", email);
                goto fail;
        }
        rows = atoi(PQcmdTuples(r));
        PQclear(r);
        if (rows != 1) {
                cx_db_rollback(db);
                return cx_fail(err, CX_ERR_INVALID, false,
                               "user \"%s\" exists and has a password already", name);
        }
        if (issue_link(db, "invite", name, ttl_s, token, err) < 0 || cx_db_commit(db, err) < 0)
                goto fail;
        return 0;
fail:
        cx_db_rollback(db);
        return -1;
}

int ops_reset_issue(cx_db *db, const char *who, long ttl_s, ops_user *user, char *token,
                    cx_err *err)
{
        const char *p[1] = { who };
        PGresult *r;

        if (!who || !*who || strlen(who) > 254)
                return cx_fail(err, CX_ERR_NOT_FOUND, false, "no such user");
        if (cx_db_begin(db, err) < 0)
                return -1;
        r = cx_db_query(db,
                        "SELECT name, email, role, coalesce(tenant_id, '') FROM panel_users"
                        " WHERE (name = $1 OR lower(email) = lower($1)) AND email IS NOT NULL"
                        " ORDER BY name = $1 DESC LIMIT 1 FOR UPDATE",
                        1, p, err);
        if (!r)
                goto fail;
        if (PQntuples(r) != 1) {
                PQclear(r);
                cx_db_rollback(db);
                return cx_fail(err, CX_ERR_NOT_FOUND, false, "no such user with an e-mail address");
        }
        user_from_row(user, r);
        PQclear(r);
        if (issue_link(db, "reset", user->name, ttl_s, token, err) < 0 || cx_db_commit(db, err) < 0)
                goto fail;
        return 0;
fail:
        cx_db_rollback(db);
        return -1;
}

int ops_link_redeem(cx_db *db, const char *purpose, const char *token, const char *password,
                    ops_user *user, cx_err *err)
{
        char hash[65], pwhash[crypto_pwhash_STRBYTES];
        const char *p[3] = { hash, purpose, NULL };
        PGresult *r;
        int rc;

        if (ops_check_password(password, err) < 0)
                return -1;
        if (!token || strlen(token) != OPS_TOKEN_LEN)
                return cx_fail(err, CX_ERR_INVALID, false,
                               "this link is not valid (any more): ask for a new one");
        cx_sha256_hex(token, strlen(token), hash);
        if (cx_db_begin(db, err) < 0)
                return -1;
        r = cx_db_query(db,
                        "SELECT u.name, coalesce(u.email, ''), u.role, coalesce(u.tenant_id, '')"
                        " FROM panel_links l JOIN panel_users u ON u.name = l.user_name"
                        " WHERE l.token_hash = $1 AND l.purpose = $2 AND l.used_at IS NULL"
                        " AND l.expires_at > now() FOR UPDATE OF l, u",
                        2, p, err);
        if (!r)
                goto fail;
        if (PQntuples(r) != 1) {
                PQclear(r);
                cx_db_rollback(db);
                return cx_fail(err, CX_ERR_INVALID, false,
                               "this link is not valid (any more): it was used already, has "
                               "expired or was replaced by a newer one; ask for a new one");
        }
        user_from_row(user, r);
        PQclear(r);
        if (hash_password(password, pwhash, err) < 0)
                goto fail;
        p[1] = user->name;
        p[2] = pwhash;
        rc = cx_db_exec(db, "UPDATE panel_links SET used_at = now() WHERE token_hash = $1", 1, p,
                        err);
        if (rc == 0)
                rc = cx_db_exec(db,
                                "UPDATE panel_users SET password_hash = $2, failed_logins = 0,"
                                " last_failed_at = NULL, locked_until = NULL, updated_at = now()"
                                " WHERE name = $1",
                                2, p + 1, err);
        if (rc == 0)
                rc = cx_db_exec(db, "DELETE FROM panel_sessions WHERE user_name = $1", 1, p + 1,
                                err);
        sodium_memzero(pwhash, sizeof(pwhash));
        if (rc < 0 || cx_db_commit(db, err) < 0)
                goto fail;
        cx_log_fields(CX_LOG_INFO, "panel.password_set",
                      json_pack("{s:s, s:s}", "user", user->name, "by", purpose),
                      "panel user %s set a password by %s link", user->name, purpose);
        return 0;
fail:
        cx_db_rollback(db);
        return -1;
}

json_t *ops_user_list(cx_db *db, cx_err *err)
{
        PGresult *r = cx_db_query(db,
                                  "SELECT name, role, tenant_id AS tenant, email, password_hash IS"
                                  " NOT NULL AS active, invited_by, " OPS_ISO(
                                          "last_login_at") " AS last_login_at"
                                                           " FROM panel_users ORDER BY name",
                                  0, NULL, err);
        json_t *rows;

        if (!r)
                return NULL;
        rows = ops_rows_json(r);
        PQclear(r);
        return rows;
}
