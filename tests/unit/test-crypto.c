/* Secrets at rest: round trip, tamper detection, wrong key or owner; HMAC and key parsing. */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method: the one way to make RAND fail */
#include <openssl/rand.h>

#include "common/crypto.h"
#include "tests/testlib.h"

static unsigned char key[CX_KEY_LEN];

static void test_crypto_round_trip(void)
{
        cx_err err;
        char *sealed = cx_secret_seal(key, "tenant-a", "the shop secret!^*", &err);
        char *plain;

        T_FATAL(sealed != NULL, "%s", err.msg);
        T_ASSERT(strstr(sealed, "shop secret") == NULL, "plaintext visible");
        plain = cx_secret_open(key, "tenant-a", sealed, &err);
        T_EQ_STR(plain, "the shop secret!^*");
        free(plain);
        free(sealed);
}

static void test_crypto_detects_tampering(void)
{
        cx_err err;
        char *sealed = cx_secret_seal(key, "tenant-a", "value", &err);
        size_t n = strlen(sealed);

        /* Flip one base64 character in the middle of the ciphertext. */
        sealed[n / 2] = sealed[n / 2] == 'A' ? 'B' : 'A';
        T_ASSERT(cx_secret_open(key, "tenant-a", sealed, &err) == NULL, "tampered data opened");
        T_EQ_INT(err.code, CX_ERR_CRYPTO);
        free(sealed);
}

static void test_crypto_refuses_other_tenant_or_key(void)
{
        cx_err err;
        unsigned char other[CX_KEY_LEN];
        char *sealed = cx_secret_seal(key, "tenant-a", "value", &err);

        memset(other, 7, sizeof(other));
        T_ASSERT(cx_secret_open(key, "tenant-b", sealed, &err) == NULL, "opened for tenant-b");
        T_ASSERT(cx_secret_open(other, "tenant-a", sealed, &err) == NULL, "opened with other key");
        T_ASSERT(cx_secret_open(key, "tenant-a", "garbage", &err) == NULL, "garbage opened");
        T_ASSERT(cx_secret_open(key, "tenant-a", "v1:!!!!", &err) == NULL, "bad base64 opened");
        free(sealed);
}

static void test_crypto_key_parse(void)
{
        unsigned char k[CX_KEY_LEN];
        cx_err err;

        T_EQ_INT(cx_key_parse("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", k,
                              &err),
                 0);
        T_EQ_INT(k[31], 0x1f);
        T_EQ_INT(cx_key_parse("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=", k, &err), 0);
        T_EQ_INT(k[31], 0x1f);
        T_EQ_INT(cx_key_parse("too-short", k, &err), -1);
        T_CONTAINS(err.msg, "64 hex");
}

static void test_crypto_hmac_sha512_vector(void)
{
        char hex[129];

        /* RFC 4231 test case 2. */
        cx_hmac_sha512_hex("Jefe", "what do ya want for nothing?", 28, hex);
        T_EQ_STR(hex, "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
                      "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

static int rand_fails(unsigned char *buf, int num)
{
        (void)buf;
        (void)num;
        return 0;
}

static int rand_status_bad(void)
{
        return 0;
}

/* An id is an OAuth state or a trace id: when the RNG fails there must be none, not zeros. */
static void test_random_id_fails_loudly(void)
{
        static const RAND_METHOD broken = { .bytes = rand_fails, .status = rand_status_bad };
        const RAND_METHOD *was = RAND_get_rand_method();
        char id[33] = "untouched", other[33];
        cx_err err = { 0 };

        T_FATAL(cx_random_id(id, &err) == 0, "%s", err.msg);
        T_FATAL(cx_random_id(other, &err) == 0, "%s", err.msg);
        T_EQ_INT((int)strlen(id), 32);
        T_ASSERT(strcmp(id, other) != 0, "two ids alike");
        T_FATAL(RAND_set_rand_method(&broken) == 1, "cannot install the failing RNG");
        T_EQ_INT(cx_random_id(id, &err), -1);
        T_EQ_INT(err.code, CX_ERR_CRYPTO);
        T_EQ_STR(id, "");
        RAND_set_rand_method(was);
        T_FATAL(cx_random_id(id, &err) == 0, "%s", err.msg);
}

int main(void)
{
        memset(key, 0x42, sizeof(key));
        T_RUN(test_crypto_round_trip);
        T_RUN(test_crypto_detects_tampering);
        T_RUN(test_crypto_refuses_other_tenant_or_key);
        T_RUN(test_crypto_key_parse);
        T_RUN(test_crypto_hmac_sha512_vector);
        T_RUN(test_random_id_fails_loudly);
        return t_done();
}
