#pragma once

// GET /v1/events: the stream of what happens, to every client that asks. Each event is written
// once, into one ring of the latest events (bounded in count); each client's stream keeps its
// place in the ring and takes from there as fast as its connection writes. A client that falls
// more than the ring behind finds its place gone: it is told `event: lag` and goes on from the
// oldest event kept. So a slow client costs memory for nobody and time for nobody but itself,
// and publishing costs the same for one client as for a hundred.
//
// Time goes in windows (`window`, ended by end_window()). The first event after a window with
// none wakes the waiting clients at once; any other waits for its window's end. So a client
// writes once a window however fast jobs change, and at once when they change seldom. And a
// window takes at most `jobs_per_window` job events, the rest only counted and told to every
// client as one `event: lag` at the window's end. Under a load of many thousand jobs a second,
// what no dashboard could show costs one atomic add.
//
// Thread-safety: every member may be called from any thread.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "jobs/service.hpp"
#include "server/http/http_types.hpp"
#include "server/obs/metrics.hpp"

namespace jobd::server {

class event_hub final : public jobs::job_observer {
 public:
  // Events the ring keeps: a client further behind than this misses some.
  static constexpr std::size_t ring_events = 4096;

  // How often the owner calls end_window().
  static constexpr std::chrono::milliseconds window{100};

  event_hub(metrics& stats, std::size_t jobs_per_window);
  ~event_hub();
  event_hub(const event_hub&) = delete;
  event_hub& operator=(const event_hub&) = delete;

  // A new client's stream: it begins with `pool` (the pool object), then every event from now.
  [[nodiscard]] std::shared_ptr<event_stream> subscribe(std::string pool);
  [[nodiscard]] bool has_clients() const noexcept;

  // `event: pool` with the pool object.
  void publish_pool(const std::string& pool);
  // `event: job` with the job object, for every change of a job (jobs::job_observer).
  void changed(const store::job_record& job) override;
  // Ends the window: tells the clients of job events not taken in it, wakes them for the
  // events that came after the first.
  void end_window();
  // Ends every stream, once each has written what it has; later clients get an ended stream.
  void close();

 private:
  struct ring;
  class client;

  void publish(std::string event);
  // With the ring's lock held: `event` at the ring's end, the oldest dropped past its bounds.
  void append_locked(std::string event);
  // With the ring's lock held: the wakes of the clients waiting for an event, which wait no
  // more; called once the lock is released.
  std::vector<std::function<void()>> waking_locked();

  metrics& stats_;
  const std::size_t jobs_per_window_;
  // Job events offered in this window, taken or not.
  std::atomic<std::size_t> offered_{0};
  std::shared_ptr<ring> ring_;
};

}  // namespace jobd::server
