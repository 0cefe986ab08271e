#include "common/mail.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/crypto.h>

#include "common/log.h"

struct payload {
        const char *data;
        size_t len, off;
};

static size_t read_payload(char *buf, size_t size, size_t n, void *ud)
{
        struct payload *p = ud;
        size_t room = size * n, left = p->len - p->off;
        size_t take = left < room ? left : room;

        memcpy(buf, p->data + p->off, take);
        p->off += take;
        return take;
}

bool cx_mail_configured(const cx_mail_cfg *cfg)
{
        return cfg && cfg->url && *cfg->url;
}

static bool plain_address(const char *a)
{
        const char *at = a ? strchr(a, '@') : NULL;

        return at && at != a && at[1] && !strpbrk(a, "\r\n<>,; \t\"");
}

static bool ascii(const char *s)
{
        for (; *s; s++)
                if ((unsigned char)*s >= 0x80)
                        return false;
        return true;
}

/* The message: headers (a non-ASCII subject as an RFC 2047 encoded word), a blank line, the
 * text with CRLF line ends. libcurl escapes lines starting with a dot. */
static char *compose(const cx_mail_cfg *cfg, const char *to, const char *subject, const char *text,
                     size_t *len)
{
        char date[64], id[33], *subj = NULL, *msg = NULL, *body, *o;
        unsigned char rnd[16];
        size_t lines = 0;
        time_t now = time(NULL);
        struct tm tm;
        FILE *f;

        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
                memset(rnd, 0, sizeof(rnd));
        for (size_t i = 0; i < sizeof(rnd); i++)
                snprintf(id + 2 * i, 3, "%02x", rnd[i]);
        if (ascii(subject)) {
                subj = strdup(subject);
        } else {
                size_t b64 = 4 * ((strlen(subject) + 2) / 3) + 1;
                unsigned char *enc = malloc(b64);

                if (enc) {
                        EVP_EncodeBlock(enc, (const unsigned char *)subject, (int)strlen(subject));
                        if (asprintf(&subj, "=?UTF-8?B?%s?=", enc) < 0)
                                subj = NULL;
                }
                free(enc);
        }
        for (const char *c = text; *c; c++)
                lines += *c == '\n';
        body = malloc(strlen(text) + lines + 3);
        if (!subj || !body) {
                free(subj);
                free(body);
                return NULL;
        }
        o = body;
        for (const char *c = text; *c; c++) {
                if (*c == '\n' && (c == text || c[-1] != '\r'))
                        *o++ = '\r';
                *o++ = *c;
        }
        *o = '\0';
        f = open_memstream(&msg, len);
        if (f) {
                const char *host = strchr(cfg->from, '@');

                fprintf(f,
                        "Date: %s\r\nTo: <%s>\r\nFrom: <%s>\r\nSubject: %s\r\n"
                        "Message-ID: <%s%s>\r\nMIME-Version: 1.0\r\n"
                        "Content-Type: text/plain; charset=utf-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\nAuto-Submitted: auto-generated\r\n"
                        "\r\n%s%s",
                        date, to, cfg->from, subj, id, host ? host : "@localhost", body,
                        o > body && o[-1] == '\n' ? "" : "\r\n");
                fclose(f);
        }
        free(subj);
        free(body);
        return msg;
}

int cx_mail_send(const cx_mail_cfg *cfg, const char *to, const char *subject, const char *text,
                 cx_err *err)
{
        struct payload pl = { 0 };
        struct curl_slist *rcpt = NULL;
        char from[300], rcpt_s[300], errbuf[CURL_ERROR_SIZE] = "";
        size_t len = 0;
        char *msg;
        CURL *h;
        CURLcode rc;

        if (!cx_mail_configured(cfg))
                return cx_fail(err, CX_ERR_CONFIG, false,
                               "no mail server configured (CX_SMTP_URL)");
        if (!plain_address(to) || strlen(to) > 254)
                return cx_fail(err, CX_ERR_PARSE, false, "\"%.80s\" is not an e-mail address",
                               to ? to : "");
        if (!plain_address(cfg->from) || strlen(cfg->from) > 254)
                return cx_fail(err, CX_ERR_CONFIG, false,
                               "CX_SMTP_FROM \"%.80s\" is not an e-mail address", cfg->from);
        if (strpbrk(subject, "\r\n"))
                return cx_fail(err, CX_ERR_PARSE, false, "a mail subject is one line");
        msg = compose(cfg, to, subject, text, &len);
        h = msg ? curl_easy_init() : NULL;
        if (!h) {
                free(msg);
                return cx_fail(err, CX_ERR_IO, false, "out of memory composing a mail");
        }
        snprintf(from, sizeof(from), "<%s>", cfg->from);
        snprintf(rcpt_s, sizeof(rcpt_s), "<%s>", to);
        rcpt = curl_slist_append(NULL, rcpt_s);
        pl.data = msg;
        pl.len = len;
        curl_easy_setopt(h, CURLOPT_URL, cfg->url);
        curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, read_payload);
        curl_easy_setopt(h, CURLOPT_READDATA, &pl);
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ? cfg->timeout_ms : 10000L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         cfg->timeout_ms > 0 && cfg->timeout_ms < 10000 ? cfg->timeout_ms : 10000L);
        curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
        if (cfg->starttls)
                curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
        if (cfg->user && *cfg->user) {
                curl_easy_setopt(h, CURLOPT_USERNAME, cfg->user);
                curl_easy_setopt(h, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
        }
        rc = curl_easy_perform(h);
        curl_slist_free_all(rcpt);
        curl_easy_cleanup(h);
        OPENSSL_cleanse(msg, len);
        free(msg);
        if (rc != CURLE_OK)
                return cx_fail(err, CX_ERR_HTTP, true, "mail to %s not sent: %s", to,
                               errbuf[0] ? errbuf : curl_easy_strerror(rc));
        cx_log_fields(CX_LOG_INFO, "mail.sent",
                      json_pack("{s:s, s:s}", "to", to, "subject", subject), "mail sent to %s", to);
        return 0;
}
