#pragma once

#include <stdexcept>

namespace jobd::config {

// A setting that cannot be used; the message names the setting, the value, where it came from
// and what is allowed. The one error type settings are refused with.
class config_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace jobd::config
