/* scheduler: see scheduler.h. */
#include "loader/scheduler.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct sched_tenant {
        char *id;
        job *head, *tail;
        bool busy;
        int64_t not_before_ms;
        char reason[160];
        exact_budget budget;
};

struct part_slot {
        int64_t offset;
        bool done;
};

struct part {
        char *topic;
        int32_t partition;
        uint64_t generation;
        struct part_slot *slots; /* offsets in arrival order, done prefix trimmed */
        size_t n, cap;
        int64_t next_offset; /* one past the last offset seen */
        int64_t committed;   /* last offset handed out for commit, -1 none */
};

struct sched {
        pthread_mutex_t lock;
        pthread_cond_t cond;
        sched_tenant **tenants;
        size_t n_tenants, cap_tenants, rr;
        struct part **parts;
        size_t n_parts, cap_parts;
        size_t queued;
        uint64_t generations;
        bool stopping;
};

sched *sched_new(void)
{
        sched *s = calloc(1, sizeof(*s));
        pthread_condattr_t ca;

        if (!s)
                return NULL;
        pthread_mutex_init(&s->lock, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&s->cond, &ca);
        pthread_condattr_destroy(&ca);
        return s;
}

static void job_free(job *j)
{
        if (!j)
                return;
        free(j->tenant);
        free(j->payload);
        free(j->topic);
        free(j);
}

void sched_free(sched *s)
{
        if (!s)
                return;
        for (size_t i = 0; i < s->n_tenants; i++) {
                job *j = s->tenants[i]->head;

                while (j) {
                        job *n = j->next;

                        job_free(j);
                        j = n;
                }
                free(s->tenants[i]->id);
                free(s->tenants[i]);
        }
        for (size_t i = 0; i < s->n_parts; i++) {
                free(s->parts[i]->topic);
                free(s->parts[i]->slots);
                free(s->parts[i]);
        }
        free(s->tenants);
        free(s->parts);
        pthread_cond_destroy(&s->cond);
        pthread_mutex_destroy(&s->lock);
        free(s);
}

static sched_tenant *tenant_get(sched *s, const char *id)
{
        sched_tenant *t;

        for (size_t i = 0; i < s->n_tenants; i++) {
                if (!strcmp(s->tenants[i]->id, id))
                        return s->tenants[i];
        }
        if (s->n_tenants == s->cap_tenants) {
                size_t cap = s->cap_tenants ? s->cap_tenants * 2 : 32;
                sched_tenant **n = realloc(s->tenants, cap * sizeof(*n));

                if (!n)
                        return NULL;
                s->tenants = n;
                s->cap_tenants = cap;
        }
        t = calloc(1, sizeof(*t));
        if (!t)
                return NULL;
        t->id = strdup(id);
        if (!t->id) {
                free(t);
                return NULL;
        }
        s->tenants[s->n_tenants++] = t;
        return t;
}

static struct part *part_get(sched *s, const char *topic, int32_t partition, bool create)
{
        struct part *p;

        for (size_t i = 0; i < s->n_parts; i++) {
                p = s->parts[i];
                if (p->partition == partition && !strcmp(p->topic, topic))
                        return p;
        }
        if (!create)
                return NULL;
        if (s->n_parts == s->cap_parts) {
                size_t cap = s->cap_parts ? s->cap_parts * 2 : 16;
                struct part **n = realloc(s->parts, cap * sizeof(*n));

                if (!n)
                        return NULL;
                s->parts = n;
                s->cap_parts = cap;
        }
        p = calloc(1, sizeof(*p));
        if (!p)
                return NULL;
        p->topic = strdup(topic);
        p->partition = partition;
        p->generation = ++s->generations;
        p->committed = -1;
        p->next_offset = -1;
        s->parts[s->n_parts++] = p;
        return p;
}

/* Drop the queued (not running) jobs of partition @p p; running ones finish on their own
 * but can no longer move its offset (their generation is stale). */
static void drop_partition_jobs(sched *s, struct part *p)
{
        for (size_t i = 0; i < s->n_tenants; i++) {
                sched_tenant *t = s->tenants[i];
                job **pp = &t->head;
                job *prev = NULL;

                /* the head of a busy tenant is in a worker's hands */
                if (t->busy && *pp) {
                        prev = *pp;
                        pp = &(*pp)->next;
                }
                while (*pp) {
                        job *j = *pp;

                        if (j->partition == p->partition && !strcmp(j->topic, p->topic)) {
                                *pp = j->next;
                                job_free(j);
                                s->queued--;
                                continue;
                        }
                        prev = j;
                        pp = &j->next;
                }
                t->tail = prev;
                if (!t->head)
                        t->tail = NULL;
        }
        p->n = 0;
        p->committed = -1;
        p->next_offset = -1;
        p->generation = ++s->generations;
}

void sched_add(sched *s, const rd_kafka_message_t *m)
{
        job *j = calloc(1, sizeof(*j));
        const char *topic = rd_kafka_topic_name(m->rkt);
        rd_kafka_timestamp_type_t tt;
        struct part *p;
        sched_tenant *t;

        if (!j)
                return;
        j->tenant = m->key ? strndup(m->key, m->key_len) : strdup("");
        j->payload = malloc(m->len + 1);
        j->topic = strdup(topic);
        if (!j->tenant || !j->payload || !j->topic) {
                job_free(j);
                return;
        }
        if (m->len)
                memcpy(j->payload, m->payload, m->len);
        j->payload[m->len] = '\0';
        j->len = m->len;
        j->partition = m->partition;
        j->offset = m->offset;
        j->kafka_ts_ms = rd_kafka_message_timestamp(m, &tt);
        pthread_mutex_lock(&s->lock);
        p = part_get(s, topic, m->partition, true);
        if (p && p->next_offset >= 0 && m->offset < p->next_offset)
                drop_partition_jobs(s, p); /* redelivered from an older offset: start over */
        t = tenant_get(s, j->tenant);
        if (!p || !t) {
                pthread_mutex_unlock(&s->lock);
                job_free(j);
                return;
        }
        if (p->n == p->cap) {
                size_t cap = p->cap ? p->cap * 2 : 64;
                struct part_slot *n = realloc(p->slots, cap * sizeof(*n));

                if (!n) {
                        pthread_mutex_unlock(&s->lock);
                        job_free(j);
                        return;
                }
                p->slots = n;
                p->cap = cap;
        }
        p->slots[p->n].offset = m->offset;
        p->slots[p->n].done = false;
        p->n++;
        p->next_offset = m->offset + 1;
        j->generation = p->generation;
        j->ts = t;
        if (t->tail)
                t->tail->next = j;
        else
                t->head = j;
        t->tail = j;
        s->queued++;
        pthread_cond_signal(&s->cond);
        pthread_mutex_unlock(&s->lock);
}

static int64_t now_ms(void)
{
        return exact_now_ms();
}

job *sched_next(sched *s, int timeout_ms)
{
        struct timespec deadline;
        job *found = NULL;

        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += timeout_ms / 1000;
        deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&s->lock);
        while (!s->stopping) {
                int64_t now = now_ms(), soonest = INT64_MAX;
                struct timespec until, mono;

                for (size_t k = 0; k < s->n_tenants && !found; k++) {
                        sched_tenant *t = s->tenants[(s->rr + k) % s->n_tenants];

                        if (t->busy || !t->head)
                                continue;
                        if (t->not_before_ms > now) {
                                if (t->not_before_ms < soonest)
                                        soonest = t->not_before_ms;
                                continue;
                        }
                        t->busy = true;
                        t->reason[0] = '\0';
                        found = t->head;
                        s->rr = (s->rr + k + 1) % s->n_tenants;
                }
                if (found)
                        break;
                until = deadline;
                if (soonest != INT64_MAX) {
                        int64_t wait = soonest - now;

                        clock_gettime(CLOCK_MONOTONIC, &mono);
                        mono.tv_sec += wait / 1000;
                        mono.tv_nsec += (long)(wait % 1000) * 1000000L;
                        if (mono.tv_nsec >= 1000000000L) {
                                mono.tv_sec++;
                                mono.tv_nsec -= 1000000000L;
                        }
                        if (mono.tv_sec < until.tv_sec ||
                            (mono.tv_sec == until.tv_sec && mono.tv_nsec < until.tv_nsec))
                                until = mono;
                }
                if (pthread_cond_timedwait(&s->cond, &s->lock, &until) == ETIMEDOUT) {
                        clock_gettime(CLOCK_MONOTONIC, &mono);
                        if (mono.tv_sec > deadline.tv_sec ||
                            (mono.tv_sec == deadline.tv_sec && mono.tv_nsec >= deadline.tv_nsec))
                                break;
                }
        }
        pthread_mutex_unlock(&s->lock);
        return found;
}

void sched_finish(sched *s, job *j, job_outcome outcome, int64_t until_ms, const char *reason)
{
        sched_tenant *t = j->ts;

        pthread_mutex_lock(&s->lock);
        t->busy = false;
        if (outcome == JOB_LATER) {
                t->not_before_ms = until_ms;
                snprintf(t->reason, sizeof(t->reason), "%s", reason ? reason : "");
                pthread_cond_broadcast(&s->cond);
                pthread_mutex_unlock(&s->lock);
                return;
        }
        t->not_before_ms = 0;
        t->reason[0] = '\0';
        if (t->head == j) {
                t->head = j->next;
                if (!t->head)
                        t->tail = NULL;
                s->queued--;
        }
        {
                struct part *p = part_get(s, j->topic, j->partition, false);

                if (p && p->generation == j->generation) {
                        for (size_t i = 0; i < p->n; i++) {
                                if (p->slots[i].offset == j->offset) {
                                        p->slots[i].done = true;
                                        break;
                                }
                        }
                }
        }
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
        job_free(j);
}

exact_budget *sched_budget(job *j)
{
        return &j->ts->budget;
}

rd_kafka_topic_partition_list_t *sched_commits(sched *s)
{
        rd_kafka_topic_partition_list_t *l = NULL;

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_parts; i++) {
                struct part *p = s->parts[i];
                size_t k = 0;
                int64_t upto;

                while (k < p->n && p->slots[k].done)
                        k++;
                if (k == 0)
                        continue;
                upto = k < p->n ? p->slots[k].offset : p->slots[k - 1].offset + 1;
                memmove(p->slots, p->slots + k, (p->n - k) * sizeof(*p->slots));
                p->n -= k;
                if (upto <= p->committed)
                        continue;
                p->committed = upto;
                if (!l)
                        l = rd_kafka_topic_partition_list_new(4);
                rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = upto;
        }
        pthread_mutex_unlock(&s->lock);
        return l;
}

void sched_sync_assignment(sched *s, const rd_kafka_topic_partition_list_t *assigned)
{
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_parts; i++) {
                struct part *p = s->parts[i];
                bool kept = false;

                for (int k = 0; assigned && k < assigned->cnt && !kept; k++)
                        kept = assigned->elems[k].partition == p->partition &&
                               !strcmp(assigned->elems[k].topic, p->topic);
                if (!kept && (p->n > 0 || p->next_offset >= 0))
                        drop_partition_jobs(s, p);
        }
        pthread_mutex_unlock(&s->lock);
}

size_t sched_queued(sched *s)
{
        size_t n;

        pthread_mutex_lock(&s->lock);
        n = s->queued;
        pthread_mutex_unlock(&s->lock);
        return n;
}

size_t sched_parked(sched *s)
{
        int64_t now = now_ms();
        size_t n = 0;

        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < s->n_tenants; i++) {
                if (s->tenants[i]->head && s->tenants[i]->not_before_ms > now &&
                    s->tenants[i]->reason[0])
                        n++;
        }
        pthread_mutex_unlock(&s->lock);
        return n;
}

void sched_stop(sched *s)
{
        pthread_mutex_lock(&s->lock);
        s->stopping = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
}
