/* scheduler: per-tenant queues inside one loader instance, and the offsets it may commit.
 *
 * Commands arrive from Kafka in partition order and go to their tenant's queue; workers
 * take the head of any tenant that is neither busy nor parked, so a tenant waiting for its
 * budget (or for an hour-long endpoint block, or a day) never holds up the other tenants on
 * its partition. Each tenant has at most one command in progress here, which together with
 * a per-tenant database lock keeps one request in flight per division. The offset committed
 * for a partition is the lowest one not finished yet. */
#ifndef LOADER_SCHEDULER_H
#define LOADER_SCHEDULER_H

#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdint.h>

#include "exact/ratelimit.h"

typedef struct sched sched;
typedef struct sched_tenant sched_tenant;

typedef struct job {
        char *tenant;  /**< message key, or "" when it has none */
        char *payload; /**< NUL-terminated copy of the value */
        size_t len;
        char *topic;
        int32_t partition;
        int64_t offset;
        int64_t kafka_ts_ms; /**< message timestamp, for end-to-end latency */
        int attempts;        /**< failed tries in this instance */
        int db_waits;        /**< tries that failed on our own database (not counted) */
        uint64_t generation; /**< of its partition when it was queued */
        sched_tenant *ts;
        struct job *next;
} job;

/** What the worker tells the scheduler about a job it took. */
typedef enum job_outcome {
        JOB_DONE,  /**< finished (loaded, skipped or dead-lettered): its offset may pass */
        JOB_LATER, /**< keep it at the head of its tenant's queue until a time */
} job_outcome;

sched *sched_new(void);
void sched_free(sched *s);

/** @brief Queue a consumed message (copied). */
void sched_add(sched *s, const rd_kafka_message_t *m);

/** @brief Next runnable job, waiting up to @p timeout_ms; NULL when none or stopping. */
job *sched_next(sched *s, int timeout_ms);

/**
 * @brief Give back a job taken with sched_next(). JOB_LATER keeps it queued and parks its
 *        tenant until @p until_ms with @p reason (shown in metrics and the status table).
 */
void sched_finish(sched *s, job *j, job_outcome outcome, int64_t until_ms, const char *reason);

/** @brief The budget of the job's tenant (only the worker holding the tenant uses it). */
exact_budget *sched_budget(job *j);

/**
 * @brief Offsets that may be committed now (the lowest unfinished per partition), only for
 *        partitions whose offset moved since the last call. NULL when nothing moved.
 */
rd_kafka_topic_partition_list_t *sched_commits(sched *s);

/** @brief Forget partitions no longer in @p assigned, dropping their queued jobs. */
void sched_sync_assignment(sched *s, const rd_kafka_topic_partition_list_t *assigned);

/** @brief Jobs queued or in progress. */
size_t sched_queued(sched *s);

/** @brief Tenants parked now (waiting past a time with a reason), for the metric. */
size_t sched_parked(sched *s);

/** @brief Wake every worker waiting in sched_next() so they can see the stop flag. */
void sched_stop(sched *s);

#endif
