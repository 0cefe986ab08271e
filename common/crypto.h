/* crypto.h: secrets at rest (AES-256-GCM) and the HMAC used for request signing.
 *
 * Sealed secrets are text, safe for a TEXT column: "v1:" followed by base64 of
 * nonce (12 bytes) | ciphertext | tag (16 bytes). The tenant id (or any context string) is
 * bound as additional authenticated data, so a secret copied onto another tenant's row fails
 * to open just like a tampered one. */
#ifndef CX_CRYPTO_H
#define CX_CRYPTO_H

#include <stddef.h>

#include "common/error.h"

#define CX_KEY_LEN 32

/**
 * @brief Decode a 256-bit key given as 64 hex characters or as base64 of 32 bytes.
 * @returns 0, or -1 with @p err saying what was expected.
 */
int cx_key_parse(const char *text, unsigned char key[CX_KEY_LEN], cx_err *err);

/** @brief Encrypt @p plaintext bound to @p context. @returns a malloc'd sealed string or NULL. */
char *cx_secret_seal(const unsigned char key[CX_KEY_LEN], const char *context,
                     const char *plaintext, cx_err *err);

/**
 * @brief Decrypt a sealed string made by cx_secret_seal() with the same key and context.
 * @returns a malloc'd plaintext, or NULL (CX_ERR_CRYPTO) when the key, the context or the
 *          data do not match: tampering is detected, never silently accepted.
 */
char *cx_secret_open(const unsigned char key[CX_KEY_LEN], const char *context, const char *sealed,
                     cx_err *err);

/** @brief Lower-case hex HMAC-SHA512 of @p data keyed with @p key into @p out (129 bytes). */
void cx_hmac_sha512_hex(const char *key, const void *data, size_t len, char out[129]);

/** @brief Fill @p buf with @p len cryptographically random bytes. @returns 0 or -1. */
int cx_random_bytes(void *buf, size_t len);

/** @brief A random identifier of 32 hex characters (trace ids, OAuth states), into @p out
 *         (33 bytes). @returns 0, or -1 (CX_ERR_CRYPTO, @p out empty) when the RNG fails. */
int cx_random_id(char out[33], cx_err *err);

/** @brief Lower-case hex SHA-256 of @p data into @p out (65 bytes). */
void cx_sha256_hex(const void *data, size_t len, char out[65]);

#endif
