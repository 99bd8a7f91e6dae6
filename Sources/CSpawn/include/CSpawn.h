#ifndef CSPAWN_H
#define CSPAWN_H

#include <spawn.h>

// What Swift's Glibc module leaves out because glibc declares it only under _GNU_SOURCE.

/// posix_spawn_file_actions_addclosefrom_np: the child closes every descriptor from `from` up.
int docflow_spawn_add_closefrom(posix_spawn_file_actions_t *actions, int from);

/// pipe2(fds, O_CLOEXEC): a pipe whose ends no other program ever inherits, with no window
/// between creating it and marking it.
int docflow_pipe_cloexec(int fds[2]);

/// close_range(from, ~0U, CLOSE_RANGE_CLOEXEC): marks every descriptor from `from` up
/// close-on-exec, for those a library opened without (swift-nio's sockets and epoll instances).
int docflow_mark_cloexec_from(unsigned int from);

/// prctl(PR_SET_PDEATHSIG, signal): the calling process gets `signal` when the thread that
/// started it ends (prctl is variadic, which Swift cannot call).
int docflow_set_parent_death_signal(int signal);

/// close_range(from, ~0U, 0): closes every descriptor from `from` up.
int docflow_close_from(unsigned int from);

#endif
