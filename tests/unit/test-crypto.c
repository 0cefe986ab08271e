/* Secrets at rest: round trip, tamper detection, wrong key or owner; HMAC and key parsing. */
#define OPENSSL_SUPPRESS_DEPRECATED /* RAND_set_rand_method: the one way to make RAND fail */
#include <openssl/rand.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/crypto.h"
#include "common/keyring.h"
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

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"

/* Values carry the id of the key that sealed them; a ring of two opens both; old v1 values
 * (no key id) still open; a re-seal moves a value to the first key. */
static void test_keyring_ids_and_two_keys(void)
{
        unsigned char k1[CX_KEY_LEN];
        cx_err err = { 0 };
        cx_keyring *old = cx_keyring_new(K1, NULL, &err), *both, *fresh;
        char *v_old, *v_new, *legacy, *plain, kid[9];

        T_FATAL(old != NULL, "%s", err.msg);
        both = cx_keyring_new(K2 ",\n" K1, NULL, &err);
        fresh = cx_keyring_new(K2, NULL, &err);
        T_FATAL(both && fresh, "%s", err.msg);
        T_FATAL(cx_key_parse(K1, k1, &err) == 0, "%s", err.msg);
        legacy = cx_secret_seal(k1, "t1", "legacy", &err);
        v_old = cx_keyring_seal(old, "t1", "old", &err);
        v_new = cx_keyring_seal(both, "t1", "new", &err);
        T_FATAL(legacy && v_old && v_new, "%s", err.msg);
        cx_keyring_first_id(old, kid);
        T_ASSERT(!strncmp(v_old, "v2:", 3) && !strncmp(v_old + 3, kid, 8), "%s", v_old);
        T_ASSERT(cx_keyring_is_current(both, v_new) && !cx_keyring_is_current(both, v_old),
                 "current");
        T_ASSERT(!cx_keyring_is_current(both, legacy), "a v1 value is never current");
        plain = cx_keyring_open(both, "t1", v_old, &err);
        T_EQ_STR(plain ? plain : "", "old");
        cx_secret_free(plain);
        plain = cx_keyring_open(both, "t1", legacy, &err);
        T_EQ_STR(plain ? plain : "", "legacy");
        cx_secret_free(plain);
        T_ASSERT(cx_keyring_open(fresh, "t1", v_old, &err) == NULL, "opened without its key");
        T_CONTAINS(err.msg, kid);
        T_ASSERT(cx_keyring_open(old, "t1", v_new, &err) == NULL, "opened with the old key");
        T_ASSERT(cx_keyring_open(both, "t2", v_new, &err) == NULL, "opened for another tenant");
        T_ASSERT(cx_keyring_new("nonsense", NULL, &err) == NULL, "bad key accepted");
        T_CONTAINS(err.msg, "key 1");
        free(legacy);
        free(v_old);
        free(v_new);
        cx_keyring_free(old);
        cx_keyring_free(both);
        cx_keyring_free(fresh);
}

/* A ring on a file follows it: a new first key seals from then on, without a new ring. */
static void test_keyring_follows_its_file(void)
{
        char path[] = "/tmp/cx-keyring-XXXXXX";
        int fd = mkstemp(path);
        cx_err err = { 0 };
        cx_keyring *ring, *k2 = cx_keyring_new(K2, NULL, &err);
        char *a, *b, *plain, kid1[9], kid2[9];
        FILE *f;

        T_FATAL(fd >= 0 && k2, "temp file");
        T_FATAL(write(fd, K1 "\n", 65) == 65, "write");
        close(fd);
        ring = cx_keyring_new(K1, path, &err);
        T_FATAL(ring != NULL, "%s", err.msg);
        cx_keyring_first_id(ring, kid1);
        a = cx_keyring_seal(ring, "t", "x", &err);
        sleep(1);
        f = fopen(path, "w");
        T_FATAL(f != NULL, "reopen");
        fputs(K2 "\n" K1 "\n", f);
        fclose(f);
        sleep(1);
        b = cx_keyring_seal(ring, "t", "y", &err);
        cx_keyring_first_id(k2, kid2);
        T_ASSERT(a && !strncmp(a + 3, kid1, 8), "first seal");
        T_ASSERT(b && !strncmp(b + 3, kid2, 8), "the file's new first key was not picked up");
        plain = a ? cx_keyring_open(ring, "t", a, &err) : NULL;
        T_ASSERT(plain != NULL, "the old key no longer opens: %s", err.msg);
        cx_secret_free(plain);
        free(a);
        free(b);
        cx_keyring_free(ring);
        cx_keyring_free(k2);
        unlink(path);
}

static void test_equal_hex(void)
{
        T_ASSERT(cx_equal_hex("00ff", "00FF"), "case");
        T_ASSERT(!cx_equal_hex("00ff", "00fe"), "differs");
        T_ASSERT(!cx_equal_hex("00ff", "00ff0"), "length");
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
        T_RUN(test_keyring_ids_and_two_keys);
        T_RUN(test_keyring_follows_its_file);
        T_RUN(test_equal_hex);
        return t_done();
}
