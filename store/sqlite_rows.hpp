#pragma once

// A job record as a row of the `jobs` table: the one place that knows the columns' order and
// how each field is kept (times as nanoseconds since the Unix epoch, JSON as text).

#include <chrono>
#include <cstdint>
#include <string_view>

#include "store/job_record.hpp"
#include "store/sqlite.hpp"

namespace jobd::store::detail {

// The columns, in the order record_of reads them and bind_record binds them (?1..?16).
extern const std::string_view job_columns;

[[nodiscard]] std::int64_t nanos(std::chrono::system_clock::time_point t);

// The record a row selected with job_columns holds; its id is made with `salt`. Throws
// sqlite::error (SQLITE_CORRUPT) for a JSON column that does not parse.
[[nodiscard]] job_record record_of(const sqlite::statement& s, std::uint64_t salt);

// Binds the record to ?1..?16 of `s`, in job_columns' order. A terminal record that names no
// finish time is given the time it is bound: the column says whether a job is over.
void bind_record(sqlite::statement& s, const job_record& r);

}  // namespace jobd::store::detail
