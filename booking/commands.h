/* commands: what the booking library emits (docs/commands.md): the exact.commands envelopes
 * for orders, customers and products, the dry-run result object and the dead-letter record. */
#ifndef BOOKING_COMMANDS_H
#define BOOKING_COMMANDS_H

#include <jansson.h>
#include <stddef.h>

#include "booking/booking.h"
#include "booking/rules.h"

/* The dry-run success object {"source_id","scenario","endpoint","body","totals"} (+
 * "warnings" when the engine raised any). New reference. */
json_t *booking_result_json(const booking *b);

/* The exact.commands envelope for an order (kind sales_order or sales_invoice). trace_id may
 * be NULL. New reference, NULL on allocation failure. */
json_t *booking_command_json(const booking *b, const rules *r, const char *trace_id);

/* booking_dumps(booking_command_json(b, r, trace_id)), byte for byte, with the document
 * serialised once instead of twice (for the hash and for the text). Caller frees; NULL on
 * allocation failure. */
char *booking_command_dumps(const booking *b, const rules *r, const char *trace_id);

/* exact.commands envelope for a customer event (GET /users/{id}). NULL with err on bad input. */
json_t *booking_account_upsert_json(const rules *r, const json_t *user, const char *trace_id,
                                    char *err, size_t errlen);

/* exact.commands envelope for a product event (GET /products/{id}). NULL with err on bad
 * input (no id, no name). A product with is_active false gets IsSalesItem false and
 * "deactivate": true. */
json_t *booking_item_upsert_json(const rules *r, const json_t *product, const char *trace_id,
                                 char *err, size_t errlen);

/* The same for a product deleted in the shop (shop.products event "deleted": its last known
 * state, or at least its id): IsSalesItem false and "deactivate": true (outside
 * content_hash), as for a product with is_active false. The name may be missing. */
json_t *booking_item_deleted_json(const rules *r, const json_t *product, const char *trace_id,
                                  char *err, size_t errlen);

/* Dead-letter record {"v","tenant","source_topic","source_id","trace_id","stage","reason",
 * "payload"}; payload is the original message text (kept verbatim as a string). */
json_t *booking_dead_letter_json(const char *tenant, const char *source_topic,
                                 const char *source_id, const char *trace_id, const char *reason,
                                 const char *payload);

#endif
