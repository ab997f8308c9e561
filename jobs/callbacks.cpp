#include "jobs/callbacks.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cmath>

#include "jobs/job_object.hpp"

namespace jobd::jobs {

std::string callback_signature(std::string_view secret, std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &size);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "sha256=";
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[mac[i] >> 4];
    out += hex[mac[i] & 15];
  }
  return out;
}

callbacks::callbacks(callback_config config, callback_transport& transport, changed_fn changed)
    : config_(std::move(config)),
      transport_(transport),
      changed_(std::move(changed)),
      jitter_(std::random_device{}()),
      schedule_([this](std::uint64_t seq) { return start(seq); }) {}

callbacks::~callbacks() {
  stop();
}

void callbacks::deliver(store::job_record job) {
  const std::uint64_t seq = job.seq;
  {
    std::lock_guard lk(mu_);
    if (!pending_.emplace(seq, std::move(job)).second) return;  // under way already
  }
  schedule_.add(seq, std::chrono::system_clock::now());
}

callback_counts callbacks::counts() const {
  std::lock_guard lk(mu_);
  return counts_;
}

bool callbacks::start(std::uint64_t seq) {
  callback_transport::request req;
  {
    std::lock_guard lk(mu_);
    const auto it = pending_.find(seq);
    if (it == pending_.end()) return true;
    if (in_flight_ >= config_.concurrency) return false;  // offered again when one ends
    ++in_flight_;
    const store::job_record& job = it->second;
    req.url = job.callback->url;
    json_time_writer times;
    append_job_object(req.body, job, std::chrono::system_clock::now(), times);
  }
  if (!config_.secret.empty()) req.signature = callback_signature(config_.secret, req.body);
  transport_.post(std::move(req), [this, seq](std::string error) { ended(seq, std::move(error)); });
  return true;
}

void callbacks::ended(std::uint64_t seq, std::string error) {
  std::optional<store::job_record> changed;
  std::optional<std::chrono::system_clock::time_point> again;
  {
    std::lock_guard lk(mu_);
    --in_flight_;
    const auto it = pending_.find(seq);
    if (it == pending_.end()) return;
    store::job_record& job = it->second;
    store::job_callback next = *job.callback;
    ++next.attempts;
    if (error.empty()) {
      next.status = store::callback_status::delivered;
      next.last_error.clear();
      ++counts_.delivered;
    } else if (next.attempts >= config_.max_attempts) {
      next.status = store::callback_status::failed;
      next.last_error = std::move(error);
      ++counts_.failed;
    } else {
      next.last_error = std::move(error);
      ++counts_.retried;
      // Attempt n+1 waits backoff x 2^(n-1), +-25 %, at most backoff_max.
      const double base = static_cast<double>(config_.backoff.count()) *
                          std::ldexp(1.0, static_cast<int>(std::min(next.attempts, 60u)) - 1);
      const double wait = std::min(base * std::uniform_real_distribution(0.75, 1.25)(jitter_),
                                   static_cast<double>(config_.backoff_max.count()));
      again = std::chrono::system_clock::now() +
              std::chrono::milliseconds(static_cast<std::int64_t>(wait));
    }
    ++job.version;
    job.callback = std::make_shared<const store::job_callback>(std::move(next));
    changed = job;
    if (!again) pending_.erase(it);
  }
  changed_(*changed);
  if (again) schedule_.add(seq, *again);
  schedule_.room();
}

}  // namespace jobd::jobs
