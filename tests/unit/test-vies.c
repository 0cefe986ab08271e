/* The VIES client (taxstate/vies_client.c) against vies-fake, and the rate limiter: how each
 * kind of answer is classified (docs/vat-engine.md "VIES").
 * usage: test-vies VIES_FAKE */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/http_client.h"
#include "taxstate/rate_limit.h"
#include "taxstate/vies_client.h"
#include "testlib.h"

static pid_t fake_pid;

/* Starts vies-fake with a script; returns its base URL in @p url. */
static void start_fake(const char *exe, char *url, size_t len)
{
        int fd[2];
        char line[256] = "";
        FILE *f;

        T_FATAL(pipe(fd) == 0, "pipe");
        fake_pid = fork();
        if (fake_pid == 0) {
                dup2(fd[1], 1);
                close(fd[0]);
                execl(exe, exe, "--listen", "127.0.0.1:0", "--slow-ms", "2000", "--number",
                      "FR04409414364=invalid", "--number", "BE0468561072=VAT_BLOCKED", "--number",
                      "NL009122746B01=invalid", "--state", "AT=unavailable", "--state", "IT=slow",
                      (char *)NULL);
                _exit(127);
        }
        close(fd[1]);
        f = fdopen(fd[0], "r");
        T_FATAL(f && fgets(line, sizeof(line), f), "vies-fake did not start");
        T_FATAL(sscanf(line, "{\"listen\": \"%200[^\"]\"}", url) == 1, "listen line %s", line);
        (void)len;
}

static void check(vies_client *c, const char *number, const char *requester, enum vies_state want,
                  const char *error, bool config)
{
        vies_answer a;
        bool cfg = !config;

        vies_client_check(c, number, requester, &a, &cfg);
        T_ASSERT(a.state == want, "%s: state %s, want %s (%s)", number, vies_state_name(a.state),
                 vies_state_name(want), a.error);
        T_ASSERT(t_str_eq(a.error, error), "%s: error \"%s\", want \"%s\"", number, a.error, error);
        T_ASSERT(cfg == config, "%s: config error %d", number, cfg);
}

static void test_client(const char *exe)
{
        char url[256];
        vies_client *c, *dead;
        vies_answer a;
        bool cfg;

        start_fake(exe, url, sizeof(url));
        c = vies_client_new(url, 500);
        vies_client_check(c, "DE136695976", "NL001241643B01", &a, &cfg);
        T_ASSERT(a.state == VIES_VALID, "valid: %s", a.error);
        T_ASSERT(!strncmp(a.request_identifier, "WAPIFAKE", 8), "consultation \"%s\"",
                 a.request_identifier);
        T_ASSERT(strlen(a.request_date) == 24, "date \"%s\"", a.request_date);
        vies_client_check(c, "DE136695976", NULL, &a, &cfg);
        T_ASSERT(a.state == VIES_VALID && !a.request_identifier[0],
                 "no requester, no consultation: \"%s\"", a.request_identifier);
        check(c, "FR04409414364", "NL001241643B01", VIES_INVALID, "", false);
        check(c, "BE0468561072", "NL001241643B01", VIES_INVALID, "VAT_BLOCKED", false);
        check(c, "ATU14243102", "NL001241643B01", VIES_UNAVAILABLE, "MS_UNAVAILABLE", false);
        check(c, "IT01404480202", "NL001241643B01", VIES_UNAVAILABLE, "TIMEOUT", false);
        check(c, "DE136695976", "NL009122746B01", VIES_UNAVAILABLE, "INVALID_REQUESTER_INFO", true);
        vies_client_free(c);
        /* nothing listens there any more once the fake is gone */
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
        dead = vies_client_new(url, 500);
        check(dead, "DE136695976", NULL, VIES_UNAVAILABLE, "TRANSPORT", false);
        vies_client_free(dead);
}

static void test_limiter(void)
{
        vies_limiter l;
        struct timespec t0, t1;
        int n = 0;

        vies_limiter_init(&l, 60, 1000); /* a burst of 12 per state, then one a second */
        while (n < 20 && vies_limiter_take(&l, "DE", 0))
                n++;
        T_EQ_INT(n, 12);
        T_ASSERT(vies_limiter_take(&l, "FR", 0), "another state has its own bucket");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        T_ASSERT(vies_limiter_take(&l, "DE", 1500), "a token within 1.5 s");
        clock_gettime(CLOCK_MONOTONIC, &t1);
        T_ASSERT(t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9 > 0.5,
                 "the token came after a wait");
        vies_limiter_init(&l, 6000, 2); /* the global bucket: one call, then none */
        T_ASSERT(vies_limiter_take(&l, "DE", 0), "first");
        T_ASSERT(!vies_limiter_take(&l, "FR", 0), "the global bucket is empty");
}

int main(int argc, char **argv)
{
        T_FATAL(argc == 2, "usage: test-vies VIES_FAKE");
        cx_http_global_init();
        test_client(argv[1]);
        test_limiter();
        cx_http_global_cleanup();
        printf("%d checks, %d failed\n", t_checks, t_failures);
        return t_failures ? 1 : 0;
}
