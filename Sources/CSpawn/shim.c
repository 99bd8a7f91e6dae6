#define _GNU_SOURCE
#include "CSpawn.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <unistd.h>

int docflow_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

int docflow_mark_cloexec_from(unsigned int from) {
    return close_range(from, ~0U, CLOSE_RANGE_CLOEXEC);
}

int docflow_pipe_cloexec(int fds[2]) {
    return pipe2(fds, O_CLOEXEC);
}

int docflow_set_parent_death_signal(int signal) {
    return prctl(PR_SET_PDEATHSIG, signal);
}

int docflow_close_from(unsigned int from) {
    return close_range(from, ~0U, 0);
}
