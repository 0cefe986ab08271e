#pragma once
/*
 * ccv_after.h - changes to completed orders (issue 13): row edits and address changes,
 * credit invoices and returns, in the shapes of spec 3.10.  Called with the fake's lock held.
 */
#include <stdbool.h>
#include <time.h>

#include <jansson.h>

#include "ccv_data.h"

/* Edits a completed order: body {"rows": [{"id": <orderrow id>, "count": n}],
 * "billingaddress": {...}, "deliveryaddress": {...}} (address fields merged). Row totals and
 * the order's total_orderrow_price, total_tax and total_price follow. 0, or -1 with err. */
int ccv_after_edit(struct ccv_order *o, const json_t *body, char *err, size_t len);

/* A credit invoice (type "credit", amounts negative) of the order: body {"rows":
 * [{"orderrow_id", "count"}], "shipping": bool, "amount": <gross euros>, "full": bool,
 * "status": "reimbursed" (default) | "paid" | "unpaid"}. Returns the invoice (borrowed, kept
 * in o->invoices) or NULL with err. */
json_t *ccv_after_credit(struct ccv_shop *s, struct ccv_order *o, const json_t *body, time_t now,
                         char *err, size_t len);

/* A return: body {"rows": [{"orderrow_id", "count"}], "reason": text, "action": text}.
 * Returns it (borrowed, kept in o->returns) or NULL with err. */
json_t *ccv_after_return(struct ccv_shop *s, struct ccv_order *o, const json_t *body, time_t now,
                         char *err, size_t len);

/* The {"obj", "rows"} entry of invoice (or with @p returns, return) @p id, or NULL. */
const json_t *ccv_after_find(struct ccv_shop *s, bool returns, int64_t id);
