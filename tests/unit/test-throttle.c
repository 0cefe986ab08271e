/* The panel's sign-in throttle (panel/throttle.c): a bucket per client address and one for
 * the process, both checked before any hash; an empty one says how long to wait; an attempt
 * refused by one bucket costs the other nothing; hash slots are bounded. */
#include "panel/throttle.h"
#include "tests/testlib.h"

static void test_per_address_and_global(void)
{
        throttle t;
        long retry = 0;

        T_FATAL(throttle_init(&t, 3, 1000, 1) == 0, "init");
        for (int i = 0; i < 3; i++)
                T_EQ_INT(throttle_take(&t, "203.0.113.1", &retry), 1);
        T_EQ_INT(throttle_take(&t, "203.0.113.1", &retry), 0);
        /* 3 a minute: the next one in about 20 s */
        T_ASSERT(retry >= 1 && retry <= 20, "retry %ld", retry);
        T_EQ_INT(throttle_take(&t, "203.0.113.2", &retry), 1);
        T_EQ_INT(retry, 0);
        throttle_free(&t);

        T_FATAL(throttle_init(&t, 1000, 2, 1) == 0, "init");
        T_EQ_INT(throttle_take(&t, "192.0.2.1", &retry), 1);
        T_EQ_INT(throttle_take(&t, "192.0.2.2", &retry), 1);
        T_EQ_INT(throttle_take(&t, "192.0.2.3", &retry), 0); /* the process-wide bucket */
        T_EQ_INT(retry, 1);
        throttle_free(&t);
}

static void test_refusal_costs_nothing_elsewhere(void)
{
        throttle t;
        long retry = 0;

        /* addr bucket 1, global 2: a refused second attempt of one address must leave the
         * global token for another address */
        T_FATAL(throttle_init(&t, 1, 2, 1) == 0, "init");
        T_EQ_INT(throttle_take(&t, "198.51.100.1", &retry), 1);
        T_EQ_INT(throttle_take(&t, "198.51.100.1", &retry), 0);
        T_EQ_INT(throttle_take(&t, "198.51.100.2", &retry), 1);
        throttle_free(&t);
}

static void test_many_addresses_fit(void)
{
        throttle t;
        long retry = 0;
        char addr[48];
        int refused = 0;

        /* more addresses than slots: each still gets its allowance (forgotten ones start
         * full, which only ever errs towards allowing) */
        T_FATAL(throttle_init(&t, 2, 1000000, 1) == 0, "init");
        for (int i = 0; i < 3 * THROTTLE_SLOTS; i++) {
                snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
                refused += !throttle_take(&t, addr, &retry);
        }
        T_EQ_INT(refused, 0);
        /* the latest address is remembered: one of its two attempts is left */
        T_EQ_INT(throttle_take(&t, addr, &retry) + throttle_take(&t, addr, &retry) +
                         throttle_take(&t, addr, &retry),
                 1);
        throttle_free(&t);
}

static void test_hash_slots(void)
{
        throttle t;

        T_FATAL(throttle_init(&t, 10, 10, 2) == 0, "init");
        T_EQ_INT(throttle_hash_begin(&t, 10), 1);
        T_EQ_INT(throttle_hash_begin(&t, 10), 1);
        T_EQ_INT(throttle_hash_begin(&t, 50), 0); /* both taken: waits 50 ms, then no */
        throttle_hash_end(&t);
        T_EQ_INT(throttle_hash_begin(&t, 10), 1);
        throttle_hash_end(&t);
        throttle_hash_end(&t);
        throttle_free(&t);
}

int main(void)
{
        T_RUN(test_per_address_and_global);
        T_RUN(test_refusal_costs_nothing_elsewhere);
        T_RUN(test_many_addresses_fit);
        T_RUN(test_hash_slots);
        return t_done();
}
