#include "common/signals.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
        if (stop_requested) {
                /* Second signal: the operator wants out now, drained or not. */
                static const char msg[] =
                        "{\"level\":\"warn\",\"event\":\"shutdown.forced\",\"msg\":\"second "
                        "signal, exiting without draining\"}\n";
                ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);

                (void)r;
                _exit(128 + sig);
        }
        stop_requested = 1;
}

void cx_signals_install(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_stop;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        sa.sa_handler = SIG_IGN;
        sigaction(SIGPIPE, &sa, NULL);
}

bool cx_running(void)
{
        return !stop_requested;
}

void cx_request_stop(void)
{
        stop_requested = 1;
}
