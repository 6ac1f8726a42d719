#include "runtime/comm/comm_group.h"

#include <unistd.h>

#include <climits>

namespace detnn {

std::string this_host_name() {
  char name[HOST_NAME_MAX + 1] = {};
  if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
  return name;
}

std::vector<std::string> CommGroup::hosts() const { return std::vector<std::string>(size(), this_host_name()); }

}  // namespace detnn
