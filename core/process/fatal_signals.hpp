// The signals that end the process: SIGSEGV, SIGBUS, SIGFPE and SIGABRT.
//
// nutcracker 0.5.0 answers SIGSEGV by writing a backtrace and
// "signal 11 (SIGSEGV) received, core dumping" to its log, then dying by the
// signal so that a core can be written. cachemux does the same for all four.
// These cannot be libevent events: the process may not survive to the next
// loop turn, so they are plain sigaction() handlers that only write(2).
#pragma once

namespace cachemux {

// Installs the handlers, on an alternate signal stack for the calling thread
// (so that a stack overflow still gets its backtrace). Call once, from the
// main thread, before other threads start. Each handler runs at most once
// (SA_RESETHAND): it logs nutcracker's line and the backtrace to log_fd(),
// then raises the signal again under the default action. Never throws; a
// step that fails is skipped.
void install_fatal_signal_handlers() noexcept;

// An alternate signal stack for the calling thread, for a thread started
// after install_fatal_signal_handlers() (sigaltstack is per thread): its
// stack overflow is then logged like the main thread's. Never throws.
void install_thread_signal_stack() noexcept;

}  // namespace cachemux
