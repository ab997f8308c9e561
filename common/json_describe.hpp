#pragma once

// A value of the wrong type named in an error the way its sender wrote it, so that the error
// says what it got: `the string "200": leave out the quotes`, `1.5`, `an object`.

#include <nlohmann/json.hpp>
#include <string>

namespace jobd {

std::string describe_json_value(const nlohmann::json& value);

}  // namespace jobd
