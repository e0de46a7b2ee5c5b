//===- TuningDatabase.h - Persisted autotuning results ----------*- C++ -*-===//
//
// The tile sizes `megalodon-run tune` measured best, kept in one
// human-readable JSON file that the compiler's tile-config selection reads.
// One entry per (compiler version, target, op signature, tile-space
// version): adding a candidate to one op's space bumps that op's space
// version and invalidates only its entries; a new op or shape adds entries.
//
//   {
//     "format": "megalodon-tuning-db", "version": 1,
//     "entries": [
//       {"compiler": "megalodon 0.1; LLVM 22.1.0",
//        "target": "x86_64-pc-linux-gnu;sapphirerapids;+avx2,...",
//        "op": "megalodon.cema(tensor<1x2048x256xf32>, ...) -> (...)",
//        "space": 1,
//        "sizes": {"block_time": 64, "lanes": 16, "state_group": 4},
//        "time_ns": 1436000, "default_time_ns": 1571000}]
//   }
//
// The reader treats the file as hostile (it may come from another machine
// or be half-written by hand): every field is checked, unknown fields and
// duplicate keys are rejected, and a failure is a one-line message naming
// the file and the field. A missing file is an empty database. Writes are
// atomic (a temporary file renamed over the old one).
//
//===----------------------------------------------------------------------===//
#ifndef MEGALODON_RUNTIME_TUNINGDATABASE_H
#define MEGALODON_RUNTIME_TUNINGDATABASE_H

#include "megalodon/runtime/Status.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace megalodon::rt {

inline constexpr const char *kTuningDatabaseFormat = "megalodon-tuning-db";
inline constexpr int64_t kTuningDatabaseVersion = 1;
/// A database holds a few hundred bytes per tuned op; anything this large is
/// not one.
inline constexpr size_t kMaxTuningDatabaseSize = 64u << 20;

/// What a result is valid for.
struct TuningKey {
  /// The compiler's version (tuningCompilerVersion()).
  std::string compiler;
  /// The machine: target triple, CPU name and features.
  std::string target;
  /// The op's name and operand and result types.
  std::string op;
  /// The version of the op's tile sizes and their rules.
  int64_t space = 0;

  bool operator==(const TuningKey &other) const;
  bool operator<(const TuningKey &other) const;
};

struct TuningEntry {
  TuningKey key;
  /// Each size's name and value (>= 1), sorted by name.
  std::vector<std::pair<std::string, int64_t>> sizes;
  /// Median times of the chosen and of the default sizes, in nanoseconds.
  int64_t timeNs = 0;
  int64_t defaultTimeNs = 0;
};

struct TuningDatabase {
  /// Sorted by key, one entry per key.
  std::vector<TuningEntry> entries;

  /// The entry for `key`, or null.
  const TuningEntry *find(const TuningKey &key) const;
  /// Adds `entry`, replacing the one with the same key.
  void put(TuningEntry entry);
};

/// Parses a database from memory; `origin` names it in messages.
Status parseTuningDatabase(const uint8_t *data, size_t size,
                           const std::string &origin, TuningDatabase &out);

/// Reads the database at `path`; a file that does not exist is an empty
/// database.
Status readTuningDatabase(const std::string &path, TuningDatabase &out);

/// The JSON text of `database`, entries in key order.
std::string serializeTuningDatabase(const TuningDatabase &database);

/// Writes `database` to `path` atomically, creating missing directories.
Status writeTuningDatabase(const std::string &path,
                           const TuningDatabase &database);

} // namespace megalodon::rt

#endif // MEGALODON_RUNTIME_TUNINGDATABASE_H
