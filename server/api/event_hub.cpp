#include "server/api/event_hub.hpp"

#include <deque>
#include <functional>
#include <mutex>
#include <vector>

#include "common/json_writer.hpp"
#include "jobs/job_object.hpp"

namespace jobd::server {
namespace {

// The ring's bound in bytes as well as in events: a job object carries its payload and result.
constexpr std::size_t ring_bytes = 8 * 1024 * 1024;

std::string event_text(std::string_view name, std::string_view data) {
  std::string out;
  out.reserve(data.size() + name.size() + 16);
  out.append("event: ").append(name).append("\ndata: ").append(data).append("\n\n");
  return out;
}

// `event: lag`: how many events a client will not get.
std::string lag_event(std::uint64_t missed) {
  return event_text("lag", "{\"missed\":" + std::to_string(missed) + "}");
}

}  // namespace

// The events kept, and the clients waiting for the next one. Shared by the hub and its
// clients' streams, which the connections may hold a little longer than the hub lives.
struct event_hub::ring {
  std::mutex mu;
  std::deque<std::string> events;  // guarded by mu, as all below but `clients`
  std::uint64_t first = 0;         // the number of events.front(); they count from 0
  std::size_t bytes = 0;
  std::vector<std::weak_ptr<client>> waiting;
  // The clients are woken at once by the first event of a window after a quiet one, by its
  // end otherwise (then this is true from the window's start).
  bool woken_in_window = false;
  bool unwoken = false;  // events came that no one was woken for yet
  bool busy = false;     // events came in this window
  bool closed = false;
  std::atomic<std::size_t> clients{0};
  std::mutex times_mu;
  json_time_writer times;  // guarded by times_mu
};

class event_hub::client final : public event_stream, public std::enable_shared_from_this<client> {
 public:
  client(std::shared_ptr<ring> r, metrics& stats, std::string first)
      : ring_(std::move(r)), stats_(stats), first_(std::move(first)) {
    std::lock_guard lk(ring_->mu);
    at_ = ring_->first + ring_->events.size();
    ring_->clients.fetch_add(1, std::memory_order_relaxed);
    stats_.sse_client_opened();
  }
  ~client() override {
    ring_->clients.fetch_sub(1, std::memory_order_relaxed);
    stats_.sse_client_closed();
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  bool take(std::string& out, std::size_t limit) override {
    std::lock_guard lk(ring_->mu);
    out += first_;
    first_.clear();
    if (at_ < ring_->first) {
      out += lag_event(ring_->first - at_);
      at_ = ring_->first;
    }
    const std::uint64_t end = ring_->first + ring_->events.size();
    while (at_ < end && out.size() < limit) out += ring_->events[at_++ - ring_->first];
    if (at_ < end) return true;  // more, for the next take
    if (ring_->closed) return false;
    if (!waiting_) {
      waiting_ = true;
      ring_->waiting.push_back(weak_from_this());
    }
    return true;
  }

  void attach(std::function<void()> wake) override {
    std::lock_guard lk(ring_->mu);
    wake_ = std::move(wake);
  }

  void detach() override {
    std::lock_guard lk(ring_->mu);
    wake_ = nullptr;
  }

  // Called with the ring's lock held: the wake to call once it is released, if any.
  std::function<void()> woken() {
    waiting_ = false;
    return wake_;
  }

 private:
  const std::shared_ptr<ring> ring_;
  metrics& stats_;
  std::string first_;     // guarded by ring_->mu, as the three below
  std::uint64_t at_ = 0;  // the next event this client takes
  bool waiting_ = false;  // in ring_->waiting
  std::function<void()> wake_;
};

event_hub::event_hub(metrics& stats, std::size_t jobs_per_window)
    : stats_(stats), jobs_per_window_(jobs_per_window), ring_(std::make_shared<ring>()) {}

event_hub::~event_hub() {
  close();
}

bool event_hub::has_clients() const noexcept {
  return ring_->clients.load(std::memory_order_relaxed) > 0;
}

std::shared_ptr<event_stream> event_hub::subscribe(std::string pool) {
  return std::make_shared<client>(ring_, stats_, event_text("pool", pool));
}

void event_hub::publish_pool(const std::string& pool) {
  publish(event_text("pool", pool));
}

void event_hub::changed(const store::job_record& job) {
  if (!has_clients()) return;
  if (offered_.fetch_add(1, std::memory_order_relaxed) >= jobs_per_window_) return;
  std::string object;
  object.reserve(320);
  {
    std::lock_guard lk(ring_->times_mu);
    jobs::append_job_object(object, job, std::chrono::system_clock::now(), ring_->times);
  }
  publish(event_text("job", object));
}

std::vector<std::function<void()>> event_hub::waking_locked() {
  std::vector<std::function<void()>> wakes;
  for (const auto& w : ring_->waiting) {
    if (const auto c = w.lock()) {
      if (auto wake = c->woken()) wakes.push_back(std::move(wake));
    }
  }
  ring_->waiting.clear();
  return wakes;
}

void event_hub::publish(std::string event) {
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard lk(ring_->mu);
    if (ring_->closed) return;
    append_locked(std::move(event));
    ring_->busy = true;
    if (!ring_->woken_in_window) {
      ring_->woken_in_window = true;
      wakes = waking_locked();
    } else {
      ring_->unwoken = true;
    }
  }
  for (const auto& wake : wakes) wake();
}

void event_hub::end_window() {
  const std::size_t offered = offered_.exchange(0, std::memory_order_relaxed);
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard lk(ring_->mu);
    if (ring_->closed) return;
    if (offered > jobs_per_window_) {
      append_locked(lag_event(offered - jobs_per_window_));
      ring_->unwoken = true;
    }
    ring_->woken_in_window = ring_->busy;
    ring_->busy = false;
    if (ring_->unwoken) {
      ring_->unwoken = false;
      wakes = waking_locked();
    }
  }
  for (const auto& wake : wakes) wake();
}

void event_hub::append_locked(std::string event) {
  ring_->bytes += event.size();
  ring_->events.push_back(std::move(event));
  while (ring_->events.size() > 1 &&
         (ring_->events.size() > ring_events || ring_->bytes > ring_bytes)) {
    ring_->bytes -= ring_->events.front().size();
    ring_->events.pop_front();
    ++ring_->first;
  }
}

void event_hub::close() {
  std::vector<std::function<void()>> wakes;
  {
    std::lock_guard lk(ring_->mu);
    if (ring_->closed) return;
    ring_->closed = true;
    wakes = waking_locked();
  }
  for (const auto& wake : wakes) wake();
}

}  // namespace jobd::server
