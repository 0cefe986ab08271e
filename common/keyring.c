/* keyring.c: master keys with key ids and a file that is followed (see keyring.h). */
#include "common/keyring.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/log.h"

#define V2 "v2:"

typedef struct ring_key {
        unsigned char key[CX_KEY_LEN];
        char kid[9];
} ring_key;

struct cx_keyring {
        pthread_mutex_t lock;
        ring_key keys[CX_KEYRING_MAX];
        int n;
        char *file;
        struct stat seen; /* the file as last read */
        time_t checked;   /* when the file was last looked at */
};

void cx_key_id(const unsigned char key[CX_KEY_LEN], char kid[9])
{
        unsigned char buf[10 + CX_KEY_LEN];
        char hex[65];

        /* a label first, so the id is no plain hash of the key */
        memcpy(buf, "cx-key-id|", 10);
        memcpy(buf + 10, key, CX_KEY_LEN);
        cx_sha256_hex(buf, sizeof(buf), hex);
        OPENSSL_cleanse(buf, sizeof(buf));
        memcpy(kid, hex, 8);
        kid[8] = '\0';
}

/* Parse @p text into @p keys. @returns how many, or -1 with @p err. */
static int parse_keys(const char *text, ring_key keys[CX_KEYRING_MAX], cx_err *err)
{
        const char *sep = " \t\r\n,";
        int n = 0;

        text += strspn(text, sep);
        while (*text) {
                size_t len = strcspn(text, sep);
                char word[128];

                if (n == CX_KEYRING_MAX)
                        return cx_fail(err, CX_ERR_CONFIG, false, "more than %d keys",
                                       CX_KEYRING_MAX);
                if (len >= sizeof(word))
                        len = sizeof(word) - 1;
                memcpy(word, text, len);
                word[len] = '\0';
                if (cx_key_parse(word, keys[n].key, err) < 0) {
                        OPENSSL_cleanse(word, sizeof(word));
                        return cx_fail(err, CX_ERR_CONFIG, false,
                                       "key %d: expected 64 hex characters or base64 of 32 bytes",
                                       n + 1);
                }
                OPENSSL_cleanse(word, sizeof(word));
                cx_key_id(keys[n].key, keys[n].kid);
                n++;
                text += len;
                text += strspn(text, sep);
        }
        if (n == 0)
                return cx_fail(err, CX_ERR_CONFIG, false, "no key given");
        return n;
}

cx_keyring *cx_keyring_new(const char *text, const char *file, cx_err *err)
{
        cx_keyring *r = calloc(1, sizeof(*r));

        if (!r) {
                cx_fail(err, CX_ERR_CONFIG, false, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&r->lock, NULL);
        r->n = parse_keys(text ? text : "", r->keys, err);
        if (r->n < 0 || (file && *file && !(r->file = strdup(file)))) {
                cx_keyring_free(r);
                return NULL;
        }
        if (r->file)
                stat(r->file, &r->seen);
        r->checked = time(NULL);
        return r;
}

cx_keyring *cx_keyring_from_env(const char *text, char **envp, cx_err *err)
{
        const char *file = NULL;

        if (!text || !*text)
                return NULL;
        for (char **e = envp; e && *e; e++)
                if (!strncmp(*e, "CX_SECRET_KEY_FILE=", 19))
                        file = *e + 19;
        return cx_keyring_new(text, file, err);
}

cx_keyring *cx_keyring_with_first(const unsigned char first[CX_KEY_LEN], const cx_keyring *rest,
                                  cx_err *err)
{
        cx_keyring *r = calloc(1, sizeof(*r));

        if (!r) {
                cx_fail(err, CX_ERR_CONFIG, false, "out of memory");
                return NULL;
        }
        pthread_mutex_init(&r->lock, NULL);
        memcpy(r->keys[0].key, first, CX_KEY_LEN);
        cx_key_id(first, r->keys[0].kid);
        r->n = 1;
        for (int i = 0; rest && i < rest->n && r->n < CX_KEYRING_MAX; i++)
                if (strcmp(rest->keys[i].kid, r->keys[0].kid))
                        r->keys[r->n++] = rest->keys[i];
        return r;
}

void cx_keyring_free(cx_keyring *ring)
{
        if (!ring)
                return;
        OPENSSL_cleanse(ring->keys, sizeof(ring->keys));
        free(ring->file);
        pthread_mutex_destroy(&ring->lock);
        free(ring);
}

/* Re-read the file when it changed (lock held). A bad file keeps the keys in use. */
static void follow_file(cx_keyring *r)
{
        struct stat st;
        time_t now = time(NULL);
        ring_key keys[CX_KEYRING_MAX];
        cx_err err = { 0 };
        char *text;
        FILE *f;
        long n;
        int k;

        if (!r->file || now == r->checked)
                return;
        r->checked = now;
        if (stat(r->file, &st) < 0 ||
            (st.st_mtim.tv_sec == r->seen.st_mtim.tv_sec &&
             st.st_mtim.tv_nsec == r->seen.st_mtim.tv_nsec && st.st_ino == r->seen.st_ino &&
             st.st_size == r->seen.st_size))
                return;
        f = fopen(r->file, "r");
        text = f ? calloc(1, 8192) : NULL;
        n = text ? (long)fread(text, 1, 8191, f) : -1;
        if (f)
                fclose(f);
        k = n >= 0 ? parse_keys(text, keys, &err) : -1;
        if (text) {
                OPENSSL_cleanse(text, 8192);
                free(text);
        }
        if (k < 0) {
                cx_log(CX_LOG_ERROR, "keys.reload_failed", "%s: %s; the keys in use are kept",
                       r->file, n < 0 ? "cannot be read" : err.msg);
                r->seen = st;
                return;
        }
        memcpy(r->keys, keys, sizeof(keys));
        OPENSSL_cleanse(keys, sizeof(keys));
        r->n = k;
        r->seen = st;
        cx_log(CX_LOG_INFO, "keys.reloaded", "%d key(s) from %s, sealing with key %s", k, r->file,
               r->keys[0].kid);
}

char *cx_keyring_seal(cx_keyring *ring, const char *context, const char *plaintext, cx_err *err)
{
        unsigned char key[CX_KEY_LEN];
        char kid[9], *v1, *out;

        if (!ring) {
                cx_fail(err, CX_ERR_CONFIG, false, "CX_SECRET_KEY is not set");
                return NULL;
        }
        pthread_mutex_lock(&ring->lock);
        follow_file(ring);
        memcpy(key, ring->keys[0].key, CX_KEY_LEN);
        memcpy(kid, ring->keys[0].kid, sizeof(kid));
        pthread_mutex_unlock(&ring->lock);
        v1 = cx_secret_seal(key, context, plaintext, err);
        OPENSSL_cleanse(key, sizeof(key));
        if (!v1)
                return NULL;
        /* "v1:" + payload becomes "v2:KID:" + the same payload */
        out = malloc(strlen(v1) + 9 + 1);
        if (out)
                snprintf(out, strlen(v1) + 10, "%s%s:%s", V2, kid, v1 + 3);
        else
                cx_fail(err, CX_ERR_CRYPTO, false, "out of memory");
        free(v1);
        return out;
}

/* Open the v1 form @p v1 with key @p i of the ring (lock held by the caller or not: the key
 * is copied first). */
static char *open_with(cx_keyring *r, int i, const char *context, const char *v1, cx_err *err)
{
        unsigned char key[CX_KEY_LEN];
        char *plain;

        memcpy(key, r->keys[i].key, CX_KEY_LEN);
        plain = cx_secret_open(key, context, v1, err);
        OPENSSL_cleanse(key, sizeof(key));
        return plain;
}

char *cx_keyring_open(cx_keyring *ring, const char *context, const char *sealed, cx_err *err)
{
        char *plain = NULL, *v1 = NULL;
        const char *kid = NULL;

        if (!ring) {
                cx_fail(err, CX_ERR_CONFIG, false, "CX_SECRET_KEY is not set");
                return NULL;
        }
        if (sealed && !strncmp(sealed, V2, 3) && strlen(sealed) > 12 && sealed[11] == ':') {
                kid = sealed + 3;
                v1 = malloc(strlen(sealed));
                if (v1)
                        snprintf(v1, strlen(sealed), "v1:%s", sealed + 12);
        }
        pthread_mutex_lock(&ring->lock);
        follow_file(ring);
        for (int i = 0; i < ring->n && !plain; i++) {
                if (kid && strncmp(ring->keys[i].kid, kid, 8))
                        continue;
                plain = open_with(ring, i, context, kid ? v1 : sealed, err);
        }
        pthread_mutex_unlock(&ring->lock);
        free(v1);
        if (!plain && kid)
                cx_fail(err, CX_ERR_CRYPTO, false,
                        "sealed secret does not open: its key %.8s is not among the keys, or the"
                        " owner or the data do not match",
                        kid);
        else if (!plain)
                cx_fail(err, CX_ERR_CRYPTO, false,
                        "sealed secret does not open: wrong key, wrong owner or tampered data");
        return plain;
}

bool cx_keyring_is_current(cx_keyring *ring, const char *sealed)
{
        char kid[9];

        if (!ring)
                return false;
        cx_keyring_first_id(ring, kid);
        return sealed && !strncmp(sealed, V2, 3) && !strncmp(sealed + 3, kid, 8) &&
               sealed[11] == ':';
}

void cx_keyring_first_id(cx_keyring *ring, char kid[9])
{
        pthread_mutex_lock(&ring->lock);
        follow_file(ring);
        memcpy(kid, ring->keys[0].kid, 9);
        pthread_mutex_unlock(&ring->lock);
}

void cx_secret_free(char *plain)
{
        if (!plain)
                return;
        OPENSSL_cleanse(plain, strlen(plain));
        free(plain);
}

bool cx_equal_hex(const char *a, const char *b)
{
        size_t n = strlen(a);
        unsigned char diff = 0;

        if (n != strlen(b))
                return false;
        for (size_t i = 0; i < n; i++) {
                unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];

                /* fold case without branching on the data */
                diff |= (unsigned char)((x | 0x20) ^ (y | 0x20));
        }
        return diff == 0;
}
