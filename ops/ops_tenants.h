/* ops_tenants: tenants, their sealed credentials and the Exact consent (see ops.h for the
 * error convention). Secrets come in as strings from the caller (read from stdin or a file,
 * never argv) and leave only sealed with CX_SECRET_KEY and the tenant id as context; no
 * function here returns or logs a secret. */
#ifndef OPS_TENANTS_H
#define OPS_TENANTS_H

#include <jansson.h>
#include <stdbool.h>

#include "ops/ops.h"

/* Settable tenant fields; NULL means "not given" (unchanged on update, default on add). */
typedef struct ops_tenant_fields {
        const char *name;
        const char *shop_base_url;
        const char *shop_public_key;
        const char *exact_base_url;
        const char *exact_division; /**< positive integer as text */
        const char *exact_client_id;
        const char *exact_redirect_uri;
        const char *extract_from;  /**< see ops_parse_time() */
        const char *sync_entities; /**< comma list of orders, products, customers */
        const char *require_paid;  /**< "true" or "false" */
} ops_tenant_fields;

/**
 * @brief Whether secrets may travel to URL @p v: https://, or http:// to this machine or to
 *        a host in the comma list @p http_hosts (CX_ADMIN_HTTP_HOSTS).
 */
bool ops_url_allowed(const char *v, const char *http_hosts);

/**
 * @brief Create tenant @p id (disabled when @p enabled is false) with its exact_tokens row in
 *        state needs_consent, sealing the secrets that are given (NULL: not set yet).
 * @returns 0, or -1: CX_ERR_PARSE for a bad field, CX_ERR_INVALID when the tenant exists,
 *          CX_ERR_CONFIG when a secret is given without CX_SECRET_KEY.
 */
int ops_tenant_add(ops_ctx *ctx, const char *id, const ops_tenant_fields *f, bool enabled,
                   const char *shop_secret, const char *exact_secret, cx_err *err);

/** @brief Change the given fields. @returns 0, or -1 (CX_ERR_NOT_FOUND, CX_ERR_PARSE). */
int ops_tenant_update(ops_ctx *ctx, const char *id, const ops_tenant_fields *f, cx_err *err);

/** @brief Every tenant with its token state (no secrets). @returns a new array or NULL. */
json_t *ops_tenant_list(ops_ctx *ctx, cx_err *err);

/** @brief One tenant: fields, which secrets are set, token state, mapping version. */
json_t *ops_tenant_show(ops_ctx *ctx, const char *id, cx_err *err);

/** @brief Enable or disable a tenant (the extractor gives up a disabled tenant's lease). */
int ops_tenant_set_enabled(ops_ctx *ctx, const char *id, bool enabled, cx_err *err);

/**
 * @brief Seal and store the shop secret and/or the Exact client secret (either may be NULL,
 *        not both), in one transaction.
 */
int ops_tenant_set_credentials(ops_ctx *ctx, const char *id, const char *shop_secret,
                               const char *exact_secret, cx_err *err);

/**
 * @brief Replace the shop's address, public key and secret (sealed) of tenant @p id in one
 *        transaction: a shop connected in the panel never has one key of the old pair.
 * @returns 0, or -1: CX_ERR_PARSE for a bad address or empty key, CX_ERR_CONFIG without
 *          CX_SECRET_KEY, CX_ERR_NOT_FOUND, a database error.
 */
int ops_tenant_connect_shop(ops_ctx *ctx, const char *id, const char *base_url,
                            const char *public_key, const char *secret, cx_err *err);

/**
 * @brief Store the shop's webhook key of tenant @p id sealed (tenants.webhook_key_sealed): the
 *        extractor verifies deliveries of webhooks made by hand in the shop with it.
 * @returns 0, or -1: CX_ERR_NOT_FOUND, CX_ERR_CONFIG without CX_SECRET_KEY, a database error.
 */
int ops_tenant_set_webhook_key(ops_ctx *ctx, const char *id, const char *key, cx_err *err);

/**
 * @brief Start the Exact consent: a fresh state is stored and the authorization URL
 *        ({exact_base_url}/api/oauth2/auth?client_id=..&redirect_uri=..&response_type=code
 *        &state=..) returned as {"tenant","url","state"}.
 * @returns a new object, or NULL (CX_ERR_CONFIG when the client id or redirect URI is missing).
 */
json_t *ops_consent_start(ops_ctx *ctx, const char *id, cx_err *err);

/**
 * @brief Finish the consent: exchange @p code at {exact_base_url}/api/oauth2/token (through
 *        the loader's token module) and store the tokens sealed, state ok. When @p state is
 *        given it must be the one ops_consent_start() issued for this tenant (CX_ERR_INVALID).
 */
int ops_consent_complete(ops_ctx *ctx, const char *id, const char *code, const char *state,
                         cx_err *err);

/**
 * @brief The tenant whose consent in progress has state @p state, if it was started at most
 *        15 minutes ago, into @p tenant (64 bytes).
 * @returns 0, or -1: CX_ERR_NOT_FOUND when no such consent is in progress, a database error.
 */
int ops_consent_tenant(ops_ctx *ctx, const char *state, char tenant[64], cx_err *err);

/**
 * @brief Exchange @p code for tenant @p id's tokens, stored sealed (state ok), without a
 *        consent started here and without an audit row: for set-up scripts and tests that
 *        get the code themselves. The call has ctx->token_timeout_ms and verifies TLS unless
 *        ctx->tls_insecure.
 * @returns 0, or -1: CX_ERR_CONFIG without CX_SECRET_KEY or the tenant's Exact client,
 *          CX_ERR_NOT_FOUND for an unknown tenant, what the token call failed with.
 */
int ops_exchange_code(ops_ctx *ctx, const char *id, const char *code, cx_err *err);

#endif
