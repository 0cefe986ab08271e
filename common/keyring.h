/* keyring.h: the master keys that seal secrets at rest, and how a key is rotated.
 *
 * CX_SECRET_KEY (or the file CX_SECRET_KEY_FILE names) holds one or more keys, separated by
 * white space or commas: the first seals, every one opens. A sealed value names the key that
 * sealed it, "v2:KID:" then the crypto.h payload, KID being 8 hex characters derived from the
 * key (never the key itself). Values sealed before key ids existed ("v1:") are tried with
 * every key. When the keys come from a file, the ring re-reads the file once it changed
 * (looked at no more than once a second), so adding a key, making it the first and dropping
 * the old one need no restart. A file that no longer parses keeps the keys in use (logged).
 * Thread-safe: the panel's request threads share one ring. Seal and open fail cleanly
 * (CX_ERR_CONFIG) on a NULL ring: no CX_SECRET_KEY. */
#ifndef CX_KEYRING_H
#define CX_KEYRING_H

#include <stdbool.h>

#include "common/crypto.h"

#define CX_KEYRING_MAX 8

typedef struct cx_keyring cx_keyring;

/**
 * @brief A ring from @p text (keys as cx_key_parse() reads them, white space or commas between
 *        them); with @p file (may be NULL or empty) the ring follows that file's changes.
 * @returns a new ring, or NULL with @p err naming the key that does not parse.
 */
cx_keyring *cx_keyring_new(const char *text, const char *file, cx_err *err);

/** @brief A ring for the keys in the environment: CX_SECRET_KEY given as @p text, the file
 *         from CX_SECRET_KEY_FILE in @p envp. NULL (and err empty) when @p text is empty. */
cx_keyring *cx_keyring_from_env(const char *text, char **envp, cx_err *err);

/** @brief A ring whose sealing key is @p first, followed by the keys of @p rest (which
 *         may be NULL); it does not follow any file. @returns NULL with @p err on failure. */
cx_keyring *cx_keyring_with_first(const unsigned char first[CX_KEY_LEN], const cx_keyring *rest,
                                  cx_err *err);

void cx_keyring_free(cx_keyring *ring);

/** @brief Seal @p plaintext bound to @p context with the first key. @returns malloc'd text. */
char *cx_keyring_seal(cx_keyring *ring, const char *context, const char *plaintext, cx_err *err);

/** @brief Open a value sealed by any key of the ring (v2 by its key id, v1 by trying each).
 *  @returns malloc'd plaintext (free with cx_secret_free()), or NULL (CX_ERR_CRYPTO). */
char *cx_keyring_open(cx_keyring *ring, const char *context, const char *sealed, cx_err *err);

/** @brief Whether @p sealed names the ring's first key (a re-seal would not change it). */
bool cx_keyring_is_current(cx_keyring *ring, const char *sealed);

/** @brief The id of the ring's first key into @p kid (9 bytes). */
void cx_keyring_first_id(cx_keyring *ring, char kid[9]);

/** @brief The key id of @p key into @p kid (9 bytes). */
void cx_key_id(const unsigned char key[CX_KEY_LEN], char kid[9]);

/** @brief Wipe and free a plaintext from cx_keyring_open() (NULL-safe). */
void cx_secret_free(char *plain);

/** @brief Constant-time comparison of two hex digests (case-insensitive). */
bool cx_equal_hex(const char *a, const char *b);

#endif
