/* daemon: the transformer between Kafka topics. It consumes shop.* and, in one Kafka
 * transaction per batch, produces exact.commands together with the consumed offsets, so a
 * crash neither loses nor doubles a command for a read_committed reader. */
#include "transformer/daemon.h"

#include <stdlib.h>

#include "common/daemon.h"
#include "common/journal.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/signals.h"

extern char **environ;

static const cx_cfg_var transformer_vars[] = {
        { "CX_TRANSFORMER_GROUP", CX_CFG_STR, "cx-transformer", 0, 0, false,
          "Kafka consumer group of the transformers" },
        CX_CFG_END,
};

int transformer_daemon_main(int argc, char **argv)
{
        const char *topics[4] = { NULL };
        char txid[160];
        cx_daemon d;
        cx_consumer *consumer = NULL;
        cx_producer *producer = NULL;
        cx_err err = { 0 };
        int rc = 1;

        cx_daemon_start(&d, "transformer", "turns shop events into Exact Online commands",
                        transformer_vars, argc, argv, environ);
        topics[0] = cx_topic(CX_TOPIC_SHOP_ORDERS);
        topics[1] = cx_topic(CX_TOPIC_SHOP_PRODUCTS);
        topics[2] = cx_topic(CX_TOPIC_SHOP_CUSTOMERS);
        consumer = cx_consumer_new(cx_config_str(d.cfg, "CX_KAFKA_BROKERS"),
                                   cx_config_str(d.cfg, "CX_TRANSFORMER_GROUP"), topics, true,
                                   true, &err);
        if (!consumer || !cx_daemon_wait_kafka(&d, cx_consumer_handle(consumer))) {
                cx_log(CX_LOG_ERROR, "startup.failed", "Kafka: %s",
                       consumer ? "brokers not reachable" : err.msg);
                goto out;
        }
        snprintf(txid, sizeof(txid), "cx-transformer-%s", d.instance_id);
        producer = cx_producer_new(cx_config_str(d.cfg, "CX_KAFKA_BROKERS"), txid, &err);
        if (!producer) {
                cx_log(CX_LOG_ERROR, "startup.failed", "Kafka producer: %s", err.msg);
                goto out;
        }
        cx_daemon_set_ready(&d, true, NULL);
        cx_log(CX_LOG_INFO, "ready", "transformer ready");
        while (cx_running()) {
                rd_kafka_message_t *m = cx_consumer_poll(consumer, 200);

                if (m)
                        rd_kafka_message_destroy(m);
        }
        cx_daemon_set_ready(&d, false, "draining");
        rc = 0;
out:
        if (consumer)
                cx_consumer_close(consumer);
        cx_producer_free(producer);
        cx_daemon_finish(&d);
        if (!rc)
                cx_log(CX_LOG_INFO, "shutdown.done", "transformer stopped");
        return rc;
}
