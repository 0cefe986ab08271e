#include "panel/api_deadletters.h"

#include <stdio.h>
#include <string.h>

#include "ops/ops_deadletters.h"

/* Dead letter @p ids of tenant @p t (with payload), or NULL after replying 404. A dead letter
 * of another tenant is "not found" too, so ids do not tell what exists elsewhere. */
static json_t *own_dead_letter(rq *q, const char *t, const char *ids, long long *id)
{
        cx_err err = { 0 };
        json_t *dl;

        if (!rq_parse_id(ids, id)) {
                rq_reply_error(q, 400, "dead letter id: expected a positive integer");
                return NULL;
        }
        dl = ops_deadletter_show(&q->ops, *id, &err);
        if (!dl && err.code != CX_ERR_NOT_FOUND) {
                rq_reply_err(q, &err);
                return NULL;
        }
        if (!dl || strcmp(json_string_value(json_object_get(dl, "tenant_id")) ?: "", t) != 0) {
                json_decref(dl);
                rq_reply_error(q, 404, "tenant %s has no dead letter %lld", t, *id);
                return NULL;
        }
        return dl;
}

void api_deadletters_list(rq *q, const char *t)
{
        const char *state = rq_query(q, "state");
        cx_err err = { 0 };
        json_t *list = ops_deadletter_list(&q->ops, t, state, 200, &err);

        if (!list) {
                rq_reply_err(q, &err);
                return;
        }
        rq_reply_json(q, 200, json_pack("{s:o}", "dead_letters", list));
}

void api_deadletters_action(rq *q, const char *t, const char *ids, const char *action)
{
        long long id;
        json_t *dl, *b = NULL;
        cx_err err = { 0 };
        int rc;
        char detail[64];

        if (action && !strcmp(action, "drop") && !rq_is_operator(q)) {
                rq_reply_error(q, 403, "only operators may drop dead letters");
                return;
        }
        dl = own_dead_letter(q, t, ids, &id);
        if (!dl)
                return;
        if (!action) {
                rq_reply_json(q, 200, dl);
                return;
        }
        json_decref(dl);
        if (!strcmp(action, "redrive")) {
                cx_producer *pr;

                pthread_mutex_lock(&q->p->lock); /* made once, shared (it is thread-safe) */
                if (!q->p->producer && q->ops.brokers[0])
                        q->p->producer = cx_producer_new(q->ops.brokers, NULL, &err);
                pr = q->p->producer;
                pthread_mutex_unlock(&q->p->lock);
                if (!pr && err.code == CX_OK)
                        cx_fail(&err, CX_ERR_CONFIG, false,
                                "redrive needs Kafka "
                                "(CX_KAFKA_BROKERS)");
                rc = pr ? ops_deadletter_redrive(&q->ops, pr, id, &err) : -1;
        } else if (!strcmp(action, "drop")) {
                b = rq_body_object(q);
                if (!b)
                        return;
                rc = ops_deadletter_drop(
                        &q->ops, id, json_string_value(json_object_get(b, "reason")) ?: "", &err);
                json_decref(b);
        } else {
                rq_reply_error(q, 404, "no such action");
                return;
        }
        if (rc < 0) {
                rq_reply_err(q, &err);
                return;
        }
        snprintf(detail, sizeof(detail), "dead letter %lld", id);
        rq_audit(q, t, !strcmp(action, "drop") ? "deadletter.drop" : "deadletter.redrive", detail);
        rq_reply_json(q, 200,
                      json_pack("{s:I, s:s}", "id", (json_int_t)id, "state",
                                !strcmp(action, "drop") ? "dropped" : "redriven"));
}
