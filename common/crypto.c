#include "common/crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONCE_LEN 12
#define TAG_LEN 16
#define PREFIX "v1:"

static int hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

static void to_hex(const unsigned char *in, size_t len, char *out)
{
        static const char digits[] = "0123456789abcdef";

        for (size_t i = 0; i < len; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * len] = '\0';
}

/* base64 decode into buf (capacity cap). @returns decoded length or -1. */
static long b64_decode(const char *in, unsigned char *buf, size_t cap)
{
        size_t len = strlen(in);
        int n, pad = 0;

        if (len % 4 || len / 4 * 3 > cap)
                return -1;
        n = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)len);
        if (n < 0)
                return -1;
        if (len && in[len - 1] == '=')
                pad++;
        if (len > 1 && in[len - 2] == '=')
                pad++;
        return n - pad;
}

int cx_key_parse(const char *text, unsigned char key[CX_KEY_LEN], cx_err *err)
{
        unsigned char buf[64];
        long n;

        if (text && strlen(text) == 2 * CX_KEY_LEN) {
                for (size_t i = 0; i < CX_KEY_LEN; i++) {
                        int hi = hexval(text[2 * i]), lo = hexval(text[2 * i + 1]);

                        if (hi < 0 || lo < 0)
                                goto bad;
                        key[i] = (unsigned char)(hi << 4 | lo);
                }
                return 0;
        }
        if (!text)
                goto bad;
        n = b64_decode(text, buf, sizeof(buf));
        if (n != CX_KEY_LEN)
                goto bad;
        memcpy(key, buf, CX_KEY_LEN);
        OPENSSL_cleanse(buf, sizeof(buf));
        return 0;
bad:
        return cx_fail(err, CX_ERR_CONFIG, false,
                       "encryption key: expected 64 hex characters or base64 of 32 bytes");
}

char *cx_secret_seal(const unsigned char key[CX_KEY_LEN], const char *context,
                     const char *plaintext, cx_err *err)
{
        size_t plen = strlen(plaintext), raw_len = NONCE_LEN + plen + TAG_LEN;
        unsigned char *raw = malloc(raw_len);
        char *out = malloc(strlen(PREFIX) + 4 * ((raw_len + 2) / 3) + 1);
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        int len, ok = raw && out && ctx;

        ok = ok && RAND_bytes(raw, NONCE_LEN) == 1;
        ok = ok && EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw) == 1;
        ok = ok && EVP_EncryptUpdate(ctx, NULL, &len, (const unsigned char *)context,
                                     (int)strlen(context)) == 1;
        ok = ok && EVP_EncryptUpdate(ctx, raw + NONCE_LEN, &len, (const unsigned char *)plaintext,
                                     (int)plen) == 1;
        ok = ok && EVP_EncryptFinal_ex(ctx, raw + NONCE_LEN + len, &len) == 1;
        ok = ok &&
             EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, TAG_LEN, raw + NONCE_LEN + plen) == 1;
        EVP_CIPHER_CTX_free(ctx);
        if (ok) {
                memcpy(out, PREFIX, strlen(PREFIX));
                EVP_EncodeBlock((unsigned char *)out + strlen(PREFIX), raw, (int)raw_len);
        } else {
                free(out);
                out = NULL;
                cx_fail(err, CX_ERR_CRYPTO, false, "encryption failed");
        }
        if (raw)
                OPENSSL_cleanse(raw, raw_len);
        free(raw);
        return out;
}

char *cx_secret_open(const unsigned char key[CX_KEY_LEN], const char *context, const char *sealed,
                     cx_err *err)
{
        size_t cap;
        unsigned char *raw = NULL;
        char *plain = NULL;
        EVP_CIPHER_CTX *ctx = NULL;
        long n;
        int len, ok;

        if (!sealed || strncmp(sealed, PREFIX, strlen(PREFIX)) != 0) {
                cx_fail(err, CX_ERR_CRYPTO, false, "sealed secret: unknown format");
                return NULL;
        }
        sealed += strlen(PREFIX);
        cap = strlen(sealed) / 4 * 3 + 3;
        raw = malloc(cap);
        if (!raw)
                goto fail;
        n = b64_decode(sealed, raw, cap);
        if (n < NONCE_LEN + TAG_LEN)
                goto fail;
        plain = malloc((size_t)n - NONCE_LEN - TAG_LEN + 1);
        ctx = EVP_CIPHER_CTX_new();
        ok = plain && ctx;
        ok = ok && EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, raw) == 1;
        ok = ok && EVP_DecryptUpdate(ctx, NULL, &len, (const unsigned char *)context,
                                     (int)strlen(context)) == 1;
        ok = ok && EVP_DecryptUpdate(ctx, (unsigned char *)plain, &len, raw + NONCE_LEN,
                                     (int)(n - NONCE_LEN - TAG_LEN)) == 1;
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, TAG_LEN, raw + n - TAG_LEN) == 1;
        /* The tag check happens here: a changed byte anywhere fails. */
        ok = ok && EVP_DecryptFinal_ex(ctx, (unsigned char *)plain + len, &len) == 1;
        EVP_CIPHER_CTX_free(ctx);
        if (!ok)
                goto fail;
        plain[n - NONCE_LEN - TAG_LEN] = '\0';
        free(raw);
        return plain;
fail:
        free(raw);
        free(plain);
        cx_fail(err, CX_ERR_CRYPTO, false,
                "sealed secret does not open: wrong key, wrong owner or tampered data");
        return NULL;
}

void cx_hmac_sha512_hex(const char *key, const void *data, size_t len, char out[129])
{
        unsigned char mac[64];
        unsigned int mac_len = 0;

        HMAC(EVP_sha512(), key, (int)strlen(key), data, len, mac, &mac_len);
        to_hex(mac, mac_len, out);
}

int cx_random_bytes(void *buf, size_t len)
{
        return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

int cx_random_id(char out[33], cx_err *err)
{
        unsigned char raw[16];

        /* Never a predictable id (an OAuth state is one): no random bytes, no id. */
        if (cx_random_bytes(raw, sizeof(raw)) < 0) {
                out[0] = '\0';
                return cx_fail(err, CX_ERR_CRYPTO, true, "the random number generator failed");
        }
        to_hex(raw, sizeof(raw), out);
        return 0;
}

void cx_sha256_hex(const void *data, size_t len, char out[65])
{
        unsigned char md[SHA256_DIGEST_LENGTH];

        SHA256(data, len, md);
        to_hex(md, sizeof(md), out);
}
