// make_default for builds without MPI (ENGINE_WITH_MPI=OFF): always one process.
#include <cstdio>
#include <cstdlib>

#include "comm/communicator.h"

namespace engine::comm {

std::unique_ptr<Communicator> make_default(int*, char***, bool) {
  if (std::getenv("OMPI_COMM_WORLD_SIZE") != nullptr || std::getenv("PMIX_RANK") != nullptr) {
    std::fprintf(
        stderr,
        "error: started by an MPI launcher, but this build has no MPI (ENGINE_WITH_MPI=OFF)\n");
    std::exit(2);
  }
  return make_single_process();
}

}  // namespace engine::comm
