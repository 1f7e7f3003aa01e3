#include "sentry/kernel/auth/credentials.h"

#include <algorithm>

namespace sentry::kernel::auth {

Credentials Credentials::Root() {
  Credentials c;
  c.effective_caps = CapabilitySet::All();
  return c;
}

Credentials Credentials::User(KUID uid, KGID gid, std::vector<KGID> groups) {
  Credentials c;
  c.uid = c.euid = c.fsuid = uid;
  c.gid = c.egid = c.fsgid = gid;
  c.groups = std::move(groups);
  return c;
}

bool Credentials::InGroup(KGID g) const {
  return g == fsgid ||
         std::find(groups.begin(), groups.end(), g) != groups.end();
}

}  // namespace sentry::kernel::auth
