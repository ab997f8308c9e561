#include "server/shutdown_signals.hpp"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <boost/asio/buffer.hpp>
#include <cerrno>
#include <system_error>

namespace jobd::server {
namespace {

sigset_t set_of(const std::vector<int>& signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  return set;
}

int blocked_signalfd(const sigset_t& set, sigset_t& previous) {
  if (const int rc = pthread_sigmask(SIG_BLOCK, &set, &previous); rc != 0) {
    throw std::system_error(rc, std::generic_category(), "blocking the shutdown signals");
  }
  const int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    throw std::system_error(err, std::generic_category(), "signalfd for the shutdown signals");
  }
  return fd;
}

bool ignored_from_start(int signo) {
  struct sigaction current {};
  return sigaction(signo, nullptr, &current) == 0 && current.sa_handler == SIG_IGN;
}

}  // namespace

std::vector<int> shutdown_signal_numbers() {
  std::vector<int> signals{SIGTERM, SIGINT};
  if (!ignored_from_start(SIGHUP)) signals.push_back(SIGHUP);
  return signals;
}

void block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  for (const int signo : shutdown_signal_numbers()) sigaddset(&set, signo);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

shutdown_signals::shutdown_signals(boost::asio::io_context& ioc, const std::vector<int>& signals)
    : fd_(ioc) {
  const sigset_t set = set_of(signals);
  fd_.assign(blocked_signalfd(set, previous_mask_));
}

shutdown_signals::~shutdown_signals() {
  boost::system::error_code ignored;
  fd_.close(ignored);
  pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
}

void shutdown_signals::async_wait(std::function<void(int signo)> on_signal) {
  fd_.async_read_some(
      boost::asio::buffer(&info_, sizeof info_),
      [this, on_signal = std::move(on_signal)](boost::system::error_code ec, std::size_t n) {
        if (ec == boost::asio::error::operation_aborted) return;
        if (ec || n != sizeof info_) {
          // A signalfd read is one whole record or an error.
          spdlog::error("reading the shutdown signals failed: {}", ec.message());
          return;
        }
        on_signal(static_cast<int>(info_.ssi_signo));
      });
}

}  // namespace jobd::server
