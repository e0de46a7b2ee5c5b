//===- TuningDatabaseFuzzer.cpp - Fuzz the tuning database reader ---------===//
//
// The compiler reads the tuning database on every compile, and the file may
// come from another machine or a hand edit, so parseTuningDatabase must turn
// any byte string into either a valid database or an error message. An
// accepted database must have sorted, unique keys and positive sizes, and
// survive serializeTuningDatabase and a second parse unchanged.
//
//===----------------------------------------------------------------------===//

#include "FuzzCheck.h"

#include "megalodon/runtime/TuningDatabase.h"

#include <cstddef>
#include <cstdint>

using namespace megalodon::rt;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  TuningDatabase database;
  Status status = parseTuningDatabase(data, size, "fuzz", database);
  if (!status) {
    FUZZ_CHECK(database.entries.empty());
    FUZZ_CHECK(!status.message().empty());
    return 0;
  }

  for (size_t i = 0; i < database.entries.size(); ++i) {
    const TuningEntry &entry = database.entries[i];
    FUZZ_CHECK(i == 0 || database.entries[i - 1].key < entry.key);
    FUZZ_CHECK(database.find(entry.key) == &entry);
    FUZZ_CHECK(!entry.sizes.empty() && entry.key.space >= 1);
    FUZZ_CHECK(entry.timeNs >= 0 && entry.defaultTimeNs >= 0);
    for (const auto &size : entry.sizes)
      FUZZ_CHECK(size.second >= 1 && !size.first.empty());
  }

  std::string text = serializeTuningDatabase(database);
  TuningDatabase again;
  Status reread =
      parseTuningDatabase(reinterpret_cast<const uint8_t *>(text.data()),
                          text.size(), "fuzz", again);
  FUZZ_CHECK(reread.ok());
  FUZZ_CHECK(serializeTuningDatabase(again) == text);
  return 0;
}
