/* paging.h: CCV Shop collections. A collection answers {"items": [...], "next": url} with
 * offset paging (start, size); a page with a non-empty "next" and at least one item has a
 * successor. There is no total count (spec 3.1, 4). */
#ifndef CX_CCV_PAGING_H
#define CX_CCV_PAGING_H

#include <jansson.h>
#include <stdbool.h>

#include "ccv/client.h"

/**
 * @brief The items of a collection page (borrowed from @p page) and whether a next page
 *        follows.
 * @returns 0, or -1 when @p page has no items array.
 */
int ccv_page_items(const json_t *page, json_t **items, bool *more);

/**
 * @brief GET every page of the collection at @p path (no query; at most 100 pages of 250)
 *        into a new array (*out, the caller's).
 * @returns CCV_OK, or the status of the request that failed (CCV_FAILED with CX_ERR_PARSE
 *          for a page without items), with @p err and @p wait_s as ccv_request() sets them.
 */
ccv_status ccv_get_all(ccv_shop *s, cx_http_client *hc, const char *path, json_t **out,
                       double *wait_s, cx_err *err);

#endif
