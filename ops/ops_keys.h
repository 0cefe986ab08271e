/* ops_keys: rotating CX_SECRET_KEY. Every sealed column in the schema (any column whose name
 * ends in _sealed; its row's tenant id is the context) is opened with any of the keys and
 * sealed with the sealing key, in a single transaction: either every secret moves or none
 * does. Values already sealed with that key are left as they are, so the step can be repeated
 * and, once it reports 0 left, only the sealing key is needed. */
#ifndef OPS_KEYS_H
#define OPS_KEYS_H

#include <jansson.h>

#include "ops/ops.h"

/**
 * @brief Re-seal every secret with the first key of @p to (ctx->key itself, or a ring made
 *        with cx_keyring_with_first()); values open with any key of @p to.
 * @returns {"resealed": n, "current": n, "key_id": "KID", "columns": [{"table","column",
 *          "rows"}]} (new reference), or NULL: CX_ERR_CRYPTO when a secret opens with none of
 *          the keys (nothing changed), CX_ERR_CONFIG without CX_SECRET_KEY.
 */
json_t *ops_rotate_key(ops_ctx *ctx, cx_keyring *to, cx_err *err);

#endif
