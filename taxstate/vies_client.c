/* vies_client: see vies_client.h. Every reply that is not an answer about the number is
 * "could not ask", never "invalid" (docs/research/vies.md §4, rule). */
#include "taxstate/vies_client.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/http_client.h"

struct vies_client {
        cx_http_client *http;
        char url[512];
        long timeout_ms;
};

vies_client *vies_client_new(const char *base_url, long timeout_ms)
{
        vies_client *c = calloc(1, sizeof(*c));
        size_t n;

        if (!c)
                return NULL;
        snprintf(c->url, sizeof(c->url), "%s", base_url);
        n = strlen(c->url);
        while (n > 0 && c->url[n - 1] == '/')
                c->url[--n] = '\0';
        snprintf(c->url + n, sizeof(c->url) - n, "/check-vat-number");
        c->timeout_ms = timeout_ms;
        c->http = cx_http_client_new(timeout_ms, false);
        if (!c->http) {
                free(c);
                return NULL;
        }
        return c;
}

void vies_client_free(vies_client *c)
{
        if (!c)
                return;
        cx_http_client_free(c->http);
        free(c);
}

/* VIES codes after which asking again does not help (research §4). */
static bool is_config_code(const char *code)
{
        return !strcmp(code, "INVALID_REQUESTER_INFO") || !strcmp(code, "IP_BLOCKED") ||
               !strcmp(code, "INVALID_INPUT");
}

static void copy_str(const json_t *o, const char *key, char *dst, size_t size)
{
        const char *s = json_string_value(json_object_get(o, key));

        snprintf(dst, size, "%s", s && strcmp(s, "---") ? s : "");
}

/* The answer in @p body (POST shape, or the GET shape's isValid/userError). */
static void read_answer(const char *body, vies_answer *a)
{
        json_t *o = json_loads(body, 0, NULL);
        const json_t *wrappers = json_object_get(o, "errorWrappers");
        const json_t *valid = json_object_get(o, "valid");
        const char *user = json_string_value(json_object_get(o, "userError"));

        if (!valid)
                valid = json_object_get(o, "isValid");
        if (json_array_size(wrappers) > 0) {
                copy_str(json_array_get(wrappers, 0), "error", a->error, sizeof(a->error));
        } else if (user && strcmp(user, "VALID") && strcmp(user, "INVALID")) {
                snprintf(a->error, sizeof(a->error), "%s", user);
        } else if (json_is_boolean(valid)) {
                a->state = json_is_true(valid) ? VIES_VALID : VIES_INVALID;
                copy_str(o, "requestIdentifier", a->request_identifier,
                         sizeof(a->request_identifier));
                copy_str(o, "requestDate", a->request_date, sizeof(a->request_date));
        }
        if (a->state == VIES_NOT_CHECKED) {
                a->state = VIES_UNAVAILABLE;
                if (!a->error[0])
                        snprintf(a->error, sizeof(a->error), "BAD_RESPONSE");
        }
        /* a blocked number is not one to grant 0% on: it counts as not valid (research §4) */
        if (!strcmp(a->error, "VAT_BLOCKED") || !strcmp(a->error, "VAT_REVOKED"))
                a->state = VIES_INVALID;
        json_decref(o);
}

void vies_client_check(vies_client *c, const char *vat_number, const char *requester,
                       vies_answer *a, bool *config_error)
{
        char cc[3], number[40], rcc[3] = "", rnum[40] = "";
        const char *headers[] = { "Content-Type: application/json", "Accept: application/json",
                                  NULL };
        cx_http_client_request req = { "POST", c->url, headers, NULL, 0, c->timeout_ms };
        cx_http_response resp = { 0 };
        cx_err err = { 0 };
        json_t *body;
        char *text;

        memset(a, 0, sizeof(*a));
        snprintf(a->vat_number, sizeof(a->vat_number), "%s", vat_number);
        *config_error = false;
        if (vies_split(vat_number, cc, number, sizeof(number)) != 0) {
                a->state = VIES_UNAVAILABLE;
                snprintf(a->error, sizeof(a->error), "INVALID_INPUT");
                *config_error = true;
                return;
        }
        body = json_pack("{s:s, s:s}", "countryCode", cc, "vatNumber", number);
        if (requester && vies_split(requester, rcc, rnum, sizeof(rnum)) == 0) {
                json_object_set_new(body, "requesterMemberStateCode", json_string(rcc));
                json_object_set_new(body, "requesterNumber", json_string(rnum));
        }
        text = json_dumps(body, JSON_COMPACT);
        json_decref(body);
        req.body = text;
        req.body_len = text ? strlen(text) : 0;
        if (!text || cx_http_do(c->http, &req, &resp, &err) != 0) {
                a->state = VIES_UNAVAILABLE;
                snprintf(a->error, sizeof(a->error), "%s",
                         strstr(err.msg, "imeout") || strstr(err.msg, "timed out") ? "TIMEOUT"
                                                                                   : "TRANSPORT");
        } else {
                read_answer(resp.body ? resp.body : "", a);
        }
        *config_error = a->state == VIES_UNAVAILABLE && is_config_code(a->error);
        free(text);
        cx_http_response_free(&resp);
}
