/* paging.c: walking CCV Shop collections (see paging.h). */
#include "ccv/paging.h"

#include <stdio.h>

int ccv_page_items(const json_t *page, json_t **items, bool *more)
{
        const json_t *next = json_object_get(page, "next");

        *items = json_object_get(page, "items");
        *more = false;
        if (!json_is_array(*items))
                return -1;
        *more = json_is_string(next) && *json_string_value(next) && json_array_size(*items) > 0;
        return 0;
}

ccv_status ccv_get_all(ccv_shop *s, cx_http_client *hc, const char *path, json_t **out,
                       double *wait_s, cx_err *err)
{
        json_t *all = json_array();
        long long start = 0;

        *out = NULL;
        for (int pages = 0; pages < 100; pages++) {
                char p[512];
                json_t *page = NULL, *items;
                ccv_status st;
                bool more;

                snprintf(p, sizeof(p), "%s?start=%lld&size=250", path, start);
                st = ccv_request(s, hc, "GET", p, NULL, &page, wait_s, err);
                if (st != CCV_OK) {
                        json_decref(all);
                        return st;
                }
                if (ccv_page_items(page, &items, &more) < 0) {
                        json_decref(page);
                        json_decref(all);
                        cx_fail(err, CX_ERR_PARSE, false, "collection without an items array");
                        return CCV_FAILED;
                }
                json_array_extend(all, items);
                start += (long long)json_array_size(items);
                json_decref(page);
                if (!more)
                        break;
        }
        *out = all;
        return CCV_OK;
}
