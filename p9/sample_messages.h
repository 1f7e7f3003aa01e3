// Test helper: one populated instance of every p9::Message alternative.
//
// Thread-safety: SampleMessages() is thread-safe; Payloads point at static
// storage.
#ifndef P9_SAMPLE_MESSAGES_H_
#define P9_SAMPLE_MESSAGES_H_

#include <vector>

#include "p9/messages.h"

namespace p9::testing {

// Every message type at least once (Rreaddir and Twalk also in edge forms:
// empty and maximal).
std::vector<Message> SampleMessages();

}  // namespace p9::testing

#endif  // P9_SAMPLE_MESSAGES_H_
