/* relations: the rules' relation policy (relation_matching, relation_codes,
 * b2c_collective_account) and the account.relation member it puts in each command, which the
 * loader follows when it looks for, numbers or picks a customer's relation in Exact
 * (docs/commands.md, docs/loader.md "Relations"). */
#ifndef BOOKING_RELATIONS_H
#define BOOKING_RELATIONS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The policy members of a rules-file object, checked, as a new object holding only those that
 * are given; NULL with err on a wrong value. */
json_t *booking_relations_parse(const json_t *rules_obj, char *err, size_t errlen);

/* Give @p acc (the account definition booking_account_def made of the CCV Personalinfo
 * @p info for the customer @p user_id, "" for guests) its "relation" member by @p policy
 * (booking_relations_parse). With
 * @p documents and b2c_collective_account set, a consumer (no company, VAT or CoC number) is
 * booked on the collective relation instead: @p acc then names it and *collective is set.
 * Returns 0, or -1 with err when out of memory. */
int booking_relation_apply(const json_t *policy, const json_t *info, json_t *acc,
                           const char *user_id, bool documents, bool *collective, char *err,
                           size_t errlen);

#endif
