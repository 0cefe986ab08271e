/* Signals: the first SIGTERM asks for a drain (cx_running() turns false, the process keeps
 * going), a second one ends the process at once with 128 + signal. */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/signals.h"
#include "tests/testlib.h"

static void test_signals_first_drains_second_exits(void)
{
        int pipefd[2], status;
        char c;
        pid_t pid;

        T_FATAL(pipe(pipefd) == 0, "pipe");
        pid = fork();
        T_FATAL(pid >= 0, "fork");
        if (pid == 0) {
                close(pipefd[0]);
                cx_signals_install();
                if (write(pipefd[1], "r", 1) != 1)
                        _exit(3);
                while (cx_running())
                        usleep(1000);
                /* A drain that takes long: only a second signal may cut it short. */
                if (write(pipefd[1], "d", 1) != 1)
                        _exit(3);
                for (;;)
                        pause();
        }
        close(pipefd[1]);
        T_FATAL(read(pipefd[0], &c, 1) == 1 && c == 'r', "child did not start");
        kill(pid, SIGTERM);
        T_ASSERT(read(pipefd[0], &c, 1) == 1 && c == 'd', "first SIGTERM did not start a drain");
        T_EQ_INT(waitpid(pid, &status, WNOHANG), 0);
        kill(pid, SIGTERM);
        T_EQ_INT(waitpid(pid, &status, 0), pid);
        T_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM,
                 "status %d: the second signal must exit with 143", status);
        close(pipefd[0]);
}

static void test_signals_sigpipe_is_ignored(void)
{
        int fds[2];

        cx_signals_install();
        T_FATAL(pipe(fds) == 0, "pipe");
        close(fds[0]);
        /* Without the handler this write would kill the test with SIGPIPE. */
        T_EQ_INT(write(fds[1], "x", 1), -1);
        close(fds[1]);
        T_ASSERT(cx_running(), "SIGPIPE must not request a stop");
        cx_request_stop();
        T_ASSERT(!cx_running(), "cx_request_stop");
}

int main(void)
{
        T_RUN(test_signals_first_drains_second_exits);
        T_RUN(test_signals_sigpipe_is_ignored);
        return t_done();
}
