#pragma once

// The signals that stop the server, read from a signalfd on the I/O context rather than handled
// where they land. They are blocked in the thread that makes this object and in every thread it
// starts afterwards, so make it before the pool's threads. No handler then runs at an arbitrary
// point of an arbitrary thread (a job's, say), and none can be lost: under ThreadSanitizer, whose
// deferred delivery of asynchronous signals let one go unhandled now and then, none runs at all.

#include <signal.h>
#include <sys/signalfd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <functional>
#include <vector>

namespace jobd::server {

// SIGTERM and SIGINT drain. So does a closed terminal's SIGHUP: its default action would end
// jobd at once and leave the exec jobs' process groups running. Started with SIGHUP ignored
// (nohup), that stands.
[[nodiscard]] std::vector<int> shutdown_signal_numbers();

// Blocks them in the calling thread, and so in every thread it starts afterwards: for threads
// started before the server makes its shutdown_signals (a pipeline's stage pools), which must
// not take a SIGTERM the server is to read.
void block_shutdown_signals();

class shutdown_signals {
 public:
  // Throws std::system_error when the signalfd cannot be made.
  shutdown_signals(boost::asio::io_context& ioc, const std::vector<int>& signals);
  // Gives the making thread its previous mask back.
  ~shutdown_signals();
  shutdown_signals(const shutdown_signals&) = delete;
  shutdown_signals& operator=(const shutdown_signals&) = delete;

  // Calls `on_signal` with the number of the next signal, once; it is not called when this object
  // goes away first.
  void async_wait(std::function<void(int signo)> on_signal);

 private:
  sigset_t previous_mask_{};
  boost::asio::posix::stream_descriptor fd_;
  signalfd_siginfo info_{};
};

}  // namespace jobd::server
