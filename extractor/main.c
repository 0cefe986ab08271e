/* extractor: CCV Shop -> Kafka shop.* topics. This is the working skeleton: it starts,
 * validates its configuration, reaches Kafka and PostgreSQL, serves health and metrics,
 * and drains on SIGTERM. Extraction itself lands with its own issue. */
#include <stdlib.h>
#include <unistd.h>

#include "common/daemon.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/signals.h"

extern char **environ;

int main(int argc, char **argv)
{
        cx_daemon d;
        cx_producer *producer;
        cx_err err = { 0 };

        cx_daemon_start(&d, "extractor", "reads CCV Shop webshops and publishes to Kafka", NULL,
                        argc, argv, environ);
        producer = cx_producer_new(cx_config_str(d.cfg, "CX_KAFKA_BROKERS"), NULL, &err);
        if (!producer || !cx_daemon_wait_kafka(&d, cx_producer_handle(producer))) {
                cx_log(CX_LOG_ERROR, "startup.failed", "Kafka: %s",
                       producer ? "brokers not reachable" : err.msg);
                cx_producer_free(producer);
                cx_daemon_finish(&d);
                return 1;
        }
        cx_daemon_set_ready(&d, true, NULL);
        cx_log(CX_LOG_INFO, "ready", "extractor ready");
        while (cx_running())
                rd_kafka_poll(cx_producer_handle(producer), 200);
        cx_daemon_set_ready(&d, false, "draining");
        cx_log(CX_LOG_INFO, "shutdown", "draining");
        cx_producer_free(producer);
        cx_daemon_finish(&d);
        cx_log(CX_LOG_INFO, "shutdown.done", "extractor stopped");
        return 0;
}
