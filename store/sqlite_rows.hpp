#pragma once

// A job record as a row of the `jobs` table: the one place that knows the columns' order and
// how each field is kept (times as nanoseconds since the Unix epoch, JSON as text).

#include <chrono>
#include <cstdint>
#include <string_view>

#include "store/job_record.hpp"
#include "store/sqlite.hpp"

namespace jobd::store::detail {

// The columns, in the order record_of reads them and bind_record binds them (?1..?26).
extern const std::string_view job_columns;
// The columns a job's later versions change, as an UPDATE's SET list of ?2..?18 (?1 is left
// for the job's seq), in the order bind_changes binds them.
extern const std::string_view job_changes;

[[nodiscard]] std::int64_t nanos(std::chrono::system_clock::time_point t);

// The record a row selected with job_columns holds; its id is made with `salt`. Throws
// sqlite::error (SQLITE_CORRUPT) for a JSON column that does not parse.
[[nodiscard]] job_record record_of(const sqlite::statement& s, std::uint64_t salt);

// Binds the record to ?1..?26 of `s`, in job_columns' order. A terminal record that names no
// finish time is given the time it is bound: the column says whether a job is over.
void bind_record(sqlite::statement& s, const job_record& r);

// Binds the record's seq to ?1 and what its versions change to ?2..?18, in job_changes' order;
// finish times as bind_record gives them.
void bind_changes(sqlite::statement& s, const job_record& r);

}  // namespace jobd::store::detail
