/* ccv_hook.c - see ccv_hook.h */
#include "ccv_hook.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ccv_util.h"

#define HOOK_QUEUE_MAX 10000

struct hook_job {
        struct hook_job *next;
        char *address;
        char *event;
        char *body;
        char hash[129];
};

struct ccv_hooks {
        pthread_t thread;
        pthread_mutex_t lock;
        pthread_cond_t cond;
        struct hook_job *head, *tail;
        size_t len;
        bool stop;
        long timeout_ms;
        struct ccv_hook_stats st;
};

static void job_free(struct hook_job *j)
{
        if (!j)
                return;
        free(j->address);
        free(j->event);
        free(j->body);
        free(j);
}

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
        (void)p;
        (void)ud;
        return size * n;
}

static bool deliver(CURL *curl, const struct hook_job *j, long timeout_ms)
{
        struct curl_slist *hdr = NULL, *tmp;
        char line[200];
        long code = 0;
        CURLcode rc;

        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        snprintf(line, sizeof(line), "x-hash: %s", j->hash);
        tmp = curl_slist_append(hdr, line);
        if (!tmp) {
                curl_slist_free_all(hdr);
                return false;
        }
        hdr = tmp;
        curl_easy_reset(curl);
        curl_easy_setopt(curl, CURLOPT_URL, j->address);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, j->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(j->body));
        curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
        curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(curl, CURLOPT_USERAGENT, "ccvshop-fake-webhook/1");
        rc = curl_easy_perform(curl);
        if (rc == CURLE_OK)
                curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(hdr);
        return rc == CURLE_OK && code >= 200 && code < 300;
}

static void *hook_thread(void *arg)
{
        struct ccv_hooks *h = arg;
        CURL *curl = curl_easy_init();

        for (;;) {
                struct hook_job *j;
                bool ok;

                pthread_mutex_lock(&h->lock);
                while (!h->stop && !h->head)
                        pthread_cond_wait(&h->cond, &h->lock);
                if (h->stop) {
                        pthread_mutex_unlock(&h->lock);
                        break;
                }
                j = h->head;
                h->head = j->next;
                if (!h->head)
                        h->tail = NULL;
                h->len--;
                pthread_mutex_unlock(&h->lock);

                ok = curl && deliver(curl, j, h->timeout_ms);
                pthread_mutex_lock(&h->lock);
                if (ok)
                        h->st.delivered++;
                else
                        h->st.failed++;
                pthread_mutex_unlock(&h->lock);
                job_free(j);
        }
        if (curl)
                curl_easy_cleanup(curl);
        return NULL;
}

struct ccv_hooks *ccv_hooks_new(long timeout_ms)
{
        struct ccv_hooks *h = calloc(1, sizeof(*h));

        if (!h)
                return NULL;
        h->timeout_ms = timeout_ms > 0 ? timeout_ms : 2000;
        pthread_mutex_init(&h->lock, NULL);
        pthread_cond_init(&h->cond, NULL);
        if (pthread_create(&h->thread, NULL, hook_thread, h) != 0) {
                pthread_mutex_destroy(&h->lock);
                pthread_cond_destroy(&h->cond);
                free(h);
                return NULL;
        }
        return h;
}

int ccv_hooks_enqueue(struct ccv_hooks *h, const char *address, const char *key, const char *event,
                      const char *body)
{
        struct hook_job *j = calloc(1, sizeof(*j));
        struct ccv_buf msg = { 0 };

        if (!j)
                return -ENOMEM;
        j->address = strdup(address);
        j->event = strdup(event);
        j->body = strdup(body);
        if (!j->address || !j->event || !j->body ||
            ccv_buf_printf(&msg, "%s|%s", address, body) < 0) {
                ccv_buf_free(&msg);
                job_free(j);
                return -ENOMEM;
        }
        ccv_hmac_hex(key, strlen(key), msg.data, msg.len, j->hash);
        ccv_buf_free(&msg);
        pthread_mutex_lock(&h->lock);
        if (h->len >= HOOK_QUEUE_MAX || h->stop) {
                h->st.dropped++;
                pthread_mutex_unlock(&h->lock);
                job_free(j);
                return -ENOSPC;
        }
        if (h->tail)
                h->tail->next = j;
        else
                h->head = j;
        h->tail = j;
        h->len++;
        h->st.queued++;
        pthread_cond_signal(&h->cond);
        pthread_mutex_unlock(&h->lock);
        return 0;
}

void ccv_hooks_stats(struct ccv_hooks *h, struct ccv_hook_stats *ret)
{
        pthread_mutex_lock(&h->lock);
        *ret = h->st;
        pthread_mutex_unlock(&h->lock);
}

void ccv_hooks_free(struct ccv_hooks *h)
{
        struct hook_job *j;

        if (!h)
                return;
        pthread_mutex_lock(&h->lock);
        h->stop = true;
        pthread_cond_signal(&h->cond);
        pthread_mutex_unlock(&h->lock);
        pthread_join(h->thread, NULL);
        while (h->head) {
                j = h->head;
                h->head = j->next;
                job_free(j);
        }
        pthread_mutex_destroy(&h->lock);
        pthread_cond_destroy(&h->cond);
        free(h);
}
