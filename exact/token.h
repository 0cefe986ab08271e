/* token: Exact OAuth tokens per tenant, sealed in exact_tokens, with one owner at a time.
 *
 * Exact rotates the refresh token on every use and accepts a refresh only in the last 30 s
 * of the access token's life or after it expired. Two loader instances must therefore never
 * refresh the same token: the refresh happens under SELECT ... FOR UPDATE on the tenant's
 * row, and the row is read again after the lock is taken, so the second instance finds the
 * fresh token the first one stored and uses it. A refusal ("Old refresh token used", an
 * expired refresh token) marks the tenant needs_consent; only a person can fix that. */
#ifndef EXACT_TOKEN_H
#define EXACT_TOKEN_H

#include <stdbool.h>

#include "common/crypto.h"
#include "common/db.h"
#include "common/error.h"
#include "common/http_client.h"
#include "common/keyring.h"

typedef struct exact_token_ctx {
        cx_db *db;
        cx_http_client *http;
        cx_keyring *key;      /**< CX_SECRET_KEY's keys, or NULL when none is configured */
        long timeout_ms;      /**< token calls: long, never cut short */
        int refresh_margin_s; /**< refresh when fewer seconds are left (30) */
} exact_token_ctx;

/**
 * @brief A usable access token for @p tenant (malloc'd into @p out), refreshing it if it is
 *        inside its last @p refresh_margin_s seconds.
 * @returns 0, or -1: err->retriable true for passing trouble (network, too early, database),
 *          false when the tenant needs a new consent (err->code CX_ERR_INVALID) or has no
 *          key or client configured.
 */
int exact_token_access(exact_token_ctx *t, const char *tenant, char **out, cx_err *err);

/** @brief Forget the cached access token of @p tenant (after a 401). */
void exact_token_forget(const char *tenant);

/**
 * @brief The consent step: exchange an authorization @p code for tokens with the tenant's
 *        client id, secret and redirect URI, and store them sealed (state ok).
 * @returns 0, or -1 with @p err (refused code, no client configured, database).
 */
int exact_token_exchange_code(exact_token_ctx *t, const char *tenant, const char *code,
                              cx_err *err);

/** @brief Record that @p tenant needs a new consent, with @p reason. @returns 0 or -1. */
int exact_token_mark_needs_consent(cx_db *db, const char *tenant, const char *reason, cx_err *err);

/** @brief Free the token cache (at exit). */
void exact_token_cache_free(void);

#endif
