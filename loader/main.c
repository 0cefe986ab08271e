/* loader: Kafka exact.commands -> Exact Online. This is the working skeleton: it starts,
 * validates its configuration, joins its consumer group, reaches PostgreSQL, serves health
 * and metrics, and drains on SIGTERM. Loading itself lands with its own issue. */
#include <stdlib.h>

#include "common/daemon.h"
#include "common/journal.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/signals.h"

extern char **environ;

int main(int argc, char **argv)
{
        const char *topics[2] = { NULL, NULL };
        cx_daemon d;
        cx_consumer *consumer;
        cx_err err = { 0 };

        cx_daemon_start(&d, "loader", "books Exact Online documents from Kafka commands", NULL,
                        argc, argv, environ);
        topics[0] = cx_topic(CX_TOPIC_EXACT_COMMANDS);
        consumer = cx_consumer_new(cx_config_str(d.cfg, "CX_KAFKA_BROKERS"), "cx-loader",
                                   topics, true, true, &err);
        if (!consumer || !cx_daemon_wait_kafka(&d, cx_consumer_handle(consumer))) {
                cx_log(CX_LOG_ERROR, "startup.failed", "Kafka: %s",
                       consumer ? "brokers not reachable" : err.msg);
                if (consumer)
                        cx_consumer_close(consumer);
                cx_daemon_finish(&d);
                return 1;
        }
        cx_daemon_set_ready(&d, true, NULL);
        cx_log(CX_LOG_INFO, "ready", "loader ready");
        while (cx_running()) {
                rd_kafka_message_t *m = cx_consumer_poll(consumer, 200);

                /* The skeleton neither loads nor commits: the offsets stay for the real loader. */
                if (m)
                        rd_kafka_message_destroy(m);
        }
        cx_daemon_set_ready(&d, false, "draining");
        cx_consumer_close(consumer);
        cx_daemon_finish(&d);
        cx_log(CX_LOG_INFO, "shutdown.done", "loader stopped");
        return 0;
}
