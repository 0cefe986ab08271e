/* ops_keys: rotating CX_SECRET_KEY. Every sealed column in the schema (any column whose name
 * ends in _sealed; its row's tenant id is the context) is opened with the old key and sealed
 * with the new one in a single transaction: either every secret moves or none does. */
#ifndef OPS_KEYS_H
#define OPS_KEYS_H

#include <jansson.h>

#include "ops/ops.h"

/**
 * @brief Re-seal every secret from ctx->key (the old key) to @p new_key.
 * @returns {"resealed": n, "columns": [{"table","column","rows"}]} (new reference), or NULL:
 *          CX_ERR_CRYPTO when a secret does not open with the old key (nothing changed),
 *          CX_ERR_CONFIG without CX_SECRET_KEY.
 */
json_t *ops_rotate_key(ops_ctx *ctx, const unsigned char new_key[CX_KEY_LEN], cx_err *err);

#endif
